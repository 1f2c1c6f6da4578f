"""A 30-day backfill as one run gives the same tables as 30 one-day runs, end to end.

From the landing zone through ``stream_events`` into the daily dbt models: one ingestion run
and one dbt run over the whole range (single-run backfill policy) against 30 one-day runs of
each, on a small but complete listening world.
"""

from __future__ import annotations

import datetime as dt
import shutil
from contextlib import closing
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from spotify_agent_assets.defs.analytics.dbt_assets import (
    analytics_daily_dbt_models,
    analytics_dbt_models,
)
from spotify_agent_assets.defs.resources import build_resources
from spotify_agent_assets.defs.spotify.assets import CATALOGUE_ASSETS, artist_snapshots
from spotify_agent_assets.defs.streams.assets import stream_events
from spotify_agent_assets.environment import AgentSettings
from spotify_agent_assets.sample_world.landing_files import write_sample_landing_zone
from spotify_agent_assets.sample_world.listening import ListeningWorld
from spotify_agent_assets.sample_world.world import SampleWorld

FIRST = dt.date(2026, 10, 2)
DAYS = 30
LAST = FIRST + dt.timedelta(days=DAYS - 1)
DAILY_MODELS = ("fct_streams_daily", "artist_daily_metrics", "market_breakdown")
ALL_ASSETS = [
    *dict.fromkeys([*CATALOGUE_ASSETS, artist_snapshots]),
    stream_events,
    analytics_dbt_models,
    analytics_daily_dbt_models,
]


def _run(
    settings: AgentSettings, selection: list[dg.AssetsDefinition], **kwargs: Any
) -> dg.ExecuteInProcessResult:
    keys = [key for a in selection for key in a.keys]
    return dg.materialize(
        ALL_ASSETS,
        selection=dg.AssetSelection.assets(*keys),
        resources=build_resources(settings),
        **kwargs,
    )


def _range(first: dt.date, last: dt.date) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": first.isoformat(),
        "dagster/asset_partition_range_end": last.isoformat(),
    }


def _tables(settings: AgentSettings) -> dict[str, list[tuple]]:
    with closing(duckdb.connect(str(settings.warehouse_path), read_only=True)) as con:
        tables = {
            name: con.execute(f"select * from analytics.{name} order by all").fetchall()
            for name in DAILY_MODELS
        }
        tables["stream_events"] = con.execute(
            "select * from streams.stream_events order by ts, event_id"
        ).fetchall()
    return tables


@pytest.mark.slow
def test_thirty_day_backfill_in_one_run_equals_thirty_runs(settings: AgentSettings) -> None:
    listening = ListeningWorld(SampleWorld(), n_listeners=60, first_day=FIRST, days=DAYS)
    write_sample_landing_zone(listening, Path(settings.landing_dir))
    _run(settings, [a for a in CATALOGUE_ASSETS if a is not artist_snapshots])
    _run(settings, [artist_snapshots], tags=_range(FIRST, LAST))

    # dbt's daily models read stream_events through the unpartitioned staging view, so
    # Dagster sees no edge between them within a run: ingestion and dbt are separate runs.
    _run(settings, [stream_events], tags=_range(FIRST, LAST))
    _run(settings, [analytics_dbt_models])
    one_run = _run(settings, [analytics_daily_dbt_models], tags=_range(FIRST, LAST))
    assert len(one_run.get_step_success_events()) == 1  # one dbt invocation for 30 days
    backfilled = _tables(settings)
    assert all(len(rows) > 0 for rows in backfilled.values())
    assert {row[0] for row in backfilled["artist_daily_metrics"]} == {
        FIRST + dt.timedelta(days=i) for i in range(DAYS)
    }

    # Start over from the landing zone: same catalogue, no events, no daily model rows.
    shutil.rmtree(Path(settings.lake_root) / "streams")
    # Every table the daily dbt step builds, the per-day inputs of track_performance too: a
    # table left behind would still hold the 30 days the events no longer have.
    daily_tables = {key.path[-1] for key in analytics_daily_dbt_models.keys}
    with closing(duckdb.connect(str(settings.warehouse_path))) as con:
        stored = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE'"
        ).fetchall()
        dropped = {name for schema, name in stored if name in daily_tables}
        assert dropped == daily_tables
        for schema, name in stored:
            if name in daily_tables:
                con.execute(f'drop table "{schema}"."{name}"')
    for offset in range(DAYS):
        day = (FIRST + dt.timedelta(days=offset)).isoformat()
        _run(settings, [stream_events], partition_key=day)
        _run(settings, [analytics_daily_dbt_models], partition_key=day)
    assert _tables(settings) == backfilled
