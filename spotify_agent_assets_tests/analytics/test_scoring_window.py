"""Bounded work: which days a run computes and reads does not grow with history."""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa
import pytest

from spotify_agent_assets.analytics.scoring_window import merge_rows, scoring_window
from spotify_agent_assets.analytics.tables import ARTIST_TRENDS
from spotify_agent_assets.lake.table_contract import arrow_schema

AS_OF = date(2026, 10, 31)


@pytest.mark.parametrize("history_days", [90, 365, 3650])
def test_an_hourly_run_reads_the_same_days_whatever_the_history(history_days: int):
    first_day = AS_OF - timedelta(days=history_days - 1)
    # The previous run was an hour ago: same as_of. The last 7 days, plus 56 before them.
    window = scoring_window(AS_OF, first_day, AS_OF, lookback_days=56)
    assert window.score_from == AS_OF - timedelta(days=6)
    assert (window.scored_days, window.read_days) == (7, 63)


def test_days_missed_since_the_previous_run_are_computed_and_a_first_run_computes_all():
    first_day = date(2025, 1, 1)
    missed = scoring_window(AS_OF, first_day, AS_OF - timedelta(days=20), lookback_days=56)
    assert missed.score_from == AS_OF - timedelta(days=19)
    assert missed.read_from == missed.score_from - timedelta(days=56)
    late = scoring_window(
        AS_OF, None, AS_OF, lookback_days=56, rebuilt_from=AS_OF - timedelta(days=21)
    )
    assert late.score_from == AS_OF - timedelta(days=21)  # a late file three weeks back
    assert late.read_days == 22 + 56
    first = scoring_window(AS_OF, first_day, None, lookback_days=56)
    assert (first.score_from, first.read_from) == (first_day, first_day)
    young = scoring_window(AS_OF, AS_OF - timedelta(days=3), AS_OF, lookback_days=28)
    assert young.score_from == young.read_from == AS_OF - timedelta(days=3)
    with pytest.raises(ValueError, match="after as_of"):
        scoring_window(AS_OF, AS_OF + timedelta(days=1), None, lookback_days=28)
    with pytest.raises(ValueError, match="needs the data's first_day"):
        scoring_window(AS_OF, None, None, lookback_days=28)
    # A later run does not look the first day up: nothing clips the read, it finds what exists.
    later = scoring_window(AS_OF, None, AS_OF, lookback_days=28)
    assert (later.scored_days, later.read_days) == (7, 35)


def _trend_rows(days: list[date], streams: int) -> pa.Table:
    schema = arrow_schema(ARTIST_TRENDS)
    rows = [
        {
            "artist_id": "a",
            "date": day,
            "streams": streams,
            "breakout_signal": False,
            "is_breakout": False,
            "trend_status": "steady",
        }
        for day in days
    ]
    return pa.Table.from_pylist(rows, schema=schema)


def test_stored_rows_before_the_window_are_kept_and_the_rest_replaced():
    days = [AS_OF - timedelta(days=i) for i in range(10, -1, -1)]
    stored = _trend_rows(days[:-1], streams=1)  # as the previous run left them
    computed = _trend_rows(days[-7:], streams=2)
    merged = merge_rows(ARTIST_TRENDS, stored, computed, score_from=days[-7])
    assert merged.column("date").to_pylist() == days
    assert merged.column("streams").to_pylist() == [1] * 4 + [2] * 7
    assert merge_rows(ARTIST_TRENDS, None, computed, days[-7]).equals(computed)
