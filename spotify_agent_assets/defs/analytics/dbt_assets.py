"""The dbt models of ``dbt_project/`` as Dagster assets, built by dbt-duckdb in the warehouse.

Two definitions over one manifest: the models tagged ``daily`` (``fct_streams_daily``,
``artist_daily_metrics``, ``market_breakdown``) are partitioned like the listening events and
rebuild only the days of their run; everything else (staging views, dimensions,
``track_performance``) is unpartitioned. Every dbt test becomes an asset check of its model.

dbt sources are the lake views the IO manager registers, so they map to the assets that write
them (``stream_events``, ``spotify_tracks``, ``artist_snapshots``, ...): lineage runs from the
Spotify sync and stream ingestion straight into the models.
"""

import importlib.metadata
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from datetime import timedelta
from functools import cached_property
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliInvocation,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from packaging import version

from spotify_agent_assets.analytics_dbt.project import (
    dbt_executable,
    find_project_dir,
    prepare_manifest,
)
from spotify_agent_assets.analytics_dbt.row_counts import count_rows
from spotify_agent_assets.analytics_dbt.run_vars import dbt_vars_arg, window_vars
from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.defs.streams.partitions import STREAM_DAYS
from spotify_agent_assets.environment import AgentSettings
from spotify_agent_assets.lake.warehouse import Warehouse, exclusive_warehouse_lock

ANALYTICS_GROUP = "analytics"
DAILY_TAG = "daily"
DAILY_SELECTION = f"tag:{DAILY_TAG}"
# Measured back from the end of the newest partition (today): today and yesterday.
LATE_EVENTS_LOOKBACK = timedelta(days=2)
# Ingestion runs hourly and the daily models follow it; allow for a slow ingestion and dbt run.
DAILY_MODEL_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=8), warn_window=timedelta(hours=3)
)
# How long a dbt subprocess gets to stop after SIGTERM before the lock is given up anyway.
DBT_STOP_TIMEOUT_SECONDS = 30

DBT_PROJECT = DbtProject(project_dir=find_project_dir())
# A fresh checkout or an edited model: parse now (a few seconds, no network) so the asset graph
# matches the project. Otherwise this is a handful of stat() calls.
prepare_manifest(DBT_PROJECT.project_dir)


class AnalyticsDbtTranslator(DagsterDbtTranslator):
    """Sources are keyed like the assets that write their tables; models by their own name."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        # A source table is the view <group>.<asset>; its name is the producing asset's key.
        return dg.AssetKey([dbt_resource_props["name"]])

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "model" and DAILY_TAG in props.get("tags", []):
            # The daily models are what analysts and alerts read; stale means broken automation.
            spec = spec.replace_attributes(freshness_policy=DAILY_MODEL_FRESHNESS)
        return spec

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return None
        # Staging views too: they are the analytics domain's own layer, not another team's.
        return ANALYTICS_GROUP

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> dg.AutomationCondition | None:
        if dbt_resource_props["resource_type"] == "source":
            return None
        condition = dg.AutomationCondition.eager()
        sources = [
            dg.AssetKey([unique_id.rsplit(".", 1)[-1]])
            for unique_id in dbt_resource_props.get("depends_on", {}).get("nodes", [])
            if unique_id.startswith("source.")
        ]
        if sources:
            # stream_events and artist_snapshots are daily and always have partitions never
            # written (days before the data starts, gaps): eager's "no dependency missing"
            # would never hold for an unpartitioned view over them. A view needs only its
            # source table to exist, which the update that triggers it implies.
            condition = condition.replace(
                "any_deps_missing",
                dg.AutomationCondition.any_deps_missing().ignore(
                    dg.AssetSelection.assets(*sources)
                ),
            )
        if DAILY_TAG in dbt_resource_props.get("tags", []):
            # Events of a day keep landing after midnight (hourly ingestion, late uploads):
            # rebuild yesterday with today, not only the newest partition.
            condition = condition.replace(
                dg.AutomationCondition.in_latest_time_window(),
                dg.AutomationCondition.in_latest_time_window(lookback_delta=LATE_EVENTS_LOOKBACK),
            )
        return condition


TRANSLATOR = AnalyticsDbtTranslator(DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(
    manifest=DBT_PROJECT.manifest_path,
    project=DBT_PROJECT,
    select=DAILY_SELECTION,
    partitions_def=STREAM_DAYS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    dagster_dbt_translator=TRANSLATOR,
    name="analytics_daily_dbt_models",
)
def analytics_daily_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, lake: LakeResource
) -> Iterator[Any]:
    """Daily dbt models (tag ``daily``): ``dbt build`` of the run's days, one invocation per run.

    The partition range becomes dbt vars ``min_date``/``max_date``; each model deletes those days
    and inserts them again, so re-running a day replaces it and a backfill is one dbt run.
    """
    window = context.partition_time_window
    yield from _dbt_build(context, dbt, lake, window_vars(window.start, window.end))


@dbt_assets(
    manifest=DBT_PROJECT.manifest_path,
    project=DBT_PROJECT,
    exclude=DAILY_SELECTION,
    dagster_dbt_translator=TRANSLATOR,
    name="analytics_dbt_models",
)
def analytics_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, lake: LakeResource
) -> Iterator[Any]:
    """Unpartitioned dbt models: staging views over the lake, ``dim_track``, ``dim_artist`` and
    ``track_performance``, rebuilt whole by ``dbt build``."""
    yield from _dbt_build(context, dbt, lake, {})


DBT_ASSETS: list[dg.AssetsDefinition] = [analytics_dbt_models, analytics_daily_dbt_models]


class AnalyticsDbtCliResource(DbtCliResource):
    """The dbt CLI of this environment's dbt-core, whose version is known without asking it.

    dagster-dbt runs ``dbt --version`` (two seconds of interpreter start-up) once per resource
    instance, that is once per run; ``dbt_executable`` is the dbt beside this interpreter, so
    the installed dbt-core's version is the answer. Should dagster-dbt stop reading
    ``_cli_version``, this override goes unused and it asks dbt again: slower, still correct.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))


def build_dbt_resource(settings: AgentSettings) -> DbtCliResource:
    """The dbt CLI for ``settings``' environment.

    One profile serves every environment: the warehouse file is not part of the resource but
    comes from the ``lake`` resource at run time, the same file whose writer lock the run holds.
    """
    del settings  # nothing differs between environments yet; the signature is the contract
    return AnalyticsDbtCliResource(project_dir=DBT_PROJECT, dbt_executable=dbt_executable())


def _dbt_build(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    lake: LakeResource,
    window: dict[str, str],
) -> Iterator[Any]:
    warehouse = lake.warehouse()
    if warehouse.lake.is_s3:
        raise dg.Failure(
            description=(
                f"the dbt models cannot read an s3:// lake yet ({warehouse.lake.root}): the "
                "dbt-duckdb profile loads no httpfs extension and creates no S3 secret"
            ),
            allow_retries=False,
        )
    args = ["build", "--vars", dbt_vars_arg(warehouse.path, window)]
    # dbt opens the DuckDB file itself, in a subprocess: hold the writer lock (never a
    # connection of ours) until that process has exited. That is also why the events are
    # collected first and row counts read afterwards: dagster-dbt's fetch_row_counts() would
    # query the file while dbt still holds it.
    with exclusive_warehouse_lock(warehouse.lock_path, on_wait=context.log.info) as waited:
        if waited >= 1:
            context.log.info(f"waited {waited:.1f}s for the warehouse writer lock")
        invocation = dbt.cli(args, context=context, raise_on_error=False)
        try:
            events = list(invocation.stream())
        finally:
            _stop(invocation)
        built = _built_tables(invocation, events)
        counts = _count_rows(context, warehouse, set(built.values()), window)
    if invocation.is_successful():
        # Each invocation gets its own target folder (manifest, compiled SQL, logs: ~2 MB);
        # only a failed one's is worth keeping, the rest is already in the event log.
        shutil.rmtree(invocation.target_path, ignore_errors=True)

    for event in events:
        table = built.get(id(event))
        if table in counts:
            event = event.with_metadata(
                {**event.metadata, **_count_metadata(counts[table], window)}
            )
        yield event
    # After the events, so models that did build are recorded even when others failed.
    error = invocation.get_error()
    if error is not None:
        raise error


def _built_tables(invocation: DbtCliInvocation, events: list[Any]) -> dict[int, tuple[str, str]]:
    """(schema, table) of each model output that dbt materialized as a table (views skipped)."""
    nodes = invocation.manifest["nodes"]
    built: dict[int, tuple[str, str]] = {}
    for event in events:
        if not isinstance(event, dg.Output):
            continue
        unique_id = event.metadata.get("unique_id")
        node = nodes.get(getattr(unique_id, "value", unique_id))
        if node and node["config"].get("materialized") in ("table", "incremental"):
            built[id(event)] = (node["schema"], node["alias"])
    return built


def _count_rows(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    tables: set[tuple[str, str]],
    window: dict[str, str],
) -> dict[tuple[str, str], int]:
    """Row counts for metadata; a failure to count costs the counts, not the materializations."""
    import duckdb

    if not tables:
        return {}
    try:
        return count_rows(warehouse, tables, window)
    except (duckdb.Error, TimeoutError) as error:
        context.log.warning(f"no row counts for {sorted(tables)} in {warehouse.path}: {error}")
        return {}


def _count_metadata(rows: int, window: dict[str, str]) -> dict[str, Any]:
    if not window:
        return {"dagster/row_count": rows}
    metadata: dict[str, Any] = {"rows_in_run_window": rows}
    if window["min_date"] == window["max_date"]:
        metadata["dagster/row_count"] = rows  # the window is exactly this partition
    return metadata


def _stop(invocation: DbtCliInvocation) -> None:
    """Make sure dbt has exited (a cancelled or failed step included) before the lock goes."""
    process = invocation.process
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=DBT_STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
