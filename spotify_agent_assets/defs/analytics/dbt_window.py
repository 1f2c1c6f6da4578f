"""The run window of the unpartitioned dbt step: the days the daily sources wrote since it last
ran, so the tests of the views over them (stg_stream_events, int_stream_events_attributed, ...)
read those days instead of every event of every day on each hourly run.

The step has no partitions of its own; the event log knows which days of ``stream_events`` and
``artist_snapshots`` were written after the step's last materialization. No earlier
materialization (a first build), one of the step's assets never built, or no day written
since (the daily catalogue sync, which can change every day's attribution): no window, every day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import dagster as dg

from spotify_agent_assets.analytics_dbt.run_window import RunWindow
from spotify_agent_assets.defs.analytics.dbt_policy import DAY_SOURCES

# Materializations fetched per event-log query; a backfill of years is paged through.
PAGE = 1_000


def days_written_since_last_run(
    instance: dg.DagsterInstance, step_assets: Iterable[dg.AssetKey]
) -> RunWindow | None:
    """The first to last day any daily source wrote after the step's assets were last built
    (``None``: every day, see the module docstring). Days in between that nothing wrote are in the window too: it is one
    range, and the hourly case is one or two adjacent days."""
    last_built: list[int] = []
    for key in step_assets:
        found = instance.fetch_materializations(key, limit=1).records
        if not found:
            return None
        last_built.append(found[0].storage_id)
    if not last_built:
        return None
    since = min(last_built)
    days: set[dt.date] = set()
    for source in DAY_SOURCES:
        cursor = None
        while True:
            page = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey(source), after_storage_id=since),
                limit=PAGE,
                cursor=cursor,
            )
            days.update(
                dt.date.fromisoformat(record.partition_key)
                for record in page.records
                if record.partition_key is not None
            )
            if not page.has_more:
                break
            cursor = page.cursor
    if not days:
        # Not a new day but something else (the daily catalogue sync, a model change) started
        # this run, and that can change every day's rows (which artist a play belongs to):
        # test them all.
        return None
    return RunWindow(min(days), max(days))
