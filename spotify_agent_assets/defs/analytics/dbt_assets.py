"""The dbt models of ``dbt_project/`` as Dagster assets, built by dbt-duckdb in the warehouse.

Two definitions over one manifest: the models tagged ``daily`` (``fct_streams_daily``,
``artist_daily_metrics``, ``market_breakdown`` and the per-day tables behind
``track_performance``) are partitioned like the listening events and rebuild only the days of
their run, with ``track_performance`` summed from them in the same run; everything else
(staging views, dimensions) is unpartitioned. Every dbt test becomes an asset check of its model.

dbt sources are the lake views the IO manager registers, so they map to the assets that write
them (``stream_events``, ``spotify_tracks``, ``artist_snapshots``, ...): lineage runs from the
Spotify sync and stream ingestion straight into the models.

The specs are what ``@dbt_assets`` would build, read from the manifest without importing
dagster-dbt (`dbt_specs`); dagster-dbt runs dbt inside the step (`dbt_run`). Selections are
kept as dagster-dbt keeps them, in the op tags, which is where a run reads them from.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg

from spotify_agent_assets.analytics_dbt.project import (
    find_project_dir,
    manifest_path,
    prepare_manifest,
)
from spotify_agent_assets.analytics_dbt.run_window import RunWindow
from spotify_agent_assets.defs.analytics.dbt_policy import DAILY_SELECTION
from spotify_agent_assets.defs.analytics.dbt_resource import AnalyticsDbtResource
from spotify_agent_assets.defs.analytics.dbt_specs import DbtSpecBuilder, load_manifest
from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.defs.streams.partitions import STREAM_DAYS

# dagster-dbt's op tags for a definition's dbt selection (dagster_dbt.asset_utils).
SELECT_TAG = "dagster_dbt/select"
EXCLUDE_TAG = "dagster_dbt/exclude"
ALL_NODES = "fqn:*"

DBT_PROJECT_DIR = find_project_dir()
# A fresh checkout or an edited model: parse now (a few seconds, no network) so the asset graph
# matches the project. Otherwise this is a handful of stat() calls.
prepare_manifest(DBT_PROJECT_DIR)
_builder = DbtSpecBuilder(load_manifest(manifest_path(DBT_PROJECT_DIR)), DBT_PROJECT_DIR)
DAILY_SPECS, DAILY_CHECK_SPECS = _builder.specs(daily=True)
MODEL_SPECS, MODEL_CHECK_SPECS = _builder.specs(daily=False)
del _builder  # the parsed manifest is not kept: a run reads it again from the target folder


@dg.multi_asset(
    name="analytics_daily_dbt_models",
    specs=DAILY_SPECS,
    check_specs=DAILY_CHECK_SPECS,
    can_subset=True,
    partitions_def=STREAM_DAYS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    op_tags={SELECT_TAG: DAILY_SELECTION},
)
def analytics_daily_dbt_models(
    context: dg.AssetExecutionContext, dbt: AnalyticsDbtResource, lake: LakeResource
) -> Iterator[Any]:
    """Daily dbt models (tag ``daily``): ``dbt build`` of the run's days, one invocation per run.

    The partition range becomes the run window (``analytics_dbt.run_window``); each model
    deletes those days and inserts them again, so re-running a day replaces it and a backfill is
    one dbt run.
    """
    # dagster-dbt and dbt-core: ~1.7 s, paid here by the step that runs dbt.
    from spotify_agent_assets.defs.analytics.dbt_run import run_dbt_build

    window = context.partition_time_window
    yield from run_dbt_build(context, dbt, lake, RunWindow.of_partitions(window.start, window.end))


@dg.multi_asset(
    name="analytics_dbt_models",
    specs=MODEL_SPECS,
    check_specs=MODEL_CHECK_SPECS,
    can_subset=True,
    op_tags={SELECT_TAG: ALL_NODES, EXCLUDE_TAG: DAILY_SELECTION},
)
def analytics_dbt_models(
    context: dg.AssetExecutionContext, dbt: AnalyticsDbtResource, lake: LakeResource
) -> Iterator[Any]:
    """Unpartitioned dbt models: staging views over the lake, ``dim_track`` and ``dim_artist``,
    rebuilt whole by ``dbt build``."""
    from spotify_agent_assets.defs.analytics.dbt_run import run_dbt_build
    from spotify_agent_assets.defs.analytics.dbt_window import days_written_since_last_run

    # Not a partition range: the days the daily sources wrote since this step last ran, which
    # the tests of the views over them read (macros/run_window.sql, get_where_subquery).
    window = days_written_since_last_run(context.instance, context.selected_asset_keys)
    context.log.info(
        f"run window for the tests of views over daily sources: {window or 'every day'}"
    )
    yield from run_dbt_build(context, dbt, lake, window)


DBT_ASSETS: list[dg.AssetsDefinition] = [analytics_dbt_models, analytics_daily_dbt_models]
