"""Spotify catalogue assets: the roster, artists, their daily snapshots, albums, tracks, playlists.

Tables land in the lake as ``<lake>/<group>/<asset>/`` and in the warehouse as
``<group>.<asset>`` through the lake IO manager. The sync rules (what is fetched, what is carried
over) live in :mod:`spotify_agent_assets.spotify.sync`; this module only wires them to Dagster.
"""

import datetime as dt
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
import pyarrow as pa

from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.defs.spotify.partitions import SNAPSHOT_DAYS
from spotify_agent_assets.defs.spotify.quarantine import (
    quarantine_check_result,
    quarantine_check_spec,
)
from spotify_agent_assets.defs.spotify.resources import RosterResource, SpotifyResource
from spotify_agent_assets.defs.table_metadata import (
    api_metadata,
    contract_metadata,
    quarantine_metadata,
)
from spotify_agent_assets.lake.table_contract import TableContract, arrow_schema, to_arrow
from spotify_agent_assets.spotify import sync
from spotify_agent_assets.spotify.played_tracks import (
    MAX_ATTEMPTS,
    MAX_LOOKUPS_PER_SYNC,
    RETRY_AFTER,
    read_played_track_ids,
)
from spotify_agent_assets.spotify.retry import TRANSPORT_ERRORS
from spotify_agent_assets.spotify.tables import (
    ARTIST_ROSTER,
    ARTIST_SNAPSHOTS,
    PLAYLIST_TRACKS,
    SPOTIFY_ALBUMS,
    SPOTIFY_ARTISTS,
    SPOTIFY_PLAYLISTS,
    SPOTIFY_TRACKS,
    SPOTIFY_UNRESOLVED_TRACKS,
)

# Single-run backfills are the documented way to backfill many days in one run; Dagster still
# flags the parameter as beta on every import, which would drown the CLI output in repeats.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)

SPOTIFY_GROUP = "spotify"
# Daily-partitioned history lives in its own group so that `--select group:spotify` (the
# current catalogue) can be materialized from the CLI without a partition argument.
SPOTIFY_HISTORY_GROUP = "spotify_history"

# Network assets retry whole-step failures (e.g. Spotify down for minutes) with exponential
# backoff; per-request 429/5xx/timeouts are already retried inside the client.
NETWORK_RETRY = dg.RetryPolicy(
    max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
SPOTIFY_KINDS = {"spotify", "python", "parquet"}


def spotify_api_asset(contract: TableContract, group: str = SPOTIFY_GROUP, **extra: Any) -> Any:
    """What every asset that calls the Spotify API shares, declared once: its table contract,
    the network retry policy, the ``spotify_api`` pool and the quarantine check it yields."""
    return dg.asset(
        name=contract.name,
        group_name=group,
        kinds=SPOTIFY_KINDS,
        check_specs=[quarantine_check_spec(contract.name)],
        metadata=contract_metadata(contract),
        **_spotify_api_step(),
        **extra,
    )


def spotify_api_multi_asset(
    name: str, tables: dict[TableContract, str], check_on: TableContract
) -> Any:
    """The same for a step that writes several tables (``tables``: contract -> description);
    the quarantine check is on ``check_on``, the table the records set aside belong to."""
    return dg.multi_asset(
        name=name,
        outs={
            contract.name: dg.AssetOut.from_spec(
                dg.AssetSpec(
                    contract.name,
                    group_name=SPOTIFY_GROUP,
                    kinds=SPOTIFY_KINDS,
                    metadata=contract_metadata(contract),
                    description=description,
                ),
                dagster_type=dg.Any,
                is_required=False,  # a subset run yields only the selected tables
            )
            for contract, description in tables.items()
        },
        check_specs=[quarantine_check_spec(check_on.name)],
        # One table can be selected alone (the UI's "Materialize" on it, ``--select``): the
        # step still makes every call and yields the selected outputs only.
        can_subset=True,
        **_spotify_api_step(),
    )


def _spotify_api_step() -> dict[str, Any]:
    return {"retry_policy": NETWORK_RETRY, "pool": "spotify_api"}


@contextmanager
def _permanent_errors_fail_fast() -> Iterator[None]:
    """Let only transport errors reach the RetryPolicy; anything else fails once, not 4 times.

    Dagster's RetryPolicy repeats every exception but ``Failure(allow_retries=False)``. Only
    Spotify or the network being down (``TRANSPORT_ERRORS``) can pass in minutes; rejected
    credentials, a 4xx, an invalid roster, an unusable answer or a bug in our code would fail
    the same way three more times over five minutes.
    """
    try:
        yield
    except (*TRANSPORT_ERRORS, dg.Failure, dg.RetryRequested):
        raise
    except Exception as exc:
        raise dg.Failure(description=f"{type(exc).__name__}: {exc}", allow_retries=False) from exc


def _output(
    contract: TableContract,
    rows: list[dict[str, Any]],
    extra: dict[str, Any] | None = None,
    output_name: str = "result",
) -> dg.Output:
    try:
        table = to_arrow(contract, rows)
    except ValueError as exc:
        # Parsing keeps Spotify's data within the contracts, so this is a bug in our code: the
        # same rows would break the contract again on every retry.
        raise dg.Failure(
            description=_contract_violation(contract, rows, exc), allow_retries=False
        ) from exc
    # Row count and column schema: the lake IO manager records them, from the contract.
    return dg.Output(table, output_name=output_name, metadata=extra or {})


def _contract_violation(
    contract: TableContract, rows: list[dict[str, Any]], error: Exception
) -> str:
    """Which column of which row breaks ``contract``: Arrow's own message rarely names it."""
    for field in arrow_schema(contract):
        for row in rows:
            value = row.get(field.name)
            if value is None and not field.nullable:
                problem = "is null, but the column is declared non-nullable"
            else:
                try:
                    pa.array([value], type=field.type)
                    continue
                except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                    problem = f"holds {type(value).__name__} {str(value)[:60]!r} ({exc})"
            key = ", ".join(f"{k}={row.get(k)!r}" for k in contract.key)
            return (
                f"rows for table {contract.name!r} do not fit its contract: column "
                f"{field.name!r} ({field.type}) of the row {key} {problem}"
            )
    return str(error)


def _log_quarantine(context: dg.AssetExecutionContext, result: sync.SyncResult) -> None:
    for q in result.quarantined:
        context.log.warning(f"quarantined {q.entity} {q.entity_id} ({q.field}): {q.reason}")


def _landed(
    contract: TableContract,
    rows: list[dict[str, Any]],
    quarantined: list[sync.Quarantined],
    extra: dict[str, Any],
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """The table with every usable row, then the asset's own quarantine check."""
    yield _output(contract, rows, {**extra, **quarantine_metadata(quarantined)})
    yield quarantine_check_result(quarantined)


def _ids(table: pa.Table, column: str) -> list[str]:
    return [str(v) for v in table.column(column).to_pylist()]


@dg.asset(
    group_name=SPOTIFY_GROUP, kinds={"yaml", "parquet"}, metadata=contract_metadata(ARTIST_ROSTER)
)
def artist_roster(roster: RosterResource) -> dg.Output:
    """The artists the team manages, from the roster file (``SPOTIFY_AGENT_ROSTER``).

    Entries may be ids, ``spotify:artist:`` URIs or open.spotify.com URLs; all are validated and
    normalised here, before any Spotify call, and one bad entry fails the run naming it.
    """
    loaded = roster.load()
    rows = [
        {"artist_id": e.spotify_id, "name": e.name, "source": e.reference, "position": i}
        for i, e in enumerate(loaded.artists)
    ]
    return _output(ARTIST_ROSTER, rows, {"roster_file": dg.MetadataValue.path(roster.path)})


@spotify_api_asset(SPOTIFY_ARTISTS)
def spotify_artists(
    context: dg.AssetExecutionContext,
    spotify: SpotifyResource,
    lake: LakeResource,
    artist_roster: pa.Table,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Current Spotify artist profiles of the roster: name, genres, followers, popularity.

    An artist Spotify answers for unusably is quarantined and keeps its previously stored row.
    """
    previous = lake.previous_rows(SPOTIFY_GROUP, "spotify_artists")
    client = spotify.catalog_client()
    with _permanent_errors_fail_fast():
        result = sync.fetch_artists(client, _ids(artist_roster, "artist_id"), previous)
    _log_quarantine(context, result)
    yield from _landed(SPOTIFY_ARTISTS, result.rows, result.quarantined, api_metadata(client.stats))


@spotify_api_asset(
    ARTIST_SNAPSHOTS,
    SPOTIFY_HISTORY_GROUP,
    partitions_def=SNAPSHOT_DAYS,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def artist_snapshots(
    context: dg.AssetExecutionContext, spotify: SpotifyResource, artist_roster: pa.Table
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Followers, popularity and genres of every roster artist, one partition per day.

    Spotify only reports the present, so against the live API a day can be captured on that
    day or the next (the daily schedule takes yesterday's); older days fail with a clear
    message instead of writing today's numbers under a past date. The sample world replays any
    day of its history, which is how local backfills work.
    """
    days = [dt.date.fromisoformat(key) for key in context.partition_keys]
    if not spotify.serves_history:
        today = dt.datetime.now(dt.UTC).date()
        stale = [d for d in days if (today - d).days > 1]
        if stale:
            raise dg.Failure(
                f"artist_snapshots cannot capture {stale[0].isoformat()}"
                f"{f' (and {len(stale) - 1} more days)' if len(stale) > 1 else ''}: Spotify "
                "only reports current follower counts, so only today or yesterday can be captured",
                allow_retries=False,
            )
    artist_ids = _ids(artist_roster, "artist_id")
    rows, quarantined, clients = [], [], []
    for day in days:
        client = spotify.catalog_client(as_of=day)
        with _permanent_errors_fail_fast():
            result = sync.snapshot_artists(client, artist_ids, day)
        _log_quarantine(context, result)
        rows.extend(result.rows)
        quarantined.extend(result.quarantined)
        clients.append(client)
    context.log.info(f"captured {len(rows)} artist snapshots over {len(days)} day(s)")
    yield from _landed(
        ARTIST_SNAPSHOTS,
        rows,
        quarantined,
        {
            **api_metadata(*(c.stats for c in clients)),
            "days": dg.MetadataValue.int(len(days)),
        },
    )


@spotify_api_asset(SPOTIFY_ALBUMS)
def spotify_albums(
    context: dg.AssetExecutionContext,
    spotify: SpotifyResource,
    lake: LakeResource,
    artist_roster: pa.Table,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Albums, singles and compilations of the roster artists, with their track ids.

    Incremental: every sync lists each artist's releases (that is how new ones are found), but
    only albums not already in this table are fetched in full (batches of 20).
    """
    previous = lake.previous_rows(SPOTIFY_GROUP, "spotify_albums")
    client = spotify.catalog_client()
    with _permanent_errors_fail_fast():
        result = sync.sync_albums(client, _ids(artist_roster, "artist_id"), previous)
    _log_quarantine(context, result)
    context.log.info(f"{len(result.fetched)} new albums fetched, {result.reused} known")
    yield from _landed(
        SPOTIFY_ALBUMS,
        result.rows,
        result.quarantined,
        {
            **api_metadata(client.stats),
            "new_albums": dg.MetadataValue.int(len(result.fetched)),
        },
    )


# Played track ids are read from the lake's ``streams.stream_events`` without declaring a
# dependency on it, on purpose: stream_events is daily-partitioned and rewritten by every hourly
# ingestion, so a declared parent would mark this unpartitioned catalogue stale (and due for any
# automation following its parents) after each ingestion, and would tie the daily Spotify sync
# to whichever partitions happen to exist. The sync instead reads the plays stored when it runs;
# plays of a new id that land later are looked up by the next sync.
@spotify_api_multi_asset(
    "spotify_tracks",
    {
        SPOTIFY_TRACKS: (
            "Full track objects (ISRC, duration, explicit, popularity, markets) of the roster's "
            "albums, and of tracks listeners played that no album listing shows (a track taken "
            "down stays resolvable by id, with no markets). Incremental: album tracks are "
            "fetched (batches of 50) only for albums no earlier sync has seen; played ids are "
            "read from streams.stream_events in the lake when the sync runs, which is "
            "deliberately not a lineage dependency (the catalogue does not follow every "
            "ingestion)."
        ),
        SPOTIFY_UNRESOLVED_TRACKS: (
            "Played track ids Spotify gave no usable track for, with the reason and how often "
            "they were asked: the memory that keeps spotify_tracks from asking the same unknown "
            f"ids on every sync (at most {MAX_ATTEMPTS} times, {RETRY_AFTER.days} days apart, "
            f"and at most {MAX_LOOKUPS_PER_SYNC:,} played ids a sync)."
        ),
    },
    check_on=SPOTIFY_TRACKS,
)
def spotify_tracks(
    context: dg.AssetExecutionContext,
    spotify: SpotifyResource,
    lake: LakeResource,
    spotify_albums: pa.Table,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Sync the roster's tracks, then look up played tracks that no album listing shows."""
    previous = lake.previous_rows(SPOTIFY_GROUP, SPOTIFY_TRACKS.name)
    unresolved = lake.previous_rows(SPOTIFY_GROUP, SPOTIFY_UNRESOLVED_TRACKS.name)
    played_ids = read_played_track_ids(lake.lake())
    client = spotify.catalog_client()
    with _permanent_errors_fail_fast():
        result = sync.sync_tracks(
            client, spotify_albums.to_pylist(), previous, played_ids, unresolved
        )
    _log_quarantine(context, result)
    context.log.info(
        f"{len(result.fetched)} tracks fetched, {result.reused} carried over; of "
        f"{len(played_ids)} played ids, {result.played_found} found by id, "
        f"{len(result.unresolved)} unresolved, {result.played_deferred} left for the next sync"
    )
    selected = context.selected_output_names
    if SPOTIFY_TRACKS.name in selected:
        yield _output(
            SPOTIFY_TRACKS,
            result.rows,
            {
                **api_metadata(client.stats),
                **quarantine_metadata(result.quarantined),
                "tracks_fetched": dg.MetadataValue.int(len(result.fetched)),
                "played_track_ids": dg.MetadataValue.int(len(played_ids)),
                "played_tracks_found": dg.MetadataValue.int(result.played_found),
                "played_lookups_deferred": dg.MetadataValue.int(result.played_deferred),
                "played_values_not_ids": dg.MetadataValue.int(result.played_not_ids),
            },
            output_name=SPOTIFY_TRACKS.name,
        )
    if SPOTIFY_UNRESOLVED_TRACKS.name in selected:
        yield _output(
            SPOTIFY_UNRESOLVED_TRACKS,
            result.unresolved,
            output_name=SPOTIFY_UNRESOLVED_TRACKS.name,
        )
    else:
        # Not stored this time: the ids this sync could not resolve are asked again next sync
        # (still within the per-sync cap), rather than remembered.
        context.log.info("spotify_unresolved_tracks not selected: its memory is not updated")
    if context.selected_asset_check_keys:
        yield quarantine_check_result(result.quarantined, asset_key=SPOTIFY_TRACKS.name)


@spotify_api_asset(SPOTIFY_PLAYLISTS)
def spotify_playlists(
    context: dg.AssetExecutionContext,
    spotify: SpotifyResource,
    lake: LakeResource,
    roster: RosterResource,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Metadata of the playlists in the roster file, including each one's ``snapshot_id``.

    ``snapshot_id`` is null when Spotify sends none. A playlist Spotify refuses (a 4xx: deleted,
    private) or answers for unusably is quarantined and keeps its previously stored row.
    """
    previous = lake.previous_rows(SPOTIFY_GROUP, "spotify_playlists")
    with _permanent_errors_fail_fast():
        playlist_ids = [e.spotify_id for e in roster.load().playlists]
        client = spotify.catalog_client()
        result = sync.fetch_playlists(client, playlist_ids, previous)
    _log_quarantine(context, result)
    yield from _landed(
        SPOTIFY_PLAYLISTS, result.rows, result.quarantined, api_metadata(client.stats)
    )


@spotify_api_asset(PLAYLIST_TRACKS)
def playlist_tracks(
    context: dg.AssetExecutionContext,
    spotify: SpotifyResource,
    lake: LakeResource,
    spotify_playlists: pa.Table,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Items of each playlist, in order, with Spotify's quirks kept visible.

    Items whose track is null, local files (no id), podcast episodes and tracks removed from
    the catalogue are kept with an ``item_type`` rather than dropped. Items are fetched only for
    playlists whose ``snapshot_id`` changed since the stored copy (always when it is unknown).
    An item that is not usable is quarantined and leaves a gap at its position; a playlist whose
    items call is refused (a 4xx) is quarantined and keeps its stored items.
    """
    previous = lake.previous_rows(SPOTIFY_GROUP, "playlist_tracks")
    client = spotify.catalog_client()
    with _permanent_errors_fail_fast():
        result = sync.sync_playlist_items(client, spotify_playlists.to_pylist(), previous)
    _log_quarantine(context, result)
    context.log.info(
        f"items fetched for {len(result.fetched)} changed playlists, {result.reused} items reused"
    )
    yield from _landed(
        PLAYLIST_TRACKS,
        result.rows,
        result.quarantined,
        {
            **api_metadata(client.stats),
            "playlists_fetched": dg.MetadataValue.int(len(result.fetched)),
        },
    )


# The current-catalogue assets in lineage order (everything but the daily history), for runs
# that sync the catalogue as a whole: the benchmark and the end-to-end tests.
CATALOGUE_ASSETS = [
    artist_roster,
    spotify_artists,
    spotify_albums,
    spotify_tracks,
    spotify_playlists,
    playlist_tracks,
]
