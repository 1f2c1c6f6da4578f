"""Artist trends: the growth formulas on series built to known answers, and breakout detection
on the sample world (its breakout artist on its exact day, no other artist)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pyarrow as pa
import pytest

from spotify_agent_assets.analytics.tables import ARTIST_TRENDS
from spotify_agent_assets.analytics.trends import TREND_STATUSES, artist_trends
from spotify_agent_assets.lake.table_contract import arrow_schema
from spotify_agent_assets.sample_world.world import GroundTruthEvent
from spotify_agent_assets_tests.analytics.synthetic import (
    MONDAY,
    metrics_frame,
    steady_followers,
)


def _rows(table: pa.Table, artist_id: str) -> dict[date, dict]:
    return {r["date"]: r for r in table.to_pylist() if r["artist_id"] == artist_id}


# ---- the sample world ---------------------------------------------------------------------


def test_breakout_artist_detected_on_its_breakout_day(
    trends: pa.Table, planted: dict[str, GroundTruthEvent]
):
    breakout = planted["breakout"]
    rows = _rows(trends, breakout.artist_id)
    flagged = sorted(day for day, row in rows.items() if row["is_breakout"])
    print(f"breakout artist flagged on {len(flagged)} days: {flagged[0]} .. {flagged[-1]}")
    # Tolerance: none. The day itself is the first flagged day, nothing before it.
    assert flagged[0] == breakout.day == date(2026, 10, 20)
    assert {row["breakout_day"] for day, row in rows.items() if day >= breakout.day} == {
        breakout.day
    }
    assert {row["breakout_day"] for day, row in rows.items() if day < breakout.day} == {None}
    assert rows[breakout.day]["streams_z"] >= 4 and rows[breakout.day]["follower_z"] >= 4
    assert rows[max(rows)]["trend_status"] == "breakout"


def test_no_other_artist_breaks_out(trends: pa.Table, planted: dict[str, GroundTruthEvent]):
    """False positive: any other artist with a breakout day. The spike artist (a one-day burst
    of artificial streams without followers) and the follower-drop artist are among them."""
    flagged = {
        r["artist_name"]
        for r in trends.to_pylist()
        if r["is_breakout"] and r["artist_id"] != planted["breakout"].artist_id
    }
    false_positives = len(flagged)
    artists = len(set(trends.column("artist_id").to_pylist()))
    print(f"breakout false positives: {false_positives} of {artists - 1} other artists {flagged}")
    assert false_positives == 0
    spike = planted["streaming_spike"]
    spike_day = _rows(trends, spike.artist_id)[spike.day]
    assert spike_day["streams_z"] >= 10  # a huge stream signal ...
    assert not spike_day["breakout_signal"]  # ... that no follower growth supports


def test_one_row_per_input_row_with_the_contract_schema(sample_tables, trends: pa.Table):
    assert trends.schema.equals(arrow_schema(ARTIST_TRENDS))
    assert trends.num_rows == sample_tables.artist_daily_metrics.num_rows
    keys = set(
        zip(trends.column("artist_id").to_pylist(), trends.column("date").to_pylist(), strict=True)
    )
    assert len(keys) == trends.num_rows
    assert set(trends.column("trend_status").to_pylist()) <= set(TREND_STATUSES)


def test_growth_28d_uses_the_available_weeks_with_a_month_of_history(trends: pa.Table):
    """30 days of history: a 14-day window from day 28 on, NULL before."""
    by_day: dict[date, set] = {}
    for row in trends.to_pylist():
        by_day.setdefault(row["date"], set()).add(row["growth_28d_window_days"])
    first = min(by_day)
    assert by_day[first + timedelta(days=26)] == {None}
    assert by_day[first + timedelta(days=27)] == {14}
    assert by_day[max(by_day)] == {14}


# ---- formulas on known series -------------------------------------------------------------


def test_growth_momentum_and_follower_growth_formulas():
    # 14 days at 100 a day, then 200 a day; followers +1% a day.
    streams = [100.0] * 14 + [200.0] * 56
    followers = steady_followers(70, start=10_000, daily=0.01)
    table = artist_trends(metrics_frame({"a": streams}, {"a": followers}))
    rows = _rows(table, "a")
    day = lambda i: MONDAY + timedelta(days=i)  # noqa: E731

    assert rows[day(12)]["growth_7d"] is None  # 13 days of history: no earlier week
    assert rows[day(13)]["growth_7d"] == pytest.approx(0.0)
    assert rows[day(20)]["streams_7d"] == 1400
    assert rows[day(20)]["growth_7d"] == pytest.approx(1.0)
    assert rows[day(26)]["growth_28d"] is None  # 27 days: only one week fits twice
    # Day 27 (28 days of history): the last 14 days against the 14 before.
    assert rows[day(27)]["growth_28d_window_days"] == 14
    assert rows[day(27)]["streams_28d"] == 2800
    assert rows[day(27)]["growth_28d"] == pytest.approx(1.0)
    # The last week did not grow while the 14-day trend doubled: decelerating.
    assert rows[day(27)]["momentum"] == pytest.approx(0.0 - (2**0.5 - 1), abs=1e-6)
    # 56 days of history: full 28-day windows (days 28..55 against 0..27).
    assert rows[day(55)]["growth_28d_window_days"] == 28
    assert rows[day(55)]["growth_28d"] == pytest.approx(5600 / 4200 - 1)
    assert rows[day(1)]["follower_growth_1d"] == pytest.approx(0.01, abs=1e-3)
    assert rows[day(7)]["follower_growth_7d"] == pytest.approx(1.01**7 - 1, abs=1e-3)
    assert rows[day(0)]["follower_growth_1d"] is None
    assert rows[day(20)]["trend_status"] == "rising"
    assert rows[day(40)]["trend_status"] == "steady"


def test_a_missing_day_makes_its_windows_null_not_a_drop():
    frame = metrics_frame({"a": [100.0] * 30})
    frame = frame[frame["date"] != MONDAY + timedelta(days=20)]
    rows = _rows(artist_trends(frame), "a")
    assert rows[MONDAY + timedelta(days=19)]["growth_7d"] == pytest.approx(0.0)
    for offset in (21, 26):  # windows reaching day 20
        assert rows[MONDAY + timedelta(days=offset)]["streams_7d"] is None
        assert rows[MONDAY + timedelta(days=offset)]["growth_7d"] is None
    assert rows[MONDAY + timedelta(days=29)]["streams_7d"] == 700


def _surge(days: int, surge_days: list[int], follower_jump_days: list[int]) -> pa.Table:
    streams = [1000.0] * days
    for d in surge_days:
        streams[d] = 3000.0
    followers = steady_followers(days)
    for d in follower_jump_days:  # a jump lifts every later count too
        followers = followers[:d] + [round(f * 1.2) for f in followers[d:]]
    return artist_trends(metrics_frame({"a": streams}, {"a": followers}))


def test_breakout_needs_two_signal_days_in_three():
    one_day = _surge(40, surge_days=[30], follower_jump_days=[30])
    assert one_day.column("breakout_signal").to_pylist().count(True) == 1
    assert not any(one_day.column("is_breakout").to_pylist())

    gap_day = _surge(40, surge_days=[30, 32], follower_jump_days=[30])
    flagged = [r["date"] for r in gap_day.to_pylist() if r["is_breakout"]]
    assert flagged == [MONDAY + timedelta(days=30), MONDAY + timedelta(days=32)]
    breakout_days = gap_day.column("breakout_day").to_pylist()
    assert breakout_days[29] is None  # the first is_breakout day within 28 days, none yet
    assert breakout_days[30] == breakout_days[-1] == MONDAY + timedelta(days=30)


def test_breakout_needs_follower_growth():
    streams_only = _surge(40, surge_days=list(range(30, 40)), follower_jump_days=[])
    assert not any(streams_only.column("breakout_signal").to_pylist())
    with_followers = _surge(40, surge_days=list(range(30, 40)), follower_jump_days=[29])
    # The follower jump a day before the streams still counts (3-day look-back).
    assert with_followers.column("breakout_day").to_pylist()[-1] == MONDAY + timedelta(days=30)


def test_artist_without_follower_snapshots_gets_null_follower_figures():
    table = artist_trends(metrics_frame({"a": [100.0] * 20}, {"a": [None] * 20}))
    assert set(table.column("follower_z").to_pylist()) == {None}
    assert not any(table.column("is_breakout").to_pylist())


def test_inputs_that_cannot_be_placed_are_refused():
    frame = metrics_frame({"a": [1.0, 2.0]})
    with pytest.raises(ValueError, match="more than one row for artist a"):
        artist_trends(pd.concat([frame, frame.iloc[:1]], ignore_index=True))
    with pytest.raises(ValueError, match="lacks column"):
        artist_trends(frame.drop(columns="followers"))
    assert artist_trends(frame.iloc[:0]).num_rows == 0
