"""track_performance is summed from per-day tables and a first-seen table; it must equal the
all-time count over every event, also after a day is re-ingested with other events, a window is
run twice, or a track's duration changes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from spotify_agent_assets.lake import Warehouse
from spotify_agent_assets.lake.table_contract import to_arrow
from spotify_agent_assets.spotify.tables import SPOTIFY_TRACKS
from spotify_agent_assets_tests.dbt.conftest import Built, query, run_daily, run_models
from spotify_agent_assets_tests.dbt.fixtures import (
    ALBUM_OF,
    SYNCED_AT,
    T1,
    T2,
    T4,
    TRACKS,
    Event,
    events_table,
    fixture_events,
    numbered,
)
from spotify_agent_assets_tests.dbt.test_dbt_incremental import copy_lake

pytestmark = pytest.mark.slow

# What track_performance computed before it was summed from the daily tables: one pass over
# every event, the reference its values must equal.
ALL_TIME_SQL = """
with plays as (
    select
        event.track_id,
        count(*) as plays,
        count(*) filter (where event.is_stream) as streams,
        count(distinct event.listener_key) as listeners,
        sum(event.ms_played)::bigint as listening_ms,
        count(*) filter (where event.skipped) as skips,
        count(event.skipped) as skip_known_plays,
        count(*) filter (
            where event.reason_end = 'trackdone' or event.ms_played >= track.duration_ms
        ) as completions,
        min(event.date) as first_play_date,
        max(event.date) as last_play_date,
        count(distinct event.date) as active_days
    from staging.stg_stream_events as event
    join analytics.dim_track as track on track.track_id = event.track_id
    group by event.track_id
)
select
    track.track_id,
    track.track_name,
    track.primary_artist_id,
    coalesce(plays.plays, 0),
    coalesce(plays.streams, 0),
    coalesce(plays.listeners, 0),
    coalesce(plays.listening_ms, 0),
    coalesce(plays.skips, 0),
    coalesce(plays.skip_known_plays, 0),
    plays.skips::double / nullif(plays.skip_known_plays, 0),
    plays.completions::double / nullif(plays.plays, 0),
    plays.first_play_date,
    plays.last_play_date,
    coalesce(plays.active_days, 0),
    rank() over (order by coalesce(plays.streams, 0) desc)
from analytics.dim_track as track
left join plays on plays.track_id = track.track_id
order by track.track_id
"""
COLUMNS = (
    "track_id, track_name, primary_artist_id, plays, streams, listeners, listening_ms, skips, "
    "skip_known_plays, skip_rate, completion_rate, first_play_date, last_play_date, "
    "active_days, rank_by_streams"
)


def track_performance(warehouse: Warehouse) -> list[tuple]:
    return query(warehouse, f"SELECT {COLUMNS} FROM analytics.track_performance ORDER BY 1")


def assert_equals_all_time_query(warehouse: Warehouse) -> list[tuple]:
    built = track_performance(warehouse)
    assert built == query(warehouse, ALL_TIME_SQL)
    return built


def test_equals_the_all_time_query(dbt_range: Built) -> None:
    rows = assert_equals_all_time_query(dbt_range.warehouse)
    # Not vacuous: listeners and completions are there, and a never-played track has zeros.
    by_track = {row[0]: row for row in rows}
    assert by_track[T1][5] > 1 and by_track[T1][10] > 0
    assert sum(1 for row in rows if row[3] == 0) == 1


def test_a_reingested_day_moves_first_seen_days_and_reruns_count_nothing_twice(
    dbt_range: Built, tmp_path: Path
) -> None:
    lake, warehouse = copy_lake(dbt_range, tmp_path)
    before = track_performance(warehouse)
    events = fixture_events()
    # 2026-10-03 re-ingested: the listeners first seen on it lose that day's plays (their
    # first day moves to 10-04 or they are gone), and a new listener appears on it.
    first_on_2 = {(e.track_id, e.listener) for e in events["2026-10-02"]}
    kept = [e for e in events["2026-10-03"] if (e.track_id, e.listener) in first_on_2]
    added = [Event("2026-10-03", "Lnew", T2, "SE", 90_000, None, True, "endplay")]
    assert len(kept) < len(events["2026-10-03"])
    lake.write(events_table(numbered(kept + added)), "streams", "stream_events", "2026-10-03")
    assert run_daily(warehouse, "2026-10-03").success
    after = assert_equals_all_time_query(warehouse)
    assert after != before
    # The same window again, and a window over every day: nothing counted twice.
    assert run_daily(warehouse, "2026-10-03").success
    assert track_performance(warehouse) == after
    assert run_daily(warehouse, "2026-10-02", "2026-10-04").success
    assert track_performance(warehouse) == after
    # A new day: first plays there, others already seen.
    day = "2026-10-05"
    lake.write(
        events_table(
            numbered(
                [
                    Event(day, "L1", T1, "US", 200_000, False, False, "trackdone"),
                    Event(day, "Lnewer", T4, None, 1_000, True, None, "fwdbtn"),
                ]
            )
        ),
        "streams",
        "stream_events",
        day,
    )
    assert run_daily(warehouse, day).success
    assert_equals_all_time_query(warehouse)
    seen = query(
        warehouse,
        "SELECT count(*), count(DISTINCT (track_id, listener_key)) "
        "FROM intermediate.int_track_listener_first_seen",
    )
    assert seen[0][0] == seen[0][1]


def test_a_changed_track_duration_counts_its_completions_again(
    dbt_range: Built, tmp_path: Path
) -> None:
    lake, warehouse = copy_lake(dbt_range, tmp_path)
    before = {row[0]: row for row in track_performance(warehouse)}
    # T1 is remastered to 60 s: most of its plays now lasted the whole track.
    tracks = [
        {
            **track,
            "duration_ms": 60_000 if track["track_id"] == T1 else track["duration_ms"],
            "name": f"Song {n}",
            "album_id": ALBUM_OF[track["track_id"]],
            "fetched_at": SYNCED_AT + dt.timedelta(days=1),
        }
        for n, track in enumerate(TRACKS, start=1)
    ]
    lake.write(to_arrow(SPOTIFY_TRACKS, tracks), "spotify", "spotify_tracks")
    assert run_models(warehouse).success
    # A run for the newest day only: T1's other days are counted again all the same.
    assert run_daily(warehouse, "2026-10-04").success
    after = {row[0]: row for row in assert_equals_all_time_query(warehouse)}
    assert after[T1][10] > before[T1][10]
    assert after[T2] == before[T2]
