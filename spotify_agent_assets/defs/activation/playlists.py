"""Curated playlists (``activation.curated_playlists``) and their write-back to Spotify
(``activation.playlist_write_plan``), dry run unless a run asks to write.

The curation is pure logic in ``activation/curation.py`` over stored tables; this module reads
the tables, hands them over and stores the result. Write-back plans from what Spotify holds
(``activation/writeback.py``) and only a run configured with ``write: true`` makes calls.
"""

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
import pyarrow as pa

from spotify_agent_assets.activation.curation_tables import CURATION_COLUMNS, inputs_from_rows
from spotify_agent_assets.activation.playlist_tables import (
    ACTIVATION_GROUP,
    CURATED_PLAYLISTS,
    PLAYLIST_WRITE_PLAN,
)
from spotify_agent_assets.defs.activation.playlist_resources import (
    PlaylistSpecsResource,
    SpotifyUserResource,
)
from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.defs.table_checks import build_table_checks
from spotify_agent_assets.defs.table_metadata import api_metadata, contract_metadata, markdown_table
from spotify_agent_assets.spotify.retry import TRANSPORT_ERRORS

OWNERS = ["team:activation"]
SPEC_CHECK = "playlists_follow_their_specs"
# Whole-step retries of the write-back: Spotify down for minutes, or a write whose outcome is
# unknown (the step plans again from what the playlist holds, so a retry is idempotent).
WRITEBACK_RETRY = dg.RetryPolicy(
    max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


def _read_inputs(lake: LakeResource) -> dict[tuple[str, str], list[dict[str, Any]]]:
    parquet_lake = lake.lake()
    tables = {}
    for (group, name), columns in CURATION_COLUMNS.items():
        if not parquet_lake.exists(group, name):
            raise dg.Failure(
                f"curated_playlists reads {group}.{name}, which is not stored: materialize it "
                "first",
                allow_retries=False,
            )
        tables[(group, name)] = parquet_lake.read(group, name).select(list(columns)).to_pylist()
    return tables


@dg.asset(
    group_name=ACTIVATION_GROUP,
    kinds={"python", "parquet"},
    owners=OWNERS,
    deps=[
        dg.AssetKey("spotify_artists"),
        dg.AssetKey("spotify_tracks"),
        dg.AssetKey("audio_features"),
        dg.AssetKey("user_recommendations"),
        dg.AssetKey("similar_tracks"),
    ],
    automation_condition=dg.AutomationCondition.eager(),
    metadata=contract_metadata(CURATED_PLAYLISTS),
    check_specs=[
        dg.AssetCheckSpec(
            SPEC_CHECK,
            asset="curated_playlists",
            description="Every playlist holds its spec's rules (a reason per track, explicit "
            "filter, per-artist cap, no repeats; ERROR) and reaches its length or duration "
            "(WARN when too few candidates pass the filters).",
        )
    ],
)
def curated_playlists(
    context: dg.AssetExecutionContext,
    lake: LakeResource,
    playlist_specs: PlaylistSpecsResource,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Playlists curated from the specs in ``config/playlists.yaml``: candidates from the seeds,
    ``ml.similar_tracks`` and the segment's ``ml.user_recommendations``, fitted to the mood's
    audio targets, filtered (explicit, per-artist cap, length or duration) and ordered so key
    (Camelot wheel), tempo and energy move smoothly; a reason for every track. The same specs
    and tables give the same playlists.
    """
    from spotify_agent_assets.activation.curation import curate, spec_findings
    from spotify_agent_assets.activation.harmonic_order import camelot
    from spotify_agent_assets.activation.playlist_spec import PlaylistSpecError, check_seeds
    from spotify_agent_assets.lake.table_contract import to_arrow

    try:
        specs = playlist_specs.load()
        inputs = inputs_from_rows(_read_inputs(lake))
        check_seeds(specs, inputs.artist_names, inputs.tracks, playlist_specs.path)
    except PlaylistSpecError as error:
        raise dg.Failure(str(error), allow_retries=False) from None

    rows, summary, broken, short = [], [], [], []
    for spec in specs:
        playlist, segment_size = curate(spec, inputs)
        if not playlist:
            raise dg.Failure(
                f"{playlist_specs.path}: playlists[{spec.index}] ({spec.name!r}) has no track "
                "that passes its filters (audio features, explicit, max_per_artist); widen "
                "its seeds or filters",
                allow_retries=False,
            )
        for item in playlist:
            f = item.features
            rows.append(
                {
                    "playlist_key": spec.key,
                    "playlist_name": spec.name,
                    "position": item.position,
                    "track_id": item.track.track_id,
                    "track_name": item.track.name,
                    "primary_artist_id": item.track.primary_artist_id,
                    "source": item.candidate.source,
                    "reason": item.candidate.reason,
                    "relevance": item.candidate.relevance,
                    "mood_distance": item.mood_distance,
                    "tempo_bpm": f.tempo_bpm,
                    "camelot": camelot(f.key, f.mode),
                    "energy": f.energy,
                    "valence": f.valence,
                    "duration_ms": item.track.duration_ms,
                    "transition_cost": item.transition_cost,
                    "segment": spec.segment,
                    "segment_listeners": segment_size,
                    "spec_digest": spec.digest(),
                }
            )
        summary.append(_summary(spec, playlist, segment_size))
        rules, shortfalls = spec_findings(spec, playlist)
        broken += rules
        short += shortfalls
    context.log.info(f"{len(specs)} playlists, {len(rows)} tracks")
    yield dg.Output(
        to_arrow(CURATED_PLAYLISTS, rows),
        metadata={
            "playlists": dg.MetadataValue.int(len(specs)),
            "summary": dg.MetadataValue.md(
                markdown_table(
                    ["playlist", "tracks", "minutes", "harmonic", "mean tempo step", "sources"],
                    summary,
                    "_no playlists_",
                )
            ),
        },
    )
    yield dg.AssetCheckResult(
        check_name=SPEC_CHECK,
        passed=not broken and not short,
        severity=dg.AssetCheckSeverity.ERROR if broken else dg.AssetCheckSeverity.WARN,
        metadata={
            "broken_rules": dg.MetadataValue.json(broken),
            "shortfalls": dg.MetadataValue.json(short),
        },
    )


def _summary(spec: Any, playlist: list[Any], segment_size: int) -> list[str]:
    from collections import Counter

    from spotify_agent_assets.activation.harmonic_order import TrackSound, harmonic_share

    sounds = [
        TrackSound(
            i.track.track_id,
            i.features.tempo_bpm,
            i.features.key,
            i.features.mode,
            i.features.energy,
        )
        for i in playlist
    ]
    share = harmonic_share(sounds)
    tempos = [s.tempo_bpm for s in sounds]
    steps = [abs(b - a) for a, b in itertools.pairwise(tempos) if a and b]
    minutes = sum(i.track.duration_ms or 0 for i in playlist) / 60_000
    sources = Counter(i.candidate.source for i in playlist)
    return [
        spec.name,
        str(len(playlist)),
        f"{minutes:.1f}",
        "n/a" if share is None else f"{share:.0%}",
        "n/a" if not steps else f"{sum(steps) / len(steps):.1f} BPM",
        ", ".join(f"{k} {v}" for k, v in sorted(sources.items())),
    ]


class PlaylistWriteConfig(dg.Config):
    """``write: true`` makes the planned calls; by default the plan is only recorded."""

    write: bool = False


@contextmanager
def _write_failures() -> Iterator[None]:
    """Only transport errors and writes of unknown outcome reach the RetryPolicy."""
    from spotify_agent_assets.activation.playlist_client import AmbiguousWriteError

    try:
        yield
    except (*TRANSPORT_ERRORS, AmbiguousWriteError, dg.Failure):
        raise
    except Exception as exc:
        raise dg.Failure(description=f"{type(exc).__name__}: {exc}", allow_retries=False) from exc


@dg.asset(
    group_name=ACTIVATION_GROUP,
    kinds={"spotify", "python", "parquet"},
    owners=OWNERS,
    retry_policy=WRITEBACK_RETRY,
    pool="spotify_api",
    automation_condition=dg.AutomationCondition.eager(),
    metadata=contract_metadata(PLAYLIST_WRITE_PLAN),
)
def playlist_write_plan(
    context: dg.AssetExecutionContext,
    config: PlaylistWriteConfig,
    lake: LakeResource,
    playlist_specs: PlaylistSpecsResource,
    spotify_user: SpotifyUserResource,
    curated_playlists: pa.Table,
) -> dg.Output:
    """What writing the curated playlists to Spotify takes: per playlist its current
    ``snapshot_id``, the difference from its target track list and the calls (create, replace
    the first 100 items, add each next 100). Dry run by default: the plan is recorded and
    nothing is written. With ``write: true`` the calls are made and each row records the
    snapshot id Spotify answered; an unchanged playlist costs no write.
    """
    from spotify_agent_assets.activation.writeback import (
        PlaylistTarget,
        execute,
        known_states,
        plan_playlists,
    )
    from spotify_agent_assets.lake.table_contract import to_arrow

    if config.write and spotify_user.use_sample_world:
        raise dg.Failure(
            "write: true needs a real Spotify account (SPOTIFY_CLIENT_ID, SPOTIFY_CLIENT_SECRET "
            "and SPOTIFY_REFRESH_TOKEN); the sample world keeps no playlists between runs",
            allow_retries=False,
        )
    specs = {spec.key: spec for spec in playlist_specs.load()}
    ordered = sorted(
        curated_playlists.to_pylist(), key=lambda r: (r["playlist_key"], r["position"])
    )
    tracks: dict[str, list[str]] = {}
    digests: dict[str, str] = {}
    for row in ordered:
        tracks.setdefault(row["playlist_key"], []).append(row["track_id"])
        digests[row["playlist_key"]] = row["spec_digest"]
    targets = []
    for key, track_ids in tracks.items():
        spec = specs.get(key)
        # Writing tracks curated for another version of the spec would publish a playlist
        # nobody asked for under the new name or description.
        if spec is None or spec.digest() != digests[key]:
            source = "a spec the file no longer has" if spec is None else "an older spec"
            raise dg.Failure(
                f"curated_playlists holds playlist {key!r} as curated from {source} "
                f"({playlist_specs.path}): materialize curated_playlists again",
                allow_retries=False,
            )
        targets.append(
            PlaylistTarget(
                key,
                spec.name,
                spec.description,
                spec.public,
                tuple(track_ids),
                spec.spotify_playlist_id,
            )
        )
    client = spotify_user.playlist_client()
    known = known_states(lake.previous_rows(ACTIVATION_GROUP, PLAYLIST_WRITE_PLAN.name))
    with _write_failures():
        calls = plan_playlists(client, targets, known)
        if config.write:
            calls = execute(client, calls, targets)
    writes = sum(c.executed for c in calls)
    context.log.info(
        f"{'write' if config.write else 'dry run'}: {len(targets)} playlists, "
        f"{sum(c.action != 'unchanged' for c in calls)} calls planned, {writes} made"
    )
    return dg.Output(
        to_arrow(PLAYLIST_WRITE_PLAN, [c.row() for c in calls]),
        metadata={
            "mode": dg.MetadataValue.text("write" if config.write else "dry_run"),
            "writes_made": dg.MetadataValue.int(writes),
            "playlists_unchanged": dg.MetadataValue.int(
                sum(c.action == "unchanged" for c in calls)
            ),
            "plan": dg.MetadataValue.md(
                markdown_table(
                    ["playlist", "step", "action", "tracks", "+", "-", "executed"],
                    [
                        [
                            c.playlist_name,
                            str(c.step),
                            c.action,
                            str(len(c.track_uris)),
                            str(c.tracks_added),
                            str(c.tracks_removed),
                            str(c.executed),
                        ]
                        for c in calls
                    ],
                    "_no playlists_",
                )
            ),
            **api_metadata(client.stats),
        },
    )


ASSETS = [curated_playlists, playlist_write_plan]
CHECKS = [
    build_table_checks(ACTIVATION_GROUP, contract)
    for contract in (CURATED_PLAYLISTS, PLAYLIST_WRITE_PLAN)
]
JOBS: list = []
SCHEDULES: list = []
SENSORS: list = []
