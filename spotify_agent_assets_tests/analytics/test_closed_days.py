"""Closed days only: a day in progress (cut to 40% of its plays) makes no incident and changes no
trend, because the analytics are computed as of the last complete day.

The same inputs read without ``as_of`` show what the partial day would do: the test bites.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from spotify_agent_assets.analytics.anomalies import streaming_anomalies
from spotify_agent_assets.analytics.trends import artist_trends
from spotify_agent_assets_tests.analytics.sample_tables import (
    SampleTables,
    with_partial_last_day,
    without_last_day,
)


@pytest.fixture(scope="module")
def partial(sample_tables: SampleTables) -> SampleTables:
    return with_partial_last_day(sample_tables, share=0.4)


@pytest.fixture(scope="module")
def day_before(sample_tables: SampleTables) -> SampleTables:
    return without_last_day(sample_tables)


def _last_complete_day(tables: SampleTables) -> date:
    metrics = tables.artist_daily_metrics
    return pc.max(metrics.filter(metrics["is_complete"])["date"]).as_py()


def _anomalies(tables: SampleTables, **window) -> pa.Table:
    return streaming_anomalies(
        tables.artist_daily_metrics, tables.fct_streams_daily, tables.dim_track, **window
    )


def test_the_partial_day_is_not_complete_and_really_is_cut(partial, sample_tables):
    last = pc.max(partial.artist_daily_metrics["date"]).as_py()
    assert last == date(2026, 10, 31) and _last_complete_day(partial) == date(2026, 10, 30)
    full = sample_tables.artist_daily_metrics.filter(
        pc.equal(sample_tables.artist_daily_metrics["date"], pa.scalar(last))
    )
    cut = partial.artist_daily_metrics.filter(
        pc.equal(partial.artist_daily_metrics["date"], pa.scalar(last))
    )
    share = pc.sum(cut["streams"]).as_py() / pc.sum(full["streams"]).as_py()
    assert share == pytest.approx(0.4, abs=0.01)


def test_a_partial_current_day_makes_no_incident(partial, day_before):
    as_of = _last_complete_day(partial)
    assert _anomalies(partial, as_of=as_of).equals(_anomalies(day_before))

    # Scored as if complete, the cut day is a drop of many artists at once.
    naive = _anomalies(partial)
    last_day = naive.filter(pc.equal(naive["date"], pa.scalar(date(2026, 10, 31))))
    kinds = Counter((r["level"], r["direction"]) for r in last_day.to_pylist())
    print("incidents the partial day would make:", dict(kinds))
    assert kinds["artist", "down"] >= 10


def test_a_partial_current_day_changes_no_trend(partial, day_before):
    as_of = _last_complete_day(partial)
    trends = artist_trends(partial.artist_daily_metrics, as_of=as_of)
    assert trends.equals(artist_trends(day_before.artist_daily_metrics))
    assert pc.max(trends["date"]).as_py() == as_of

    # Computed through the cut day, a third of the artists would turn to "falling".
    naive = artist_trends(partial.artist_daily_metrics)
    statuses = Counter(
        r["trend_status"] for r in naive.to_pylist() if r["date"] == date(2026, 10, 31)
    )
    before = Counter(r["trend_status"] for r in trends.to_pylist() if r["date"] == as_of)
    print(f"statuses on the partial day: {dict(statuses)}; on the day before: {dict(before)}")
    assert statuses["falling"] >= before["falling"] + 5
