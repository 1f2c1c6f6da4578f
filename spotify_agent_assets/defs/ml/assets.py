"""The ``ml`` group: what recommendation models learn from (``interaction_matrix``) and the
model trained on it (``recommender_model``, in the MLflow registry); the tables served from the
model are in ``serving``.

Methods live in :mod:`spotify_agent_assets.recommend`; this module wires them to Dagster.
Tables are stored by the lake IO manager (``<lake>/ml/<asset>/``, views ``ml.<asset>``).
"""

import datetime as dt
from typing import Any

import dagster as dg
import pyarrow as pa

from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.defs.ml.resources import MlflowTrackingResource
from spotify_agent_assets.defs.table_checks import build_table_checks
from spotify_agent_assets.defs.table_metadata import contract_metadata
from spotify_agent_assets.recommend.tables import INTERACTION_MATRIX, ML_GROUP

ML_KINDS = {"python", "duckdb", "parquet"}
STREAM_EVENTS = dg.AssetKey("stream_events")
SPOTIFY_TRACKS = dg.AssetKey("spotify_tracks")
SPOTIFY_ARTISTS = dg.AssetKey("spotify_artists")
AUDIO_FEATURES = dg.AssetKey("audio_features")

# The last closed UTC day with events: the day in progress is never read.
LAST_CLOSED_DAY_SQL = "SELECT max(date) FROM streams.stream_events WHERE date < ?"


PSEUDONYM_CHECK = "listener_key_pseudonymized"


def pseudonym_check_spec(asset: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        PSEUDONYM_CHECK,
        asset=asset,
        blocking=True,
        description="Every listener_key is a 64-hex HMAC digest: no raw listener id in ml.",
    )


def pseudonym_check(table: pa.Table) -> dg.AssetCheckResult:
    from spotify_agent_assets.recommend.interaction_matrix import not_pseudonymous

    bad = not_pseudonymous(table["listener_key"])
    return dg.AssetCheckResult(
        check_name=PSEUDONYM_CHECK,
        passed=bad == 0,
        metadata={"rows": table.num_rows, "listener_keys_not_hmac": bad},
    )


@dg.asset(
    group_name=ML_GROUP,
    kinds=ML_KINDS,
    deps=[STREAM_EVENTS, SPOTIFY_TRACKS],
    check_specs=[pseudonym_check_spec("interaction_matrix")],
    metadata=contract_metadata(INTERACTION_MATRIX),
)
def interaction_matrix(context: dg.AssetExecutionContext, lake: LakeResource):
    """Implicit feedback per pseudonymous listener and track, as of the last closed UTC day.

    From ``streams.stream_events`` (every day up to ``as_of``) and the tracks' durations in
    ``spotify.spotify_tracks``: each play counts as much as was heard of the track (at most
    1), less a skip penalty when it reported a skip (a null skip flag counts as no answer),
    halved every 30 days of age; a pair never goes below 0. Carries a time split (pairs first
    played in the last 7 days are ``validation``, ``train_weight`` is the weight from the plays
    before them) and a per-listener hold-out (20% of the tracks of listeners with 5 or more).
    Formula and splits: ``spotify_agent_assets.recommend.interaction_matrix``.
    """
    import duckdb

    from spotify_agent_assets.recommend.interaction_matrix import (
        InteractionSettings,
        build_interaction_matrix,
    )

    warehouse = lake.warehouse()
    if not warehouse.path.exists():
        raise dg.Failure(
            f"warehouse {warehouse.path} does not exist; materialize stream_events and "
            "spotify_tracks first",
            allow_retries=False,
        )
    settings = InteractionSettings()
    today = dt.datetime.now(dt.UTC).date()
    with warehouse.reader() as connection:
        try:
            (as_of,) = connection.execute(LAST_CLOSED_DAY_SQL, [today]).fetchone()
            if as_of is None:
                raise dg.Failure(
                    f"streams.stream_events has no closed day before {today} (UTC): the "
                    "matrix is built as of the last day that has ended; materialize a "
                    "stream_events partition before today first",
                    allow_retries=False,
                )
            table = build_interaction_matrix(connection, as_of, settings)
        except (duckdb.CatalogException, duckdb.BinderException) as error:
            raise dg.Failure(
                f"streams.stream_events or spotify.spotify_tracks is missing or lacks a "
                f"column: {error}. Materialize them first.",
                allow_retries=False,
            ) from error
    metadata = _summary(table, as_of, settings.validation_days)
    context.log.info(
        f"{table.num_rows:,} listener-track pairs of {metadata['listeners'].value:,} listeners "
        f"as of {as_of}"
    )
    yield dg.Output(table, metadata=metadata)
    yield pseudonym_check(table)


def _summary(table: pa.Table, as_of: dt.date, validation_days: int) -> dict[str, Any]:
    import pyarrow.compute as pc

    def count(column: str, value: str) -> int:
        return int(pc.sum(pc.equal(table[column], value)).as_py() or 0)

    weights = table["weight"]
    return {
        "as_of": dg.MetadataValue.text(as_of.isoformat()),
        "listeners": dg.MetadataValue.int(len(pc.unique(table["listener_key"]))),
        "tracks": dg.MetadataValue.int(len(pc.unique(table["track_id"]))),
        "pairs": dg.MetadataValue.int(table.num_rows),
        "pairs_with_weight": dg.MetadataValue.int(int(pc.sum(pc.greater(weights, 0)).as_py() or 0)),
        "validation_days": dg.MetadataValue.int(validation_days),
        "time_split_validation_pairs": dg.MetadataValue.int(count("time_split", "validation")),
        "holdout_pairs": dg.MetadataValue.int(count("holdout_split", "holdout")),
        "weight_median": dg.MetadataValue.float(
            float(pc.approximate_median(weights).as_py() or 0.0)
        ),
    }


RECOMMENDER_MODEL = "recommender"
RECOMMENDER_EXPERIMENT = "recommender"
CHAMPION_CHECK = "champion_decision"


class RecommenderTrainingConfig(dg.Config):
    """How ``recommender_model`` trains. Unset settings are the library's defaults, or what the
    bounded search picks when ``search`` is on."""

    seed: int = 0
    search: bool = True
    factors: int | None = None
    alpha: float | None = None
    reg: float | None = None
    iterations: int | None = None

    def overrides(self) -> dict[str, Any]:
        chosen = {
            "factors": self.factors,
            "alpha": self.alpha,
            "reg": self.reg,
            "iterations": self.iterations,
        }
        return {key: value for key, value in chosen.items() if value is not None}


@dg.asset(
    group_name=ML_GROUP,
    kinds={"python", "torch", "mlflow"},
    check_specs=[
        dg.AssetCheckSpec(
            CHAMPION_CHECK,
            asset="recommender_model",
            description=(
                "Whether this training became the champion: it must beat the current champion "
                "on the same validation days (NDCG@10, then recall@10). Warns when it did not."
            ),
        )
    ],
    pool="model_training",
)
def recommender_model(
    context: dg.AssetExecutionContext,
    config: RecommenderTrainingConfig,
    mlflow: MlflowTrackingResource,
    interaction_matrix: pa.Table,
) -> dg.MaterializeResult:
    """Weighted matrix factorisation of ``interaction_matrix``, registered in MLflow as a new
    version of ``recommender`` (the same training again reuses its version).

    Trained on the time split's train pairs (plays before the last 7 days, ``train_weight``),
    scored on the pairs first played in those days against the popularity baseline; a bounded
    search (six trainings around the library's defaults) picks the settings unless they are
    given. The run logs parameters, metrics, the item embeddings and a model card (training
    window, data version, code version, metrics against the baseline). The ``champion`` alias
    moves only when the new version beats the current champion on the same validation days;
    the ``champion_decision`` check says what was decided and why. Methods:
    ``spotify_agent_assets.recommend``.
    """
    from spotify_agent_assets.plots.asset_charts import model_against_baseline
    from spotify_agent_assets.recommend import evaluate_recommender, train_recommender
    from spotify_agent_assets.recommend.baselines import popularity_baseline
    from spotify_agent_assets.recommend.interaction_matrix import time_split
    from spotify_agent_assets.recommend.params import resolve_params
    from spotify_agent_assets.recommend.registry import (
        CODE_VERSION,
        decide_champion,
        log_recommender,
        training_fingerprint,
    )
    from spotify_agent_assets.recommend.search import search_params

    train, validation = time_split(interaction_matrix)
    if train.empty or validation.empty:
        raise dg.Failure(
            f"interaction_matrix has {len(train)} train and {len(validation)} validation pairs "
            "in its time split: training needs plays before and within the last 7 days; "
            "ingest more days of stream_events (8 or more closed days), materialize "
            "interaction_matrix, then train again",
            allow_retries=False,
        )

    def score(candidate: Any) -> dict[str, float]:
        return evaluate_recommender(candidate, train, validation, k=10)

    given = config.overrides()

    def progress(done: int, total: int, row: dict[str, Any]) -> None:
        # Each training takes seconds to minutes with the data; say how far the search is.
        context.log.info(
            f"search: trained {done}/{total} (factors {row['factors']}, alpha {row['alpha']}, "
            f"reg {row['reg']}): NDCG@10 {row['ndcg']:.4f}, recall@10 {row['recall']:.4f}"
        )

    if config.search and not given:
        result = search_params(train, validation, seed=config.seed, on_candidate=progress)
        params, model, metrics, searched = result.params, result.model, result.metrics, result.table
        context.log.info(
            f"searched {len(searched)} settings; best NDCG@10 {metrics['ndcg']:.4f}: "
            f"{params.as_dict()}"
        )
    else:
        params, searched = resolve_params(given), None
        model = train_recommender(train, seed=config.seed, params=params)
        metrics = score(model)
    baseline = score(popularity_baseline(train))
    as_of = max(interaction_matrix["last_played"].to_pylist())
    card = {
        "model": "weighted matrix factorisation (ALS), spotify_agent_assets.recommend",
        "code_version": CODE_VERSION,
        "trained_on": "interaction_matrix, time split: train_weight of pairs first played "
        "before the last 7 days",
        "as_of": as_of.isoformat(),
        "interaction_matrix_data_version": _data_version(context, "interaction_matrix"),
        "training_pairs": len(train),
        "validation_pairs": len(validation),
        "listeners": int(train["user_id"].nunique()),
        "tracks": int(train["item_id"].nunique()),
        "params": params.as_dict(),
        "seed": config.seed,
        "metrics_at_10": metrics,
        "popularity_baseline_at_10": baseline,
        "search": searched.to_dict("records") if searched is not None else "settings given",
    }
    registered = log_recommender(
        model,
        fingerprint=training_fingerprint(train, params.as_dict(), config.seed),
        metrics=metrics,
        baseline_metrics=baseline,
        card=card,
        tracking_uri=mlflow.tracking_uri,
        artifact_root=mlflow.artifact_root,
        experiment=RECOMMENDER_EXPERIMENT,
        registered_name=RECOMMENDER_MODEL,
        tags={"dagster_run_id": context.run_id},
    )
    decision = decide_champion(
        tracking_uri=mlflow.tracking_uri,
        name=RECOMMENDER_MODEL,
        candidate=registered.version,
        candidate_metrics=metrics,
        score=score,
    )
    context.log.info(
        f"{RECOMMENDER_MODEL} v{registered.version}"
        f"{' (unchanged training, reused)' if registered.reused else ''}: NDCG@10 "
        f"{metrics['ndcg']:.4f}, recall@10 {metrics['recall']:.4f} (popularity "
        f"{baseline['ndcg']:.4f} / {baseline['recall']:.4f}); {decision.reason}"
    )
    return dg.MaterializeResult(
        metadata={
            "model_version": dg.MetadataValue.text(f"{RECOMMENDER_MODEL}/{registered.version}"),
            "champion_version": dg.MetadataValue.text(f"{RECOMMENDER_MODEL}/{decision.champion}"),
            "reused_version": dg.MetadataValue.bool(registered.reused),
            "mlflow_run_id": dg.MetadataValue.text(registered.run_id),
            **{f"{key}_at_10": dg.MetadataValue.float(value) for key, value in metrics.items()},
            "baseline_ndcg_at_10": dg.MetadataValue.float(baseline["ndcg"]),
            "baseline_recall_at_10": dg.MetadataValue.float(baseline["recall"]),
            "params": dg.MetadataValue.json(params.as_dict()),
            "metrics_chart": dg.MetadataValue.md(model_against_baseline(metrics, baseline)),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=CHAMPION_CHECK,
                passed=decision.champion == registered.version,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "decision": dg.MetadataValue.text(decision.reason),
                    "promoted": dg.MetadataValue.bool(decision.promoted),
                    "champion": dg.MetadataValue.text(f"{RECOMMENDER_MODEL}/{decision.champion}"),
                    "previous_champion": dg.MetadataValue.text(
                        f"{RECOMMENDER_MODEL}/{decision.previous}" if decision.previous else "none"
                    ),
                },
            )
        ],
    )


def _data_version(context: dg.AssetExecutionContext, asset: str) -> str | None:
    """The data version of ``asset``'s latest materialization, as the model card records it."""
    record = context.instance.get_latest_data_version_record(dg.AssetKey(asset))
    materialization = record.asset_materialization if record is not None else None
    if materialization is None:
        return None
    return (materialization.tags or {}).get("dagster/data_version")


ML_ASSETS: list[dg.AssetsDefinition] = [interaction_matrix, recommender_model]
ML_TABLE_CHECKS = [build_table_checks(ML_GROUP, INTERACTION_MATRIX)]
