"""Tracks listeners played that no album listing shows: which ones to ask Spotify about.

An album's track listing leaves out a track Spotify took down, so a catalogue synced after the
take-down never meets it there; its plays stay in ``streams.stream_events`` all the same, and
the Web API still answers for it by id (no markets, ``is_playable: false``). ``spotify_tracks``
therefore also asks GET /tracks for played ids it does not hold, so every stream can be
attributed to its track, album and artists.

Ids Spotify answers null for (never in the catalogue, a track deleted for good, a stray id in
an export) would otherwise be asked on every sync, and a listening history can hold thousands.
The rules that bound what one sync pays, recorded in ``spotify_unresolved_tracks``:

* an id that got no usable answer is asked again at most ``MAX_ATTEMPTS - 1`` more times, and
  only after ``RETRY_AFTER``: a null can be a catalogue hiccup, three over two weeks is an
  answer. After that it is never asked again (its row stays, with the last reason);
* one sync asks about at most ``MAX_LOOKUPS_PER_SYNC`` ids (20 calls of 50), the most played
  first; the rest wait for the next sync, which asks them first (they have not been asked);
* a played value that is not a Spotify id (``ids.is_spotify_id``) is never asked, only counted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from spotify_agent_assets.spotify.ids import is_spotify_id

if TYPE_CHECKING:
    from spotify_agent_assets.lake.parquet_lake import ParquetLake

Row = dict[str, Any]

MAX_ATTEMPTS = 3
RETRY_AFTER = dt.timedelta(days=7)
LOOKUP_BATCH = 50  # GET /tracks takes 50 ids a call
MAX_LOOKUPS_PER_SYNC = 20 * LOOKUP_BATCH


@dataclass
class LookupPlan:
    """What one sync does about played ids it does not hold."""

    ask: list[str] = field(default_factory=list)  # ids to fetch now, most played first
    waiting: list[Row] = field(default_factory=list)  # unresolved rows not asked this time
    deferred: int = 0  # unasked ids left for the next sync by the per-sync cap
    not_ids: int = 0  # played values that are no Spotify id: never asked


def plan_lookups(
    played_ids: Sequence[str],
    held: Iterable[str],
    unresolved: Sequence[Mapping[str, Any]],
    now: dt.datetime,
    *,
    limit: int = MAX_LOOKUPS_PER_SYNC,
) -> LookupPlan:
    """The played ids to ask Spotify about now, given the ids the tables already hold.

    ``played_ids`` is in priority order (most played first). Ids never asked come before ids
    due for another try, so a backlog larger than ``limit`` drains instead of the same nulls
    being asked again. An unresolved row whose id is held now, or no longer played, is
    dropped: it has nothing left to resolve.
    """
    held_ids = set(held)
    stored = {str(row["track_id"]): dict(row) for row in unresolved}
    plan = LookupPlan()
    first_time: list[str] = []
    again: list[str] = []
    for track_id in dict.fromkeys(played_ids):
        if not is_spotify_id(track_id):
            plan.not_ids += 1
        elif track_id in held_ids:
            continue
        elif track_id not in stored:
            first_time.append(track_id)
        elif _due(stored[track_id], now):
            again.append(track_id)
        else:
            plan.waiting.append(stored[track_id])
    queue = first_time + again
    plan.ask = queue[:limit]
    for track_id in queue[limit:]:
        if track_id in stored:
            plan.waiting.append(stored[track_id])
        else:
            plan.deferred += 1
    return plan


def _due(row: Mapping[str, Any], now: dt.datetime) -> bool:
    return int(row["attempts"]) < MAX_ATTEMPTS and now - row["last_asked_at"] >= RETRY_AFTER


def unresolved_row(
    track_id: str, reason: str, previous: Mapping[str, Any] | None, now: dt.datetime
) -> Row:
    """The ``spotify_unresolved_tracks`` row after one more lookup without a usable answer."""
    return {
        "track_id": track_id,
        "reason": reason,
        "attempts": int(previous["attempts"]) + 1 if previous else 1,
        "first_asked_at": previous["first_asked_at"] if previous else now,
        "last_asked_at": now,
    }


def read_played_track_ids(lake: ParquetLake) -> list[str]:
    """Distinct track ids of ``streams.stream_events``, most played first (ties by id).

    Reads the lake's files directly (not the warehouse file, whose lock a dbt run holds for
    its whole run); one column of every day, so a decade of plays is a scan of seconds. An
    empty list when no events were ever ingested.
    """
    from spotify_agent_assets.lake.warehouse import lake_connection
    from spotify_agent_assets.streams.tables import STREAM_EVENTS, STREAMS_GROUP

    if not lake.exists(STREAMS_GROUP, STREAM_EVENTS.name):
        return []
    pattern = lake.glob(STREAMS_GROUP, STREAM_EVENTS.name, partitioned=True)
    query = (
        "SELECT track_id FROM read_parquet(?, hive_partitioning = false, union_by_name = true) "
        "WHERE track_id IS NOT NULL GROUP BY track_id ORDER BY count(*) DESC, track_id"
    )
    with lake_connection(lake) as connection:
        return [str(track_id) for (track_id,) in connection.execute(query, [pattern]).fetchall()]
