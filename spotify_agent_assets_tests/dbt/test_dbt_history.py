"""History that stays put: plays keep the artist their track had when they were played (the
snapshot ``track_artist_history``), a full refresh rebuilds every day whatever the run window,
and ``is_complete`` tells the day in progress from finished days in UTC."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from spotify_agent_assets.analytics_dbt.run_window import RunWindow
from spotify_agent_assets_tests.dbt.conftest import (
    DAILY_TABLES,
    Built,
    copy_lake,
    daily_tables,
    dbt_cli,
    failed_checks,
    query,
    run_daily,
    run_models,
    set_run_window,
)
from spotify_agent_assets_tests.dbt.fixtures import (
    ADA,
    BO,
    CY,
    DAYS,
    SYNCED_AT,
    T1,
    T2,
    T3,
    T4,
    TRACKS,
    Event,
    events_table,
    numbered,
    write_tracks,
)

pytestmark = pytest.mark.slow

# The second catalogue sync: T2 was taken down, T1 is now credited to Cy.
CHANGED_AT = dt.datetime(2026, 10, 6, 12, 0, tzinfo=dt.UTC)
BEFORE_CHANGE, AFTER_CHANGE = "2026-10-05", "2026-10-07"


def plays_by_artist(warehouse_rows: list[tuple]) -> dict[tuple[str, str], int]:
    return {(str(day), artist): plays for day, artist, plays in warehouse_rows if plays}


def test_plays_keep_the_artist_their_track_had_when_played(
    dbt_range: Built, tmp_path: Path
) -> None:
    lake, warehouse = copy_lake(dbt_range, tmp_path)
    history_before = {
        table: query(warehouse, f"SELECT * FROM analytics.{table} WHERE date <= '{DAYS[-1]}'")
        for table in DAILY_TABLES
    }
    # dbt_range's snapshot saw the catalogue of SYNCED_AT (T1 by Ada, T2 by Bo). One play of T1
    # and one of T2 on a day before the change, the same after it.
    for day in (BEFORE_CHANGE, AFTER_CHANGE):
        events = numbered(
            [
                Event(day, "L1", T1, "US", 100_000, False, False, "trackdone"),
                Event(day, "L2", T2, "US", 100_000, False, False, "trackdone"),
            ]
        )
        lake.write(events_table(events), "streams", "stream_events", partition_key=day)
    t1_by_cy = {"track_id": T1, "artist_ids": [CY], "primary_artist_id": CY, "duration_ms": 200_000}
    write_tracks(
        lake, [t1_by_cy, *(t for t in TRACKS if t["track_id"] not in (T1, T2))], CHANGED_AT
    )

    models = run_models(warehouse)
    daily = run_daily(warehouse, DAYS[0], AFTER_CHANGE)
    assert models.success and daily.success
    # T2 is gone from the catalogue but not from dim_track: no relationships warning.
    assert failed_checks(models) == failed_checks(daily) == []

    assert query(
        warehouse,
        "SELECT track_id, primary_artist_id, dbt_valid_from, dbt_valid_to "
        "FROM snapshots.track_artist_history ORDER BY track_id, dbt_valid_from",
    ) == [
        (T1, ADA, SYNCED_AT, CHANGED_AT),
        (T1, CY, CHANGED_AT, None),
        (T2, BO, SYNCED_AT, None),  # taken down: its last version stays open
        (T3, ADA, SYNCED_AT, None),
        (T4, BO, SYNCED_AT, None),
    ]
    new_days = "date IN ('2026-10-05', '2026-10-07')"
    expected = {
        (BEFORE_CHANGE, ADA): 1,  # T1 was Ada's then
        (BEFORE_CHANGE, BO): 1,
        (AFTER_CHANGE, CY): 1,  # T1 is Cy's now
        (AFTER_CHANGE, BO): 1,  # T2, taken down: its last known artist
    }

    def attributed() -> dict[str, dict[tuple[str, str], int]]:
        return {
            table: plays_by_artist(
                query(
                    warehouse,
                    f"SELECT date, artist_id, sum(plays)::BIGINT FROM analytics.{table} "
                    f"WHERE {new_days} GROUP BY ALL",
                )
            )
            for table in ("artist_daily_metrics", "market_breakdown")
        }

    assert attributed() == {"artist_daily_metrics": expected, "market_breakdown": expected}
    # The earlier days were played before the first version: still Ada's, nothing restated.
    history = {
        table: query(warehouse, f"SELECT * FROM analytics.{table} WHERE date <= '{DAYS[-1]}'")
        for table in DAILY_TABLES
    }
    assert {t: sorted(rows, key=repr) for t, rows in history.items()} == {
        t: sorted(rows, key=repr) for t, rows in history_before.items()
    }
    assert query(
        warehouse,
        f"SELECT track_id, primary_artist_id, in_catalogue, track_name IS NULL "
        f"FROM analytics.dim_track WHERE track_id IN ('{T1}', '{T2}') ORDER BY track_id",
    ) == [(T1, CY, True, False), (T2, BO, False, True)]
    assert query(
        warehouse, f"SELECT plays FROM analytics.track_performance WHERE track_id = '{T2}'"
    ) == [(sum(e.track_id == T2 for e in _all_fixture_events()) + 2,)]

    # A full rebuild of everything, with a one-day window left set: the snapshot is not
    # rebuilt, so every day comes back with the same artists.
    built = daily_tables(warehouse)
    set_run_window(warehouse, RunWindow(dt.date(2026, 10, 7), dt.date(2026, 10, 7)))
    dbt_cli(warehouse, "build", "--full-refresh")
    assert attributed() == {"artist_daily_metrics": expected, "market_breakdown": expected}
    assert daily_tables(warehouse) == built


def _all_fixture_events() -> list[Event]:
    from spotify_agent_assets_tests.dbt.fixtures import fixture_events

    return [e for events in fixture_events().values() for e in events]


def test_a_full_refresh_rebuilds_every_day_despite_a_run_window(
    dbt_range: Built, tmp_path: Path
) -> None:
    _, warehouse = copy_lake(dbt_range, tmp_path)
    set_run_window(warehouse, RunWindow(dt.date(2026, 10, 3), dt.date(2026, 10, 3)))

    dbt_cli(warehouse, "build", "--full-refresh", "--select", "tag:daily")

    rebuilt = daily_tables(warehouse)
    assert rebuilt == daily_tables(dbt_range.warehouse)
    assert {str(row[0]) for row in rebuilt["fct_streams_daily"]} == set(DAYS)


def test_is_complete_is_false_for_the_utc_day_in_progress_only(
    dbt_base: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake, warehouse = copy_lake(dbt_base, tmp_path)
    today = dt.datetime.now(dt.UTC).date()
    yesterday = today - dt.timedelta(days=1)
    for day in (yesterday, today):
        events = numbered([Event(day.isoformat(), "L1", T1, "US", 100_000, None, None, None)])
        lake.write(events_table(events), "streams", "stream_events", partition_key=str(day))
    # UTC+14: the session's current_date is already tomorrow from 10:00 UTC on, so a model
    # comparing with current_date would call today's rows complete.
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")

    assert run_daily(warehouse, yesterday.isoformat(), today.isoformat()).success

    built_on = dt.datetime.now(dt.UTC).date()  # a run across midnight UTC completes today too
    for table in DAILY_TABLES:
        flags = dict(query(warehouse, f"SELECT DISTINCT date, is_complete FROM analytics.{table}"))
        assert flags == {yesterday: True, today: today < built_on}, table
