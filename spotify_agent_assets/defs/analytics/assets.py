"""Python analytics over the dbt models: artist trends and streaming anomalies.

The inputs are dbt models in the warehouse (``analytics.artist_daily_metrics``,
``analytics.fct_streams_daily``, ``analytics.dim_track``), read with SQL through a read-only
connection; the methods live in :mod:`spotify_agent_assets.analytics` and this module only
wires them to Dagster. ``artist_trends`` and ``streaming_anomalies`` are tables stored by the
lake IO manager (``<lake>/analytics/<asset>/``, views ``analytics.<asset>``). The weekly
report over them is ``weekly_report``, which shares this module's warehouse reads, last
complete day and automation; ``python_assets`` collects the three. All three follow their
upstreams by declarative automation. Their columns are declared in ``analytics.tables``; the
key and schema checks read what is stored.

Closed days only: each run works as of the last complete day of ``artist_daily_metrics``
(``is_complete``, true once the UTC day had ended when dbt built the row); the day in progress
is never read. Bounded work: ``artist_trends`` and ``streaming_anomalies`` are unpartitioned
tables kept incrementally by day: a run recomputes the days since the previous run's ``as_of``
(its materialization metadata), always the last 7, and any day the daily models rebuilt since
(``previous_runs``); it reads only those days and the 56 before them, with SQL filtered on date,
and keeps the stored rows of earlier days (``analytics.scoring_window``).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import dagster as dg
import pyarrow as pa

from spotify_agent_assets.analytics.scoring_window import (
    RESCORE_DAYS,
    ScoringWindow,
    merge_rows,
    scoring_window,
)
from spotify_agent_assets.analytics.tables import (
    ANALYTICS_GROUP,
    ARTIST_TRENDS,
    STREAMING_ANOMALIES,
)
from spotify_agent_assets.defs.analytics.previous_runs import (
    previous_run,
)
from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.defs.table_metadata import contract_metadata, markdown_table

ANALYTICS_KINDS = {"python", "duckdb", "parquet"}

ARTIST_DAILY_METRICS = dg.AssetKey(["artist_daily_metrics"])
FCT_STREAMS_DAILY = dg.AssetKey(["fct_streams_daily"])
DIM_TRACK = dg.AssetKey(["dim_track"])

DAILY_DBT_MODELS = dg.AssetSelection.assets(ARTIST_DAILY_METRICS, FCT_STREAMS_DAILY)

# eager(), except for one rule. eager() waits while any dependency is missing, and for an
# unpartitioned asset over a daily-partitioned model that means *every* day since the first
# partition: one day never ingested would stop the analytics for good (checked with
# evaluate_automation_conditions in the tests). The daily models' gaps are judged by the
# analytics themselves (a missing day is unknown, not zero); the other dependencies still
# block while missing.
ANALYTICS_AUTOMATION = (
    dg.AutomationCondition.eager()
    .replace(
        "any_deps_missing",
        dg.AutomationCondition.any_deps_missing().ignore(DAILY_DBT_MODELS),
    )
    .with_label("eager (gaps in daily dbt models allowed)")
)

# The dbt models' tables; fixed names, so the SQL below needs no identifier interpolation.
# Every read of a daily model is filtered on date: DuckDB skips the row groups outside it.
# The last complete day among the days since a bound (the previous run's as_of less a week),
# so a later run does not scan the whole history for it; a first run also needs the first day.
LAST_COMPLETE_DAY_SQL = """
    SELECT MAX(date) FILTER (WHERE is_complete)
    FROM analytics.artist_daily_metrics
    WHERE date >= ?
"""
FIRST_DAY_SQL = "SELECT MIN(date) FROM analytics.artist_daily_metrics"
METRICS_SQL = """
    SELECT date, artist_id, artist_name, plays, streams, unique_listeners, listening_ms, skips,
           skip_known_plays, skip_rate, followers, popularity
    FROM analytics.artist_daily_metrics
    WHERE date BETWEEN ? AND ?
    ORDER BY artist_id, date
"""
TRACK_STREAMS_SQL = """
    SELECT date, track_id, SUM(streams)::BIGINT AS streams
    FROM analytics.fct_streams_daily
    WHERE date BETWEEN ? AND ?
    GROUP BY date, track_id
    ORDER BY track_id, date
"""
DIM_TRACK_SQL = """
    SELECT track_id, track_name, primary_artist_id
    FROM analytics.dim_track
    ORDER BY track_id
"""

# What the metadata charts read of METRICS_SQL's rows.
CHART_COLUMNS = ["date", "artist_id", "artist_name", "streams"]


@contextmanager
def warehouse_reader(lake: LakeResource) -> Iterator[Any]:
    """``Warehouse.reader()``, failing clearly when the dbt models were never materialized.

    The reads take seconds, so writers queued behind us barely wait.
    """
    warehouse = lake.warehouse()
    if not warehouse.path.exists():
        raise dg.Failure(
            f"warehouse {warehouse.path} does not exist; materialize the dbt models first",
            allow_retries=False,
        )
    with warehouse.reader() as connection:
        yield connection


def query_table(connection: Any, sql: str, table: str, params: list[Any] | None = None) -> pa.Table:
    """``sql`` with ``params`` as an Arrow table; a missing ``analytics.<table>`` fails naming it."""
    import duckdb

    try:
        return connection.execute(sql, params or []).to_arrow_table()
    except (duckdb.CatalogException, duckdb.BinderException) as error:
        raise dg.Failure(
            description=(
                f"warehouse table analytics.{table} is missing or lacks a column: {error}. "
                f"Materialize {table} first (a dbt model, or the analytics asset)."
            ),
            allow_retries=False,
        ) from error


def complete_days(connection: Any, previous_as_of: date | None) -> tuple[date, date | None]:
    """(the last complete day, the first day) of ``artist_daily_metrics``.

    With a previous run, only days from a week before its ``as_of`` are looked at, and the
    first day is not looked up (None): what a run reads must not grow with history.
    """
    since = date.min if previous_as_of is None else previous_as_of - timedelta(days=RESCORE_DAYS)
    (as_of,) = query_table(connection, LAST_COMPLETE_DAY_SQL, "artist_daily_metrics", [since])
    as_of = as_of[0].as_py()
    first_day = None
    if previous_as_of is None:
        (first_day,) = query_table(connection, FIRST_DAY_SQL, "artist_daily_metrics")
        first_day = first_day[0].as_py()
    if as_of is None:
        raise dg.Failure(
            "analytics.artist_daily_metrics has no complete day (is_complete) yet: the "
            "analytics are computed as of the last day that has ended, never the day in progress; "
            "ingest a day that has ended (a stream_events partition before today, UTC) and "
            "rebuild its daily dbt models, then run this again",
            allow_retries=False,
        )
    return as_of, first_day


def _window_metadata(window: ScoringWindow) -> dict[str, dg.MetadataValue]:
    return {
        "as_of": dg.MetadataValue.text(window.as_of.isoformat()),
        "scored_from": dg.MetadataValue.text(window.score_from.isoformat()),
        "read_from": dg.MetadataValue.text(window.read_from.isoformat()),
        "scored_days": dg.MetadataValue.int(window.scored_days),
        "read_days": dg.MetadataValue.int(window.read_days),
    }


@dg.asset(
    group_name=ANALYTICS_GROUP,
    kinds=ANALYTICS_KINDS,
    deps=[ARTIST_DAILY_METRICS],
    automation_condition=ANALYTICS_AUTOMATION,
    metadata=contract_metadata(ARTIST_TRENDS),
)
def artist_trends(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.Output:
    """Streams growth (7-day, 28-day), momentum, follower growth and breakouts per artist and day.

    From ``analytics.artist_daily_metrics``, complete days only (the day in progress is never
    computed). A breakout needs streams far above the artist's own weekday-adjusted normal
    (robust z >= 4) together with a follower jump (robust z >= 4 within 3 days), on at least 2
    days of 3; ``breakout_day`` is the first such day within 28 days. With less than 56 days of
    history, ``growth_28d`` uses the whole weeks available (``growth_28d_window_days``). Kept
    incrementally by day: a run computes the days since the last run, the last 7 and any day
    the daily models rebuilt since, reading 56 days before them. Methods: ``spotify_agent_assets.analytics.trends``.
    """
    from spotify_agent_assets.analytics.trends import LOOKBACK_DAYS
    from spotify_agent_assets.analytics.trends import artist_trends as compute_trends
    from spotify_agent_assets.plots.asset_charts import top_artist_streams

    previous = previous_run(context, lake, ARTIST_TRENDS, [ARTIST_DAILY_METRICS])
    with warehouse_reader(lake) as connection:
        as_of, first_day = complete_days(connection, previous.as_of)
        window = scoring_window(
            as_of,
            first_day,
            previous.as_of,
            lookback_days=LOOKBACK_DAYS,
            rebuilt_from=previous.rebuilt_from,
        )
        metrics = query_table(
            connection, METRICS_SQL, "artist_daily_metrics", [window.read_from, window.as_of]
        )
    computed = compute_trends(metrics, as_of=window.as_of, score_from=window.score_from)
    table = merge_rows(ARTIST_TRENDS, previous.table, computed, window.score_from)
    breakouts = _breakout_rows(table)
    context.log.info(
        f"{computed.num_rows} artist-days computed ({window.score_from}..{window.as_of}), "
        f"{table.num_rows} stored, {len(breakouts)} artist(s) broke out"
    )
    return dg.Output(
        table,
        metadata={
            **_window_metadata(window),
            "artists": dg.MetadataValue.int(len(set(table.column("artist_id").to_pylist()))),
            "latest_date": dg.MetadataValue.text(_latest(table)),
            "breakout_artists": dg.MetadataValue.int(len(breakouts)),
            "breakouts": dg.MetadataValue.md(
                markdown_table(
                    ["artist", "breakout day", "growth 7d", "followers 7d", "status"],
                    breakouts,
                    empty="_no breakout detected_",
                )
            ),
            "trend_status_counts": dg.MetadataValue.json(_latest_status_counts(table)),
            "streams_chart": dg.MetadataValue.md(
                top_artist_streams(metrics.select(CHART_COLUMNS).to_pylist(), window.as_of)
            ),
        },
    )


@dg.asset(
    group_name=ANALYTICS_GROUP,
    kinds=ANALYTICS_KINDS,
    deps=[ARTIST_DAILY_METRICS, FCT_STREAMS_DAILY, DIM_TRACK],
    automation_condition=ANALYTICS_AUTOMATION,
    metadata=contract_metadata(STREAMING_ANOMALIES),
)
def streaming_anomalies(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.Output:
    """Streaming incidents: spikes, drops and level shifts of an artist's or a track's streams.

    Daily streams per artist (``analytics.artist_daily_metrics``) and per track
    (``analytics.fct_streams_daily`` summed over countries, names from ``analytics.dim_track``),
    complete days only, weekday-adjusted, against a negative binomial around the median of the
    28 days before (dispersion from the entity's own window). All tests of a day form one
    Benjamini-Hochberg family, significant at q <= 0.01. An artist incident lists its tracks
    that went the same way; a level shift is reported once and becomes the new baseline. Kept
    incrementally by day: a run scores the days since the last run, the last 7 and any day the
    daily models rebuilt since, reading 56 days before them. Methods: ``spotify_agent_assets.analytics.anomalies``.
    """
    from spotify_agent_assets.analytics.anomalies import DEFAULT_PARAMS
    from spotify_agent_assets.analytics.anomalies import streaming_anomalies as detect
    from spotify_agent_assets.plots.asset_charts import observed_against_expected

    previous = previous_run(
        context, lake, STREAMING_ANOMALIES, [ARTIST_DAILY_METRICS, FCT_STREAMS_DAILY]
    )
    with warehouse_reader(lake) as connection:
        as_of, first_day = complete_days(connection, previous.as_of)
        window = scoring_window(
            as_of,
            first_day,
            previous.as_of,
            lookback_days=DEFAULT_PARAMS.lookback_days,
            rebuilt_from=previous.rebuilt_from,
        )
        days = [window.read_from, window.as_of]
        metrics = query_table(connection, METRICS_SQL, "artist_daily_metrics", days)
        track_streams = query_table(connection, TRACK_STREAMS_SQL, "fct_streams_daily", days)
        tracks = query_table(connection, DIM_TRACK_SQL, "dim_track")
    computed = detect(
        metrics, track_streams, tracks, as_of=window.as_of, score_from=window.score_from
    )
    table = merge_rows(STREAMING_ANOMALIES, previous.table, computed, window.score_from)
    rows = table.to_pylist()
    context.log.info(
        f"{computed.num_rows} incident(s) in {window.score_from}..{window.as_of}, "
        f"{len(rows)} stored"
    )
    counts: dict[str, int] = {}
    for row in rows:
        key = f"{row['level']}_{row['kind']}"
        counts[key] = counts.get(key, 0) + 1
    # Newest first, artists before tracks; the UI shows the first rows only.
    ordered = sorted(rows, key=lambda r: (r["date"], r["level"] == "artist"), reverse=True)
    return dg.Output(
        table,
        metadata={
            **_window_metadata(window),
            "incidents_by_kind": dg.MetadataValue.json(dict(sorted(counts.items()))),
            "method": dg.MetadataValue.text(DEFAULT_PARAMS.method()),
            "observed_vs_expected_chart": dg.MetadataValue.md(
                observed_against_expected(
                    metrics.select(CHART_COLUMNS).to_pylist(), rows, window.as_of
                )
            ),
            "incidents": dg.MetadataValue.md(
                markdown_table(
                    ["date", "level", "name", "kind", "streams", "expected", "q", "tracks"],
                    [
                        [
                            str(r["date"]),
                            r["level"],
                            r["entity_name"] or r["entity_id"],
                            f"{r['kind']} ({r['direction']})",
                            f"{r['value']:,.0f}",
                            f"{r['expected']:,.0f}",
                            f"{r['q_value']:.1e}",
                            str(len(r["track_ids"])),
                        ]
                        for r in ordered
                    ],
                    empty="_no incident_",
                )
            ),
        },
    )


def _breakout_rows(table: pa.Table) -> list[list[str]]:
    """One row per artist with a breakout, newest breakout first, figures of the latest day."""
    latest: dict[str, dict[str, Any]] = {}
    for row in table.to_pylist():  # sorted by artist_id, date: the last row is the latest
        latest[row["artist_id"]] = row
    latest = {a: r for a, r in latest.items() if r["breakout_day"] is not None}
    ordered = sorted(
        latest.values(), key=lambda r: (r["breakout_day"], r["artist_id"]), reverse=True
    )
    return [
        [
            r["artist_name"] or r["artist_id"],
            r["breakout_day"].isoformat(),
            _percent(r["growth_7d"]),
            _percent(r["follower_growth_7d"]),
            r["trend_status"],
        ]
        for r in ordered
    ]


def _latest_status_counts(table: pa.Table) -> dict[str, int]:
    latest = _latest(table)
    counts: dict[str, int] = {}
    for row in table.select(["date", "trend_status"]).to_pylist():
        if row["date"].isoformat() == latest:
            counts[row["trend_status"]] = counts.get(row["trend_status"], 0) + 1
    return dict(sorted(counts.items()))


def _latest(table: pa.Table) -> str:
    import pyarrow.compute as pc

    value = pc.max(table.column("date")).as_py() if table.num_rows else None
    return value.isoformat() if isinstance(value, date) else "n/a"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1%}"
