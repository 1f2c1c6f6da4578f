"""The weekly artist report: per artist and ISO week, Markdown, HTML and PNG charts as files.

``weekly_artist_report`` writes one folder of files per artist and week,
``<lake>/analytics/weekly_artist_report/files/<iso-week>/<artist_id>/``, and stores an index of
them as its table (columns in ``analytics.tables``). It follows ``artist_trends`` and
``streaming_anomalies`` by the same declarative automation and reads the 28 days of its charts,
which hold both compared weeks, as of the last complete day. Apart from ``assets`` because it
writes files rather than a table kept incrementally by day; the warehouse reads, the last
complete day and the automation are shared with it there. The methods live in
:mod:`spotify_agent_assets.analytics.report`.
"""

from datetime import timedelta

import dagster as dg

from spotify_agent_assets.analytics.tables import ANALYTICS_GROUP, WEEKLY_ARTIST_REPORT
from spotify_agent_assets.defs.analytics.assets import (
    ANALYTICS_AUTOMATION,
    ARTIST_DAILY_METRICS,
    DIM_TRACK,
    DIM_TRACK_SQL,
    FCT_STREAMS_DAILY,
    METRICS_SQL,
    artist_trends,
    complete_days,
    query_table,
    streaming_anomalies,
    warehouse_reader,
)
from spotify_agent_assets.defs.analytics.previous_runs import (
    latest_materialization,
    recorded_as_of,
)
from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.defs.table_metadata import contract_metadata, markdown_table
from spotify_agent_assets.lake.table_contract import to_arrow

# Fixed names and date-filtered reads, as the SQL in ``assets``.
TRACK_COUNTRY_STREAMS_SQL = """
    SELECT date, track_id, country, SUM(streams)::BIGINT AS streams
    FROM analytics.fct_streams_daily
    WHERE date BETWEEN ? AND ?
    GROUP BY date, track_id, country
    ORDER BY track_id, date, country
"""
# The analytics tables' own views (the lake IO manager registers them).
TRENDS_SQL = """
    SELECT * FROM analytics.artist_trends WHERE date BETWEEN ? AND ? ORDER BY artist_id, date
"""
ANOMALIES_SQL = """
    SELECT * FROM analytics.streaming_anomalies WHERE date BETWEEN ? AND ?
    ORDER BY date, level, entity_id
"""

REPORT_FILES_DIR = "files"
MARKDOWN_FILE = "report.md"
HTML_FILE = "report.html"


@dg.asset(
    group_name=ANALYTICS_GROUP,
    kinds={"python", "duckdb", "html"},
    deps=[ARTIST_DAILY_METRICS, FCT_STREAMS_DAILY, DIM_TRACK, artist_trends, streaming_anomalies],
    automation_condition=ANALYTICS_AUTOMATION,
    metadata=contract_metadata(WEEKLY_ARTIST_REPORT),
)
def weekly_artist_report(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.Output:
    """Per artist, the ISO week of the last complete day: Markdown, HTML and PNG charts.

    Streams, listeners, listening hours, skip rate, followers and popularity against the same
    days of the week before; top tracks and markets; trend status; the week's incidents; charts
    of the last 28 days. Reads only those 28 days (and the two compared weeks of the fact
    table), never the day in progress. Files go to
    ``<lake>/analytics/weekly_artist_report/files/<iso-week>/<artist_id>/`` (``report.md``,
    ``report.html``, ``streams.png``, ``followers.png``), replacing that week's earlier files;
    the table is their index. Methods: ``spotify_agent_assets.analytics.report``.
    """
    from spotify_agent_assets.analytics.report import CHART_DAYS, ReportWeek
    from spotify_agent_assets.analytics.report import weekly_artist_report as build_report

    with warehouse_reader(lake) as connection:
        # The trends' as_of bounds the look-up; they ran on the same complete days.
        trends_run = latest_materialization(context, dg.AssetKey("artist_trends"))
        as_of, _ = complete_days(connection, recorded_as_of(trends_run))
        week = ReportWeek.ending_on(as_of)
        # The charts' 28 days hold both compared periods (at most 14 days).
        days = [as_of - timedelta(days=CHART_DAYS - 1), as_of]
        metrics = query_table(connection, METRICS_SQL, "artist_daily_metrics", days)
        facts = query_table(
            connection,
            TRACK_COUNTRY_STREAMS_SQL,
            "fct_streams_daily",
            [week.previous_start, week.end],
        )
        tracks = query_table(connection, DIM_TRACK_SQL, "dim_track")
        trends = query_table(connection, TRENDS_SQL, "artist_trends", days)
        anomalies = query_table(connection, ANOMALIES_SQL, "streaming_anomalies", days)
    report = build_report(metrics, trends, anomalies, facts, tracks, as_of=as_of)

    parquet_lake = lake.lake()
    week_uri = (
        f"{parquet_lake.table_uri(ANALYTICS_GROUP, WEEKLY_ARTIST_REPORT.name)}/"
        f"{REPORT_FILES_DIR}/{report.week.label}"
    )
    rows = []
    for artist in report.artists:
        folder = f"{week_uri}/{_safe_segment(artist.artist_id)}"
        files = {
            MARKDOWN_FILE: artist.markdown.encode(),
            HTML_FILE: artist.html.encode(),
            **artist.charts,
        }
        uris = {
            name: parquet_lake.write_file(f"{folder}/{name}", data) for name, data in files.items()
        }
        rows.append(
            {
                "artist_id": artist.artist_id,
                "artist_name": artist.artist_name,
                "week": report.week.label,
                "week_start": report.week.start,
                "week_end": report.week.end,
                "streams": artist.streams,
                "streams_change": artist.streams_change,
                "trend_status": artist.trend_status,
                "anomalies": artist.anomalies,
                "markdown_uri": uris[MARKDOWN_FILE],
                "html_uri": uris[HTML_FILE],
                "chart_uris": [uris[name] for name in sorted(artist.charts)],
            }
        )
    index = to_arrow(WEEKLY_ARTIST_REPORT, rows)
    context.log.info(f"wrote {len(rows)} artist report(s) for {report.week.label} to {week_uri}")
    return dg.Output(
        index,
        metadata={
            "week": dg.MetadataValue.text(report.week.label),
            "week_start": dg.MetadataValue.text(report.week.start.isoformat()),
            "week_end": dg.MetadataValue.text(report.week.end.isoformat()),
            "report_root": dg.MetadataValue.path(week_uri),
            "summary": dg.MetadataValue.md(report.summary_markdown()),
            "report_paths": dg.MetadataValue.md(
                markdown_table(
                    ["artist", "html", "markdown"],
                    [
                        [r["artist_name"] or r["artist_id"], r["html_uri"], r["markdown_uri"]]
                        for r in rows
                    ],
                    empty="_no artist had data this week_",
                )
            ),
        },
    )


def _safe_segment(value: str) -> str:
    """An id as one path segment: Spotify ids are base62; anything else fails loudly here."""
    if not value or not value.replace("_", "").replace("-", "").isalnum():
        raise dg.Failure(
            f"artist_id {value!r} cannot name a report folder: expected letters, digits, "
            "'-' or '_'",
            allow_retries=False,
        )
    return value
