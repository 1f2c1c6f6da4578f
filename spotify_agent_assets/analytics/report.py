"""The weekly artist report: one Markdown and one self-contained HTML page per artist, plus PNGs.

Period: the ISO week holding ``as_of`` (the asset passes the last complete day; the day in
progress is never reported), from its Monday up to that date. When it ends before Sunday the
week is reported to date and compared with the same weekdays one week earlier, so a
Saturday-evening report does not read as a 1/7 drop.

Figures of the week, each against the comparison period: streams; average daily unique
listeners (the daily metrics cannot de-duplicate listeners across days, so a weekly unique
count would be a guess); listening hours; skip rate (skips / plays of the period with a known
skip flag); followers and popularity at the end of each period (last snapshot) and their change. Then the top tracks and
markets (when ``fct_streams_daily`` and ``dim_track`` are given), the trend status of the last
day (from ``artist_trends``), the week's incidents of the artist and of its tracks on their own
(from ``streaming_anomalies``), and two charts over the last 28 days: daily streams with incidents
marked, and followers.

Names are escaped and the pages rendered by ``report_pages``. The output is deterministic: no
clock, sorted iteration, charts without timestamps.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from spotify_agent_assets.analytics.report_pages import (
    Section,
    Table,
    change,
    fmt_abs_and_pct_change,
    fmt_int,
    fmt_one_decimal,
    fmt_pct,
    fmt_pct_change,
    fmt_points_change,
    fmt_rate,
    fmt_signed_int_change,
    markdown_escape,
    period,
    present,
    render_html,
    render_markdown,
)
from spotify_agent_assets.analytics.series import as_frame, latest_value

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

STREAMS_CHART = "streams.png"
FOLLOWERS_CHART = "followers.png"
CHART_DAYS = 28
TOP_TRACKS = 5
TOP_MARKETS = 5
TRACKS_LISTED = 3  # tracks named under an artist incident; the table lists them all


@dataclass(frozen=True)
class ReportWeek:
    """The reported period and the period it is compared with (inclusive dates)."""

    label: str  # ISO week, e.g. "2026-W44"
    start: date
    end: date
    previous_start: date
    previous_end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @staticmethod
    def ending_on(latest: date) -> ReportWeek:
        iso = latest.isocalendar()
        start = latest - timedelta(days=latest.weekday())
        return ReportWeek(
            label=f"{iso.year}-W{iso.week:02d}",
            start=start,
            end=latest,
            previous_start=start - timedelta(days=7),
            previous_end=latest - timedelta(days=7),
        )


@dataclass(frozen=True)
class ArtistReport:
    """One artist's report: the two pages, the charts by file name, and the key figures."""

    artist_id: str
    artist_name: str
    markdown: str
    html: str
    charts: dict[str, bytes]
    streams: int
    streams_change: float | None
    trend_status: str | None
    anomalies: int


@dataclass(frozen=True)
class WeeklyReport:
    """Every artist's report for one week, sorted by artist_id."""

    week: ReportWeek
    artists: list[ArtistReport] = field(default_factory=list)

    def summary_markdown(self, top: int = 10, chart_artist_id: str | None = None) -> str:
        """The top artists of the week as a Markdown table, with one streams chart inline.

        The chart is a ``data:`` URI so the summary shows in a UI that cannot reach the lake;
        it is the chart of ``chart_artist_id`` or, by default, of the artist in breakout with
        the most streams, else the artist with the most streams.
        """
        ranked = sorted(self.artists, key=lambda a: (-a.streams, a.artist_id))
        lines = [
            f"**Week {self.week.label}** ({period(self.week.start, self.week.end)}, "
            f"{self.week.days} of 7 days): {len(self.artists)} artist report(s).",
            "",
            "| artist | streams | change | trend | anomalies |",
            "|---|---:|---:|---|---:|",
        ]
        for report in ranked[:top]:
            lines.append(
                f"| {markdown_escape(report.artist_name)} | {fmt_int(report.streams)} | "
                f"{fmt_pct(report.streams_change)} | {report.trend_status or 'n/a'} | "
                f"{report.anomalies} |"
            )
        featured = _featured(ranked, chart_artist_id)
        if featured is not None and STREAMS_CHART in featured.charts:
            data = base64.b64encode(featured.charts[STREAMS_CHART]).decode()
            lines += [
                "",
                f"Daily streams of {markdown_escape(featured.artist_name)}, last {CHART_DAYS} days:",
                "",
                f"![daily streams](data:image/png;base64,{data})",
            ]
        return "\n".join(lines)


def weekly_artist_report(
    artist_daily_metrics: pa.Table | pd.DataFrame,
    artist_trends: pa.Table | pd.DataFrame,
    streaming_anomalies: pa.Table | pd.DataFrame,
    fct_streams_daily: pa.Table | pd.DataFrame | None = None,
    dim_track: pa.Table | pd.DataFrame | None = None,
    *,
    as_of: date | None = None,
) -> WeeklyReport:
    """Reports for every artist with data in the ISO week of ``as_of`` (default: latest date).

    Rows after ``as_of`` (the day in progress) are ignored.
    """
    metrics = as_frame(
        artist_daily_metrics,
        "artist_daily_metrics",
        [
            "date",
            "artist_id",
            "artist_name",
            "plays",
            "streams",
            "unique_listeners",
            "listening_ms",
            "skips",
            "skip_known_plays",
            "followers",
            "popularity",
        ],
        keys=("date", "artist_id"),
    )
    trends = as_frame(
        artist_trends,
        "artist_trends",
        ["date", "artist_id", "trend_status", "growth_7d", "growth_28d", "momentum"],
        keys=("date", "artist_id"),
    )
    anomalies = as_frame(
        streaming_anomalies,
        "streaming_anomalies",
        [
            "level",
            "entity_id",
            "entity_name",
            "artist_id",
            "date",
            "value",
            "expected",
            "kind",
            "direction",
            "q_value",
            "track_names",
        ],
        keys=("date",),
    )
    if not len(metrics):
        raise ValueError("artist_daily_metrics is empty: there is no week to report on")
    week = ReportWeek.ending_on(as_of or max(metrics["date"]))
    metrics = metrics[metrics["date"] <= week.end]
    anomalies = anomalies[anomalies["date"] <= week.end]
    tracks = _track_weeks(fct_streams_daily, dim_track, week)
    names = latest_value(metrics, "artist_id", "artist_name")
    in_week = metrics[(metrics["date"] >= week.start) & (metrics["date"] <= week.end)]
    reports = [
        _artist_report(
            artist_id,
            str(names.get(artist_id, artist_id)),
            week,
            metrics[metrics["artist_id"] == artist_id],
            trends[trends["artist_id"] == artist_id],
            anomalies[anomalies["artist_id"] == artist_id],
            tracks,
        )
        for artist_id in sorted(in_week["artist_id"].unique())
    ]
    return WeeklyReport(week=week, artists=reports)


@dataclass(frozen=True)
class _TrackWeeks:
    """Track streams of the artist's two periods, by track and by market (None if not given)."""

    by_track: pd.DataFrame | None
    by_market: pd.DataFrame | None


def _track_weeks(
    fct_streams_daily: pa.Table | pd.DataFrame | None,
    dim_track: pa.Table | pd.DataFrame | None,
    week: ReportWeek,
) -> _TrackWeeks:
    if fct_streams_daily is None or dim_track is None:
        return _TrackWeeks(None, None)
    facts = as_frame(
        fct_streams_daily, "fct_streams_daily", ["date", "track_id", "streams"], keys=("date",)
    )
    tracks = as_frame(dim_track, "dim_track", ["track_id", "track_name", "primary_artist_id"])
    facts = facts[(facts["date"] >= week.previous_start) & (facts["date"] <= week.end)].copy()
    facts["period"] = (facts["date"] >= week.start).map({True: "current", False: "previous"})
    facts = facts[(facts["period"] == "current") | (facts["date"] <= week.previous_end)]
    facts = facts.merge(
        tracks[["track_id", "track_name", "primary_artist_id"]], on="track_id", how="inner"
    )
    by_track = (
        facts.groupby(["primary_artist_id", "track_id", "track_name", "period"])["streams"]
        .sum()
        .unstack("period", fill_value=0)
        .reindex(columns=["current", "previous"], fill_value=0)
        .reset_index()
    )
    by_market = None
    if "country" in facts.columns:
        current = facts[facts["period"] == "current"]
        by_market = (
            current.groupby(["primary_artist_id", "country"], dropna=False)["streams"]
            .sum()
            .reset_index()
        )
    return _TrackWeeks(by_track, by_market)


def _artist_report(
    artist_id: str,
    artist_name: str,
    week: ReportWeek,
    metrics: pd.DataFrame,
    trends: pd.DataFrame,
    anomalies: pd.DataFrame,
    tracks: _TrackWeeks,
) -> ArtistReport:
    from spotify_agent_assets.analytics.charts import (
        MarkedDay,
        daily_streams_chart,
        followers_chart,
    )

    current = metrics[(metrics["date"] >= week.start) & (metrics["date"] <= week.end)]
    previous = metrics[
        (metrics["date"] >= week.previous_start) & (metrics["date"] <= week.previous_end)
    ]
    now, before = _figures(current), _figures(previous)
    comparable = now["days"] == before["days"]
    if not comparable:
        # Sums over different numbers of days would read as growth or decline.
        before = dict.fromkeys(before)
    streams_change = change(now["streams"], before["streams"])
    latest_trend = trends[trends["date"] <= week.end].sort_values("date").tail(1)
    trend = latest_trend.iloc[0].to_dict() if len(latest_trend) else {}
    week_anomalies = anomalies[(anomalies["date"] >= week.start) & (anomalies["date"] <= week.end)]
    week_anomalies = week_anomalies.sort_values(["date", "level", "entity_id"])

    chart_days = [week.end - timedelta(days=CHART_DAYS - 1 - i) for i in range(CHART_DAYS)]
    daily = metrics.set_index("date")
    streams_series = [_optional_number(daily, day, "streams") for day in chart_days]
    follower_series = [_optional_number(daily, day, "followers") for day in chart_days]
    artist_level = anomalies[
        (anomalies["level"] == "artist") & anomalies["date"].isin(set(chart_days))
    ]
    marks = [
        MarkedDay(
            day=row.date,
            value=float(row.value),
            direction="spike" if row.direction == "up" else "drop",
        )
        for row in artist_level.sort_values("date").itertuples()
    ]
    charts = {
        STREAMS_CHART: daily_streams_chart(chart_days, streams_series, marks),
        FOLLOWERS_CHART: followers_chart(chart_days, follower_series),
    }

    sections = [
        Section(
            "Summary",
            paragraphs=[
                f"ISO week {week.label}: {period(week.start, week.end)} ({week.days} of 7 "
                f"days), compared with {period(week.previous_start, week.previous_end)}"
                + (
                    "."
                    if comparable
                    else f", which has data for {int(present(previous['date'].nunique()))} "
                    f"of its {week.days} days only, so no changes are shown."
                ),
                _trend_sentence(trend),
            ],
        ),
        Section("This week", table=_kpi_table(now, before)),
        _top_tracks_section(artist_id, tracks, comparable),
        _top_markets_section(artist_id, tracks),
        _anomaly_section(week_anomalies),
        Section(
            f"Last {CHART_DAYS} days",
            images=[
                (STREAMS_CHART, "Daily streams (triangles: artist incidents)"),
                (FOLLOWERS_CHART, "Followers"),
            ],
        ),
    ]
    title = f"Weekly report: {artist_name} ({week.label})"
    return ArtistReport(
        artist_id=artist_id,
        artist_name=artist_name,
        markdown=render_markdown(title, sections),
        html=render_html(title, sections, charts),
        charts=charts,
        streams=int(now["streams"] or 0),
        streams_change=streams_change,
        trend_status=trend.get("trend_status"),
        anomalies=len(week_anomalies),
    )


def _figures(rows: pd.DataFrame) -> dict[str, float | None]:
    """The period's figures; None where the period has no data for them."""
    if not len(rows):
        return dict.fromkeys(
            ("days", "streams", "listeners", "hours", "skip_rate", "followers", "popularity")
        )
    # Over the plays whose skip flag is known: a source without the flag is not "never skipped".
    skip_known = float(rows["skip_known_plays"].sum())
    ordered = rows.sort_values("date")
    followers = ordered["followers"].dropna()
    popularity = ordered["popularity"].dropna()
    return {
        "days": float(rows["date"].nunique()),
        "streams": float(rows["streams"].sum()),
        "listeners": float(rows["unique_listeners"].mean()),
        "hours": float(rows["listening_ms"].sum()) / 3_600_000,
        "skip_rate": float(rows["skips"].sum()) / skip_known if skip_known else None,
        "followers": float(followers.iloc[-1]) if len(followers) else None,
        "popularity": float(popularity.iloc[-1]) if len(popularity) else None,
    }


def _kpi_table(now: dict[str, float | None], before: dict[str, float | None]) -> Table:
    def row(label: str, key: str, fmt: Any, change: Any) -> list[str]:
        return [label, fmt(now[key]), fmt(before[key]), change(now[key], before[key])]

    return Table(
        headers=["metric", "this week", "previous", "change"],
        rows=[
            row("Streams", "streams", fmt_int, fmt_pct_change),
            row("Avg daily listeners", "listeners", fmt_int, fmt_pct_change),
            row("Listening hours", "hours", fmt_one_decimal, fmt_pct_change),
            row("Skip rate", "skip_rate", fmt_rate, fmt_points_change),
            row("Followers (end of period)", "followers", fmt_int, fmt_abs_and_pct_change),
            row("Popularity (end of period)", "popularity", fmt_int, fmt_signed_int_change),
        ],
        numeric=[False, True, True, True],
    )


def _top_tracks_section(artist_id: str, tracks: _TrackWeeks, comparable: bool) -> Section:
    if tracks.by_track is None:
        return Section("Top tracks", paragraphs=["Track data was not given."])
    own = tracks.by_track[tracks.by_track["primary_artist_id"] == artist_id]
    own = own.sort_values(["current", "track_id"], ascending=[False, True]).head(TOP_TRACKS)
    if not len(own):
        return Section("Top tracks", paragraphs=["No streams of the artist's tracks."])
    rows = [
        [
            str(rank),
            str(row.track_name),
            fmt_int(row.current),
            fmt_int(row.previous) if comparable else "n/a",
            fmt_pct_change(row.current, row.previous) if comparable else "n/a",
        ]
        for rank, row in enumerate(own.itertuples(), start=1)
    ]
    return Section(
        "Top tracks",
        table=Table(
            ["#", "track", "streams", "previous", "change"], rows, [True, False, True, True, True]
        ),
    )


def _top_markets_section(artist_id: str, tracks: _TrackWeeks) -> Section:
    if tracks.by_market is None:
        return Section("Top markets", paragraphs=["Market data was not given."])
    own = tracks.by_market[tracks.by_market["primary_artist_id"] == artist_id].copy()
    total = float(own["streams"].sum())
    if not total:
        return Section("Top markets", paragraphs=["No streams this week."])
    own["country"] = own["country"].fillna("unknown")
    own = own.sort_values(["streams", "country"], ascending=[False, True]).head(TOP_MARKETS)
    rows = [
        [str(row.country), fmt_int(row.streams), fmt_rate(float(row.streams) / total)]
        for row in own.itertuples()
    ]
    return Section(
        "Top markets", table=Table(["market", "streams", "share"], rows, [False, True, True])
    )


def _anomaly_section(anomalies: pd.DataFrame) -> Section:
    if not len(anomalies):
        return Section("Incidents this week", paragraphs=["None."])
    rows = [
        [
            row.date.isoformat(),
            str(row.level),
            str(row.entity_name if row.entity_name is not None else row.entity_id),
            f"{row.kind} ({row.direction})",
            fmt_int(row.value),
            fmt_int(row.expected),
            f"{row.q_value:.1e}",
            _track_list(list(row.track_names)),
        ]
        for row in anomalies.itertuples()
    ]
    return Section(
        "Incidents this week",
        paragraphs=[
            "Negative-binomial tests against the trailing 28 days, Benjamini-Hochberg "
            "q <= 0.01 per day; an artist incident lists the tracks that went the same way."
        ],
        table=Table(
            ["date", "level", "artist / track", "kind", "streams", "expected", "q", "tracks"],
            rows,
            [False, False, False, False, True, True, True, False],
        ),
    )


def _track_list(names: list[str]) -> str:
    if len(names) <= TRACKS_LISTED:
        return ", ".join(names)
    return ", ".join(names[:TRACKS_LISTED]) + f" and {len(names) - TRACKS_LISTED} more"


def _trend_sentence(trend: dict[str, Any]) -> str:
    if not trend:
        return "Trend: no trend data for this artist."
    status = str(trend.get("trend_status") or "n/a")
    parts = [f"Trend: {status.replace('_', ' ')}"]
    breakout_day = present(trend.get("breakout_day"))
    if breakout_day is not None:
        parts.append(f"first breakout day {breakout_day}")
    parts.append(f"7-day growth {fmt_pct(present(trend.get('growth_7d')))}")
    growth_28d = present(trend.get("growth_28d"))
    if growth_28d is not None:
        window = present(trend.get("growth_28d_window_days"))
        detail = f" ({int(window)}-day windows)" if window and int(window) != 28 else ""
        parts.append(f"28-day growth {fmt_pct(growth_28d)}{detail}")
        momentum = present(trend.get("momentum"))
        if momentum is not None:
            # A difference of weekly growth rates: percentage points of growth per week.
            parts.append(f"momentum {round(momentum * 100, 1) + 0.0:+.1f} pp/week")
    return "; ".join(parts) + "."


def _featured(ranked: list[ArtistReport], artist_id: str | None) -> ArtistReport | None:
    if artist_id is not None:
        return next((a for a in ranked if a.artist_id == artist_id), None)
    breaking = [a for a in ranked if a.trend_status == "breakout"]
    candidates = breaking or ranked
    return candidates[0] if candidates else None


def _optional_number(daily: pd.DataFrame, day: date, column: str) -> float | None:
    if day not in daily.index:
        return None
    value = present(daily.at[day, column])
    return None if value is None else float(value)
