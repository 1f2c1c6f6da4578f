"""The weekly artist report: the right week and figures, escaping, deterministic charts."""

from __future__ import annotations

import re
import struct
import zlib
from datetime import date, timedelta

import pandas as pd
import pyarrow as pa
import pytest

from spotify_agent_assets.analytics.anomalies import streaming_anomalies
from spotify_agent_assets.analytics.charts import MarkedDay, daily_streams_chart
from spotify_agent_assets.analytics.report import (
    FOLLOWERS_CHART,
    STREAMS_CHART,
    ReportWeek,
    WeeklyReport,
    weekly_artist_report,
)
from spotify_agent_assets.analytics.report_pages import markdown_escape
from spotify_agent_assets.analytics.trends import artist_trends
from spotify_agent_assets.sample_world.world import GroundTruthEvent
from spotify_agent_assets_tests.analytics.synthetic import metrics_frame, steady_followers

HOSTILE_NAME = 'DJ <script>alert("x")</script> | *bold* & [link](http://e.vil)'


def _png_chunks(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks.append(kind)
        offset += 12 + length
    return chunks


def test_week_is_the_iso_week_of_the_latest_day_compared_with_the_same_days_before():
    week = ReportWeek.ending_on(date(2026, 10, 31))  # a Saturday
    assert (week.label, week.start, week.end, week.days) == (
        "2026-W44",
        date(2026, 10, 26),
        date(2026, 10, 31),
        6,
    )
    assert (week.previous_start, week.previous_end) == (date(2026, 10, 19), date(2026, 10, 24))
    sunday = ReportWeek.ending_on(date(2027, 1, 3))  # ISO week 53 of 2026
    assert (sunday.label, sunday.days) == ("2026-W53", 7)


def test_sample_world_report_covers_every_artist_with_the_right_figures(
    weekly_report: WeeklyReport, sample_tables, planted: dict[str, GroundTruthEvent]
):
    assert weekly_report.week.label == "2026-W44"
    metrics = sample_tables.artist_daily_metrics.to_pandas()
    assert [a.artist_id for a in weekly_report.artists] == sorted(metrics["artist_id"].unique())

    breakout = planted["breakout"]
    report = next(a for a in weekly_report.artists if a.artist_id == breakout.artist_id)
    own = metrics[metrics["artist_id"] == breakout.artist_id]
    week = own[own["date"] >= date(2026, 10, 26)]
    before = own[(own["date"] >= date(2026, 10, 19)) & (own["date"] <= date(2026, 10, 24))]
    assert report.streams == week["streams"].sum()
    assert report.streams_change == pytest.approx(
        week["streams"].sum() / before["streams"].sum() - 1
    )
    assert report.trend_status == "breakout"
    assert f"| Streams | {week['streams'].sum():,} | {before['streams'].sum():,} |" in (
        report.markdown
    )
    assert "first breakout day 2026-10-20" in report.markdown
    followers_change = int(week["followers"].iloc[-1] - before["followers"].iloc[-1])
    assert f"{followers_change:+,}" in report.markdown
    assert "## Top tracks" in report.markdown and "| US |" in report.markdown
    # The breakout was one incident, on 2026-10-20 (the week before): none this week.
    assert report.anomalies == 0 and "## Incidents this week\n\nNone." in report.markdown
    assert set(report.charts) == {STREAMS_CHART, FOLLOWERS_CHART}
    assert report.html.count("data:image/png;base64,") == 2  # self-contained


def test_summary_embeds_the_breakout_artists_chart(weekly_report: WeeklyReport):
    summary = weekly_report.summary_markdown(top=5)
    assert summary.count("\n| ") == 6  # header + 5 artists
    assert "Daily streams of Luca Bellandi" in summary
    assert re.search(r"!\[daily streams\]\(data:image/png;base64,[A-Za-z0-9+/=]{1000,}\)", summary)


def _small_world(name: str) -> tuple[pd.DataFrame, pa.Table, pa.Table]:
    streams = [100.0 + (i % 7) * 5 for i in range(35)]
    streams[31] = 900.0
    metrics = metrics_frame(
        {"hostile": streams}, {"hostile": steady_followers(35)}, names={"hostile": name}
    )
    return metrics, artist_trends(metrics), streaming_anomalies(metrics)


def test_names_are_escaped_in_html_and_markdown():
    metrics, trends, anomalies = _small_world(HOSTILE_NAME)
    tracks = pa.table(
        {
            "track_id": ["t1"],
            "track_name": ["<img src=x onerror=alert(1)>"],
            "primary_artist_id": ["hostile"],
        }
    )
    facts = pd.DataFrame(
        {"date": metrics["date"], "track_id": "t1", "country": "SE", "streams": metrics["streams"]}
    )
    (report,) = weekly_artist_report(metrics, trends, anomalies, facts, tracks).artists
    assert report.artist_name == HOSTILE_NAME
    for page in (report.html, report.markdown):
        assert "<script>" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert" in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert (
        "<title>Weekly report: DJ &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in report.html
    )
    # In Markdown the name cannot open a table cell, emphasis or a link either.
    assert r"\| \*bold\* &amp; \[link\](http://e.vil)" in report.markdown
    assert "| 1 | &lt;img src=x onerror=alert(1)&gt; |" in report.markdown
    assert markdown_escape("a\nb|c") == r"a b\|c"


def test_report_and_charts_are_byte_for_byte_reproducible():
    metrics, trends, anomalies = _small_world("Same Twice")
    first = weekly_artist_report(metrics, trends, anomalies).artists[0]
    second = weekly_artist_report(metrics, trends, anomalies).artists[0]
    assert first.markdown == second.markdown and first.html == second.html
    assert first.charts == second.charts
    for png in first.charts.values():
        chunks = _png_chunks(png)
        # No text chunk (matplotlib's Software/version) and no time chunk in the file.
        assert not {b"tEXt", b"iTXt", b"zTXt", b"tIME"} & set(chunks)
    day = date(2026, 1, 5)
    days = [day + timedelta(days=i) for i in range(28)]
    marked = daily_streams_chart(days, [100.0] * 28, [MarkedDay(days[3], 100.0, "spike")])
    assert marked != daily_streams_chart(days, [100.0] * 28)  # the mark is drawn


def test_spike_of_the_small_world_is_reported_and_marked():
    metrics, trends, anomalies = _small_world("Spiky")
    assert anomalies.num_rows == 1
    (report,) = weekly_artist_report(metrics, trends, anomalies).artists
    assert report.anomalies == 1
    assert "| 2026-02-05 | artist | Spiky | spike (up) | 900 |" in report.markdown


def test_an_incomplete_previous_week_shows_no_change():
    metrics, trends, anomalies = _small_world("Young")
    third_week = date(2026, 1, 18)  # Sunday of the third week; the second is complete
    (report,) = weekly_artist_report(metrics, trends, anomalies, as_of=third_week).artists
    assert report.streams_change is not None
    metrics = metrics[metrics["date"] >= date(2026, 1, 7)]  # now 5 of the second week's days
    (report,) = weekly_artist_report(
        metrics, artist_trends(metrics), anomalies, as_of=third_week
    ).artists
    assert report.streams_change is None
    assert "has data for 5 of its 7 days only, so no changes are shown" in report.markdown
    assert re.search(r"\| Streams \| [\d,]+ \| n/a \| n/a \|", report.markdown)


def test_missing_track_data_is_said_not_guessed():
    metrics, trends, anomalies = _small_world("No Tracks")
    (report,) = weekly_artist_report(metrics, trends, anomalies).artists
    assert "Track data was not given." in report.markdown
    assert "Market data was not given." in report.markdown
    with pytest.raises(ValueError, match="artist_daily_metrics is empty"):
        weekly_artist_report(metrics.iloc[:0], trends, anomalies)
