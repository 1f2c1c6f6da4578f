"""The dbt models on the fixture lake: exact numbers, by hand for 2026-10-04 and from the plain
Python versions in fixtures.py for every row."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from spotify_agent_assets.defs.analytics.dbt_assets import DBT_PROJECT_DIR
from spotify_agent_assets_tests.dbt.conftest import (
    ANALYTICS_TABLES,
    Built,
    failed_checks,
    query,
)
from spotify_agent_assets_tests.dbt.fixtures import (
    ADA,
    BO,
    CY,
    DAYS,
    T1,
    T2,
    T3,
    T4,
    expected_artist_daily_metrics,
    expected_fct_streams_daily,
    expected_market_breakdown,
    expected_track_performance,
    fixture_events,
)

pytestmark = pytest.mark.slow

OCT_4 = dt.date(2026, 10, 4)
ALL_EVENTS = [e for events in fixture_events().values() for e in events]


def rows(built: Built, sql: str) -> set[tuple]:
    return set(query(built.warehouse, sql))


def approx_rows(values: set[tuple]) -> list[tuple]:
    """Rows sorted, floats rounded: DuckDB and Python may differ in the last bit of a ratio."""
    rounded = [tuple(round(v, 12) if isinstance(v, float) else v for v in r) for r in values]
    return sorted(rounded, key=repr)


def test_models_land_in_the_staging_and_analytics_schemas(dbt_range: Built) -> None:
    tables = rows(
        dbt_range,
        "SELECT table_schema, table_name, table_type FROM information_schema.tables "
        "WHERE table_schema IN ('staging', 'analytics')",
    )
    assert tables == {
        ("staging", name, "VIEW")
        for name in (
            "stg_stream_events",
            "stg_tracks",
            "stg_albums",
            "stg_artists",
            "stg_artist_snapshots",
        )
    } | {("analytics", name, "BASE TABLE") for name in ANALYTICS_TABLES}
    assert rows(
        dbt_range,
        "SELECT table_schema, table_name, table_type FROM information_schema.tables "
        "WHERE table_schema IN ('intermediate', 'snapshots')",
    ) == {
        ("intermediate", "int_stream_events_attributed", "VIEW"),
        ("intermediate", "int_track_completions_daily", "BASE TABLE"),
        ("intermediate", "int_track_listener_first_seen", "BASE TABLE"),
        ("snapshots", "track_artist_history", "BASE TABLE"),
    }
    # dbt writes the warehouse only; the lake IO manager never sees a dbt output.
    assert sorted(p.name for p in Path(dbt_range.warehouse.lake.root).iterdir()) == [
        "spotify",
        "spotify_history",
        "streams",
    ]


def test_fct_streams_daily_by_hand_for_the_hand_written_day(dbt_range: Built) -> None:
    got = rows(
        dbt_range,
        "SELECT * EXCLUDE (date) FROM analytics.fct_streams_daily WHERE date = '2026-10-04'",
    )
    # track, country, plays, streams (>= 30 s), skips, skip_known_plays, listening_ms,
    # listeners, shuffle_plays, shuffle_known_plays, is_complete
    assert got == {
        (T1, "US", 2, 1, 1, 2, 210_000, 2, 1, 2, True),
        # NULL country; exactly 30 s is a stream; NULL skipped/shuffle are not known plays
        (T1, "ZZ", 1, 1, 0, 0, 30_000, 1, 0, 0, True),
        (T2, "GB", 1, 0, 1, 1, 29_999, 1, 1, 1, True),  # 29.999 s is not
        (T4, "GB", 1, 1, 0, 1, 150_000, 1, 0, 1, True),
    }


def test_fct_streams_daily_matches_plain_python(dbt_range: Built) -> None:
    got = rows(dbt_range, "SELECT * FROM analytics.fct_streams_daily")
    assert got == expected_fct_streams_daily(ALL_EVENTS)
    assert {r[0] for r in got} == {dt.date.fromisoformat(d) for d in DAYS}


def test_artist_daily_metrics_by_hand_for_the_hand_written_day(dbt_range: Built) -> None:
    got = rows(
        dbt_range,
        "SELECT artist_id, artist_name, plays, streams, unique_listeners, listening_ms, skips, "
        "skip_known_plays, skip_rate, followers, popularity FROM analytics.artist_daily_metrics "
        "WHERE date = '2026-10-04'",
    )
    # No snapshot that day: followers and popularity are NULL. T2 (Bo feat. Ada) counts for Bo,
    # T4 (no primary_artist_id) for its first artist Bo; Cy had no plays but still has a row.
    # Ada's third play did not report skipped: her skip rate is 1 of 2, not 1 of 3.
    assert got == {
        (ADA, "Ada Lake", 3, 2, 2, 240_000, 1, 2, 0.5, None, None),
        (BO, "Bo Rivers", 2, 1, 2, 179_999, 1, 2, 0.5, None, None),
        (CY, "Cy Moss", 0, 0, 0, 0, 0, 0, None, None, None),
    }


def test_artist_daily_metrics_matches_plain_python(dbt_range: Built) -> None:
    got = rows(dbt_range, "SELECT * FROM analytics.artist_daily_metrics")
    assert approx_rows(got) == approx_rows(expected_artist_daily_metrics(ALL_EVENTS))
    # Snapshot values of the row's own day.
    assert rows(
        dbt_range,
        "SELECT date, followers, popularity FROM analytics.artist_daily_metrics "
        f"WHERE artist_id = '{ADA}'",
    ) == {
        (dt.date(2026, 10, 2), 900, 48),
        (dt.date(2026, 10, 3), 950, 49),
        (OCT_4, None, None),
    }


def test_artist_daily_metrics_has_the_columns_downstream_code_reads(dbt_range: Built) -> None:
    columns = query(
        dbt_range.warehouse,
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'analytics' AND table_name = 'artist_daily_metrics' "
        "ORDER BY ordinal_position",
    )
    assert columns == [
        ("date", "DATE"),
        ("artist_id", "VARCHAR"),
        ("artist_name", "VARCHAR"),
        ("plays", "BIGINT"),
        ("streams", "BIGINT"),
        ("unique_listeners", "BIGINT"),
        ("listening_ms", "BIGINT"),
        ("skips", "BIGINT"),
        ("skip_known_plays", "BIGINT"),
        ("skip_rate", "DOUBLE"),
        ("followers", "BIGINT"),
        ("popularity", "BIGINT"),
        ("is_complete", "BOOLEAN"),
    ]


def test_market_breakdown_by_hand_and_from_plain_python(dbt_range: Built) -> None:
    assert rows(
        dbt_range,
        "SELECT * EXCLUDE (date, is_complete) FROM analytics.market_breakdown "
        "WHERE date = '2026-10-04'",
    ) == {
        # artist, country, plays, streams, listeners, listening_ms, share_of_artist_streams
        (ADA, "US", 2, 1, 2, 210_000, 0.5),
        (ADA, "ZZ", 1, 1, 1, 30_000, 0.5),
        (BO, "GB", 2, 1, 2, 179_999, 1.0),
    }
    got = rows(dbt_range, "SELECT * FROM analytics.market_breakdown")
    assert approx_rows(got) == approx_rows(expected_market_breakdown(ALL_EVENTS))
    # Markets add up to the artist's day.
    assert (
        rows(
            dbt_range,
            "SELECT m.date, m.artist_id, sum(m.streams), any_value(a.streams) "
            "FROM analytics.market_breakdown m JOIN analytics.artist_daily_metrics a "
            "USING (date, artist_id) GROUP BY ALL HAVING sum(m.streams) <> any_value(a.streams)",
        )
        == set()
    )


def test_track_performance_matches_plain_python(dbt_range: Built) -> None:
    names = [
        "track_id",
        "plays",
        "streams",
        "listeners",
        "listening_ms",
        "skips",
        "skip_known_plays",
        "skip_rate",
        "completion_rate",
        "first_play_date",
        "last_play_date",
        "active_days",
        "rank_by_streams",
    ]
    got = {
        r[0]: dict(zip(names[1:], r[1:], strict=True))
        for r in query(
            dbt_range.warehouse, f"SELECT {', '.join(names)} FROM analytics.track_performance"
        )
    }
    expected = expected_track_performance(ALL_EVENTS)
    assert set(got) == {T1, T2, T3, T4}
    for track_id, values in expected.items():
        for name, value in values.items():
            assert got[track_id][name] == pytest.approx(value), (track_id, name)
    # Never played: zeros, no rates, last rank.
    assert got[T3] | {"rank_by_streams": None} == {
        "plays": 0,
        "streams": 0,
        "listeners": 0,
        "listening_ms": 0,
        "skips": 0,
        "skip_known_plays": 0,
        "skip_rate": None,
        "completion_rate": None,
        "first_play_date": None,
        "last_play_date": None,
        "active_days": 0,
        "rank_by_streams": None,
    }
    assert got[T3]["rank_by_streams"] == 4


def test_dimensions(dbt_range: Built) -> None:
    # Followers/popularity: Ada's latest snapshot (10-03), Bo's (10-02), Cy's profile.
    assert rows(
        dbt_range,
        "SELECT artist_id, artist_name, followers, popularity, snapshot_date FROM analytics.dim_artist",
    ) == {
        (ADA, "Ada Lake", 950, 49, dt.date(2026, 10, 3)),
        (BO, "Bo Rivers", 1900, 58, dt.date(2026, 10, 2)),
        (CY, "Cy Moss", 300, 10, None),
    }
    assert rows(
        dbt_range,
        "SELECT track_id, primary_artist_id, primary_artist_name FROM analytics.dim_track",
    ) == {
        (T1, ADA, "Ada Lake"),
        (T2, BO, "Bo Rivers"),
        (T3, ADA, "Ada Lake"),
        (T4, BO, "Bo Rivers"),  # no primary_artist_id stored: the first of artist_ids
    }


def test_dbt_tests_are_asset_checks_and_pass(dbt_base: Built, dbt_range: Built) -> None:
    for built in (dbt_base, dbt_range):
        assert built.result.success
        assert failed_checks(built.result) == []
    checks = {
        (c.asset_key.path[-1], c.check_name)
        for built in (dbt_base, dbt_range)
        for c in built.result.get_asset_check_evaluations()
    }
    assert {
        (
            "fct_streams_daily",
            "unique_combination_of_columns_fct_streams_daily_date__track_id__country",
        ),
        ("fct_streams_daily", "relationships_fct_streams_daily_track_id__track_id__ref_dim_track_"),
        (
            "artist_daily_metrics",
            "relationships_artist_daily_metrics_artist_id__artist_id__ref_dim_artist_",
        ),
        ("track_artist_history", "track_artist_history_versions_are_contiguous"),
        ("dim_track", "unique_dim_track_track_id"),
    } <= checks
    assert len(checks) == 47


def test_materializations_carry_row_counts(dbt_base: Built, dbt_range: Built) -> None:
    counts = {
        (e.asset_key.path[-1], e.partition): e.step_materialization_data.materialization.metadata
        for built in (dbt_base, dbt_range)
        for e in built.result.get_asset_materialization_events()
    }
    assert counts[("dim_artist", None)]["dagster/row_count"].value == 3
    assert counts[("dim_track", None)]["dagster/row_count"].value == 4
    assert "dagster/row_count" not in counts[("stg_stream_events", None)]  # a view
    # A three-day run: the window's rows, not one partition's.
    daily = counts[("artist_daily_metrics", "2026-10-03")]
    assert daily["rows_in_run_window"].value == 9
    assert "dagster/row_count" not in daily
    assert {p for (key, p) in counts if key == "fct_streams_daily"} == set(DAYS)


def test_successful_runs_leave_no_dbt_target_folder_behind(dbt_base: Built) -> None:
    target = DBT_PROJECT_DIR / "target"
    run_ids = {dbt_base.result.run_id[:7]}
    assert [p.name for p in target.iterdir() if any(r in p.name for r in run_ids)] == []
