"""The audio landing zone as tables: catalogue, quarantine, features and anomalies.

``audio_catalog`` and ``audio_quarantine`` come from one scan of the zone; ``audio_features``
analyses only the files whose content it has not analysed with the current extractor;
``audio_anomalies`` applies the rules and an IsolationForest to what is stored. All are
unpartitioned snapshots of the zone (``<lake>/audio/<table>/``, views ``audio.<table>``) that a
run replaces whole; the work is incremental, the tables are not appended to. The methods live
in :mod:`spotify_agent_assets.audio`; this module wires them to Dagster.
"""

import time
from collections import Counter
from typing import Any

import dagster as dg
import pyarrow as pa

from spotify_agent_assets.audio.tables import (
    AUDIO_ANOMALIES,
    AUDIO_CATALOG,
    AUDIO_FEATURES,
    AUDIO_GROUP,
    AUDIO_QUARANTINE,
    TRACK_CLASSIFICATION,
)
from spotify_agent_assets.defs.audio.resources import AudioLandingResource
from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.defs.ml.resources import MlflowTrackingResource
from spotify_agent_assets.defs.table_checks import build_table_checks
from spotify_agent_assets.defs.table_metadata import (
    contract_metadata,
    markdown_table,
    preview_markdown,
)
from spotify_agent_assets.lake.table_contract import TableContract, to_arrow

AUDIO_KINDS = {"python", "parquet"}
SPOTIFY_TRACKS = dg.AssetKey("spotify_tracks")
SPOTIFY_ARTISTS = dg.AssetKey("spotify_artists")
PREVIEW_COLUMNS = ["track_id", "status", "tempo_bpm", "key", "mode", "speechiness", "energy"]

# Listing and reading an s3:// zone can fail for a while; a retry after a pause usually works.
ZONE_RETRY = dg.RetryPolicy(
    max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


def _spec(contract: TableContract, description: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        contract.name,
        group_name=AUDIO_GROUP,
        description=description,
        kinds=AUDIO_KINDS,
        metadata=contract_metadata(contract),
    )


AUDIO_CATALOG_SPEC = _spec(
    AUDIO_CATALOG,
    "One row per usable audio file of the landing zone (wav, flac, ogg, mp3): the Spotify track "
    "it is (file stem or sidecar), SHA-256, duration, sample rate, channels.",
)
AUDIO_QUARANTINE_SPEC = _spec(
    AUDIO_QUARANTINE,
    "Landing-zone files that are not in the catalogue, with a reason code and what to fix: "
    "paths leaving the zone, empty, corrupt or non-audio files, missing track ids, duplicates.",
)


@dg.multi_asset(
    outs={
        "audio_catalog": dg.AssetOut.from_spec(AUDIO_CATALOG_SPEC, dagster_type=dg.Any),
        "audio_quarantine": dg.AssetOut.from_spec(AUDIO_QUARANTINE_SPEC, dagster_type=dg.Any),
    },
    retry_policy=ZONE_RETRY,
    pool="audio_landing",
)
def audio_catalog(
    context: dg.AssetExecutionContext, audio_landing: AudioLandingResource, lake: LakeResource
):
    """Scan the audio landing zone; unchanged files reuse the last scan's hash and probe.

    Naming convention and quarantine reasons: ``spotify_agent_assets.audio.catalog``.
    """
    import json

    from spotify_agent_assets.audio.catalog import CatalogEntry, catalog_zone

    previous = [
        CatalogEntry.from_record(row) for row in lake.previous_rows(AUDIO_GROUP, AUDIO_CATALOG.name)
    ]
    started = time.monotonic()
    try:
        scan = catalog_zone(audio_landing.zone(), previous=previous)
    except NotADirectoryError as error:
        # A configuration mistake, not a passing outage: retrying cannot fix it.
        raise dg.Failure(str(error), allow_retries=False) from None
    reasons = Counter(q.code for q in scan.quarantined)
    context.log.info(
        f"{len(scan.entries)} file(s) catalogued ({len(scan.probed)} read, {scan.reused} "
        f"unchanged), {len(scan.quarantined)} quarantined in {time.monotonic() - started:.1f} s "
        f"from {audio_landing.zone_root}"
    )
    for q in scan.quarantined:
        context.log.warning(f"quarantined {q.path}: {q.reason}")

    catalog = to_arrow(AUDIO_CATALOG, [entry.to_record() for entry in scan.entries])
    yield dg.Output(
        catalog,
        output_name="audio_catalog",
        metadata={
            "files_read": len(scan.probed),
            "files_unchanged": scan.reused,
            "formats": dg.MetadataValue.json(
                dict(sorted(Counter(e.format for e in scan.entries).items()))
            ),
        },
    )
    quarantine = to_arrow(
        AUDIO_QUARANTINE,
        [
            {
                "path": q.path,
                "code": q.code,
                "reason": q.reason,
                "size_bytes": q.size_bytes,
                "mtime_ns": q.mtime_ns,
                "details": json.dumps(q.details, sort_keys=True, default=str),
            }
            for q in scan.quarantined
        ],
    )
    yield dg.Output(
        quarantine,
        output_name="audio_quarantine",
        metadata={
            "quarantined": len(scan.quarantined),
            "reasons": dg.MetadataValue.json(dict(sorted(reasons.items()))),
            "quarantined_files": dg.MetadataValue.md(
                markdown_table(
                    ["path", "code", "reason"],
                    [[q.path, q.code, q.reason] for q in scan.quarantined],
                    "_nothing quarantined_",
                )
            ),
        },
    )


@dg.asset(
    group_name=AUDIO_GROUP,
    kinds={"python", "librosa", "parquet"},
    pool="audio_analysis",
    metadata=contract_metadata(AUDIO_FEATURES),
)
def audio_features(
    context: dg.AssetExecutionContext,
    audio_landing: AudioLandingResource,
    lake: LakeResource,
    audio_catalog: pa.Table,
) -> dg.Output:
    """librosa features of every catalogued file: tempo, beats, key and mode, loudness, spectral
    shape, MFCC and chroma statistics, harmonic/percussive balance, Spotify-style descriptors
    (energy, danceability, acousticness, speechiness, instrumentalness, valence), plus the
    sample statistics the anomaly rules read (``signal_*``).

    Incremental by content hash: a file whose bytes were analysed by the current extractor
    version is never analysed again; a new version analyses everything. Files are analysed in
    a warm process pool, one worker per core; progress is logged every 50 files or 10 s.
    Definitions: ``spotify_agent_assets.audio.features``.
    """
    from spotify_agent_assets.audio.catalog import CatalogEntry
    from spotify_agent_assets.audio.feature_names import EXTRACTOR_VERSION
    from spotify_agent_assets.audio.feature_rows import (
        FAILED,
        feature_rows,
        files_to_analyse,
        reusable_features,
    )
    from spotify_agent_assets.audio.parallel import AnalysisProgress, AudioAnalysisPool
    from spotify_agent_assets.audio.recording import analyse_recording
    from spotify_agent_assets.plots.asset_charts import feature_histogram

    catalog = [CatalogEntry.from_record(row) for row in audio_catalog.to_pylist()]
    analyses: dict[str, Any] = dict(
        reusable_features(lake.previous_rows(AUDIO_GROUP, AUDIO_FEATURES.name))
    )
    todo = files_to_analyse(catalog, analyses)
    context.log.info(
        f"{len(catalog)} catalogued file(s): {len(todo)} to analyse, "
        f"{len(catalog) - len(todo)} with features from extractor {EXTRACTOR_VERSION} already"
    )

    def report(progress: AnalysisProgress) -> None:
        context.log.info(
            f"analysed {progress.done}/{progress.total} file(s), {progress.failed} failed, "
            f"{progress.audio_seconds:.0f} s of audio at "
            f"{progress.audio_seconds_per_second:.0f} s of audio per second"
        )

    started = time.monotonic()
    audio_seconds = 0.0
    workers = 0
    if todo:
        workers = audio_landing.worker_count(len(todo))
        with (
            audio_landing.local_files(todo) as local,
            AudioAnalysisPool(workers, analyse_one=analyse_recording) as pool,
        ):
            entries = {str(local[entry.path]): entry for entry in todo}
            paths = [local[entry.path] for entry in todo]
            for path, result in pool.analyse(paths, report):
                analyses[entries[str(path)].content_hash] = result
                if isinstance(result, dict):
                    audio_seconds += float(result.get("duration_s") or 0.0)
    elapsed = time.monotonic() - started

    rows = feature_rows(catalog, analyses)
    failed = [row for row in rows if row["status"] == FAILED]
    for row in failed:
        context.log.warning(f"analysis failed for {row['path']}: {row['error']}")
    table = to_arrow(AUDIO_FEATURES, rows)
    return dg.Output(
        table,
        metadata={
            # The whole row is 120 columns wide; these say whether the analysis makes sense.
            "preview": dg.MetadataValue.md(preview_markdown(table.select(PREVIEW_COLUMNS))),
            "extractor_version": EXTRACTOR_VERSION,
            "files_analysed": len(todo),
            "files_reused": len(catalog) - len(todo),
            "analysis_failures": len(failed),
            "workers": workers,
            "analysis_seconds": round(elapsed, 2),
            "audio_seconds_per_second": round(audio_seconds / elapsed, 1) if elapsed else 0.0,
            "status_counts": dg.MetadataValue.json(
                dict(sorted(Counter(row["status"] for row in rows).items()))
            ),
            "tempo_histogram": dg.MetadataValue.md(
                feature_histogram([row.get("tempo_bpm") for row in rows], "tempo", "BPM")
            ),
        },
    )


@dg.asset(
    group_name=AUDIO_GROUP,
    kinds=AUDIO_KINDS | {"scikitlearn"},
    deps=[SPOTIFY_TRACKS],
    automation_condition=dg.AutomationCondition.eager(),
    metadata=contract_metadata(AUDIO_ANOMALIES),
)
def audio_anomalies(
    context: dg.AssetExecutionContext,
    lake: LakeResource,
    audio_catalog: pa.Table,
    audio_features: pa.Table,
) -> dg.Output:
    """One row per anomaly of a catalogued file, with its rule, severity, score and reason.

    Rules: silence, dropouts, clipping, DC offset, a duration that contradicts Spotify's
    ``duration_ms`` for the track (``spotify.spotify_tracks``; without it only the excerpt
    minimum applies), odd sample rates and channel layouts, failed analyses. Plus an
    IsolationForest over the features of the files analysed with status ok, naming the three
    features that made each outlier unusual. Thresholds: ``spotify_agent_assets.audio.anomalies``.
    """
    from spotify_agent_assets.audio.anomaly_table import audio_anomaly_rows

    durations = {
        row["track_id"]: row["duration_ms"]
        for row in lake.previous_rows("spotify", SPOTIFY_TRACKS.path[-1])
    }
    if not durations:
        context.log.warning(
            "spotify.spotify_tracks is not materialized: durations are not compared with "
            "Spotify's; materialize group spotify first"
        )
    result = audio_anomaly_rows(audio_catalog.to_pylist(), audio_features.to_pylist(), durations)
    if result.forest.note:
        context.log.info(result.forest.note)
    table = to_arrow(AUDIO_ANOMALIES, result.rows)
    rules = Counter(f"{row['rule']}:{row['severity']}" for row in result.rows)
    ordered = sorted(result.rows, key=lambda r: (r["severity"] != "error", -r["score"]))
    return dg.Output(
        table,
        metadata={
            "files_flagged": len({row["track_id"] for row in result.rows}),
            "flags_by_rule": dg.MetadataValue.json(dict(sorted(rules.items()))),
            "isolation_forest_items": len(result.forest.rows),
            "flags": dg.MetadataValue.md(
                markdown_table(
                    ["track", "rule", "severity", "score", "reason"],
                    [
                        [r["track_id"], r["rule"], r["severity"], f"{r['score']:.2f}", r["reason"]]
                        for r in ordered
                    ],
                    "_no anomaly_",
                )
            ),
        },
    )


CONTENT_TYPE_CHECK = "content_type_held_out_accuracy"
GENRE_CHECK = "genre_held_out_accuracy"
CONTENT_TYPE_MODEL = "audio_content_type"
GENRE_MODEL = "audio_genre_family"
MLFLOW_EXPERIMENT = "track_classification"


@dg.asset(
    group_name=AUDIO_GROUP,
    kinds={"scikitlearn", "mlflow", "parquet"},
    deps=[SPOTIFY_TRACKS, SPOTIFY_ARTISTS],
    automation_condition=dg.AutomationCondition.eager(),
    check_specs=[
        dg.AssetCheckSpec(
            CONTENT_TYPE_CHECK,
            asset="track_classification",
            description="Held-out accuracy of the content-type model is at least 0.95.",
        ),
        dg.AssetCheckSpec(
            GENRE_CHECK,
            asset="track_classification",
            description="Held-out accuracy of the genre-family model is at least 0.25.",
        ),
    ],
    pool="model_training",
    metadata=contract_metadata(TRACK_CLASSIFICATION),
)
def track_classification(
    context: dg.AssetExecutionContext,
    audio_landing: AudioLandingResource,
    lake: LakeResource,
    mlflow: MlflowTrackingResource,
    audio_features: pa.Table,
):
    """Content type (music, speech, other or silence) and genre family of every analysed track,
    with calibrated probabilities and the features that drove each prediction.

    Two scikit-learn models (calibrated logistic regressions) trained on the stored features:
    content type from the curated ``_labels.csv`` of the audio landing zone, genre family from
    the Spotify genres of the track's artists (``spotify.spotify_tracks``,
    ``spotify.spotify_artists``). Each is measured on a held-out quarter, refit on everything,
    logged to MLflow and registered (``audio_content_type``, ``audio_genre_family``; a version
    is reused when the training data is unchanged). The checks fail when held-out accuracy is
    under the bar. Methods: ``spotify_agent_assets.audio.classification``.
    """
    from spotify_agent_assets.audio.classification import (
        CONTENT_TYPE_MIN_ACCURACY,
        GENRE_MIN_ACCURACY,
    )
    from spotify_agent_assets.audio.genres import track_genre
    from spotify_agent_assets.audio.labels import (
        LABELS_FILE,
        LabelsFileError,
        parse_content_type_labels,
    )
    from spotify_agent_assets.audio.track_classes import NotEnoughLabelsError, classify_tracks

    source = f"{audio_landing.zone_root}/{LABELS_FILE}"
    data = audio_landing.read_zone_file(LABELS_FILE)
    if data is None:
        raise dg.Failure(
            f"no content-type labels: {source} does not exist; expected a CSV with the columns "
            "track_id, content_type (music, speech, other or silence) to train on",
            allow_retries=False,
        )
    try:
        labels = parse_content_type_labels(data, source)
    except LabelsFileError as error:
        raise dg.Failure(str(error), allow_retries=False) from None
    for problem in labels.problems:
        context.log.warning(f"{source} line {problem.line} left out: {problem.reason}")

    genres_by_artist = {
        row["artist_id"]: row["genres"] or []
        for row in lake.previous_rows("spotify", SPOTIFY_ARTISTS.path[-1])
    }
    genre_labels = {
        row["track_id"]: track_genre(row["artist_ids"] or [], genres_by_artist)
        for row in lake.previous_rows("spotify", SPOTIFY_TRACKS.path[-1])
    }
    try:
        classes = classify_tracks(audio_features.to_pylist(), labels.labels, genre_labels)
    except NotEnoughLabelsError as error:
        raise dg.Failure(f"{error} (labels from {source})", allow_retries=False) from None
    if classes.genre_note:
        context.log.warning(classes.genre_note)

    heads = [(CONTENT_TYPE_MODEL, classes.content_type, CONTENT_TYPE_MIN_ACCURACY)]
    if classes.genre is not None:
        heads.append((GENRE_MODEL, classes.genre, GENRE_MIN_ACCURACY))
    versions = {}
    for name, model, bar in heads:
        registered = mlflow.log_classifier(
            model,
            registered_name=name,
            experiment=MLFLOW_EXPERIMENT,
            tags={
                "dagster_run_id": context.run_id,
                "meets_accuracy_bar": str(model.metrics.accuracy >= bar).lower(),
            },
        )
        versions[name] = f"{name}/{registered.version}"
        context.log.info(
            f"{name}: held-out accuracy {model.metrics.accuracy:.3f} (bar {bar}, majority "
            f"baseline {model.metrics.baseline_accuracy:.3f}), MLflow version "
            f"{registered.version}{' (unchanged training, reused)' if registered.reused else ''}"
        )

    rows = [
        row
        | {
            "content_type_model": versions[CONTENT_TYPE_MODEL],
            "genre_model": versions.get(GENRE_MODEL) if row["genre"] is not None else None,
        }
        for row in classes.rows
    ]
    table = to_arrow(TRACK_CLASSIFICATION, rows)
    yield dg.Output(
        table,
        metadata={
            "content_type_counts": dg.MetadataValue.json(
                dict(sorted(Counter(r["content_type"] for r in rows).items()))
            ),
            "genre_counts": dg.MetadataValue.json(
                dict(sorted(Counter(r["genre"] for r in rows if r["genre"]).items()))
            ),
            "models": dg.MetadataValue.json(versions),
            "labels_left_out": len(labels.problems),
        },
    )
    yield _accuracy_check(CONTENT_TYPE_CHECK, classes.content_type, CONTENT_TYPE_MIN_ACCURACY)
    if classes.genre is None:
        yield dg.AssetCheckResult(
            check_name=GENRE_CHECK,
            passed=False,
            description=classes.genre_note,
        )
    else:
        yield _accuracy_check(GENRE_CHECK, classes.genre, GENRE_MIN_ACCURACY)


def _accuracy_check(name: str, model: Any, bar: float) -> dg.AssetCheckResult:
    metrics = model.metrics
    return dg.AssetCheckResult(
        check_name=name,
        passed=metrics.accuracy >= bar,
        description=(
            f"held-out accuracy {metrics.accuracy:.3f} "
            f"{'meets' if metrics.accuracy >= bar else 'is under'} the bar {bar}"
        ),
        metadata={
            "accuracy": metrics.accuracy,
            "bar": bar,
            "baseline_accuracy": metrics.baseline_accuracy,
            "n_train": metrics.n_train,
            "n_test": metrics.n_test,
            "log_loss": metrics.log_loss,
            "per_class": dg.MetadataValue.json(metrics.per_class),
        },
    )


AUDIO_ASSETS = [audio_catalog, audio_features, audio_anomalies, track_classification]
audio_table_checks = [
    build_table_checks(AUDIO_GROUP, contract)
    for contract in (
        AUDIO_CATALOG,
        AUDIO_QUARANTINE,
        AUDIO_FEATURES,
        AUDIO_ANOMALIES,
        TRACK_CLASSIFICATION,
    )
]
