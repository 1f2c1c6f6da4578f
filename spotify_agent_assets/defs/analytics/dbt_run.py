"""What a dbt step runs: ``dbt build`` through dagster-dbt, under the warehouse writer lock.

The run window of the daily models goes into the warehouse (`analytics_dbt.run_window`), not
into dbt's vars, and the partial-parse cache dbt leaves is kept for the next run: an hourly run
parses only what changed in the project, not the whole project.

Imported by the dbt assets' op bodies only: dagster-dbt and dbt-core (~1.7 s) are paid by the
step that runs dbt, not by every process that loads the code location. The asset definitions
are built from the manifest without dagster-dbt (`dbt_specs`), so dagster-dbt is called here
without the execution context (it would look for the manifest and translator that
``@dbt_assets`` files in the assets' metadata) and its context-free events are turned into
results for this step: ``MaterializeResult`` per model, ``AssetCheckResult`` per selected test.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliInvocation, DbtCliResource
from dagster_dbt.asset_utils import (
    DAGSTER_DBT_EXCLUDE_METADATA_KEY,
    DAGSTER_DBT_SELECT_METADATA_KEY,
    get_subset_selection_for_context,
)
from packaging import version

from spotify_agent_assets.analytics_dbt.project import PARTIAL_PARSE_FILE
from spotify_agent_assets.analytics_dbt.row_counts import count_rows
from spotify_agent_assets.analytics_dbt.run_vars import dbt_vars_arg
from spotify_agent_assets.analytics_dbt.run_window import RunWindow, write_run_window
from spotify_agent_assets.defs.analytics.dbt_columns import with_column_metadata
from spotify_agent_assets.defs.analytics.dbt_resource import AnalyticsDbtResource
from spotify_agent_assets.defs.analytics.dbt_specs import load_manifest
from spotify_agent_assets.defs.analytics.dbt_translator import (
    RUN_TRANSLATOR_SETTINGS,
    AnalyticsDbtTranslator,
)
from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.lake.warehouse import Warehouse, exclusive_warehouse_lock

# How long a dbt subprocess gets to stop after SIGTERM before the lock is given up anyway.
DBT_STOP_TIMEOUT_SECONDS = 30
# What dbt writes to its log (dbt.log, debug level) when it could not reuse its parse cache.
FULL_PARSE_MARK = "Unable to do partial parsing"
# A warehouse's parse cache unused this long is removed.
PARSE_CACHE_MAX_AGE_SECONDS = 7 * 24 * 3600

DbtResult = dg.MaterializeResult | dg.AssetCheckResult | dg.AssetObservation


class InstalledDbtCliResource(DbtCliResource):
    """The dbt CLI of this environment's dbt-core, whose version is known without asking it.

    dagster-dbt runs ``dbt --version`` (two seconds of interpreter start-up) once per resource
    instance, that is once per run; ``dbt_executable`` is the dbt beside this interpreter, so
    the installed dbt-core's version is the answer. Should dagster-dbt stop reading
    ``_cli_version``, this override goes unused and it asks dbt again: slower, still correct.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))


def run_dbt_build(
    context: dg.AssetExecutionContext,
    dbt: AnalyticsDbtResource,
    lake: LakeResource,
    window: RunWindow | None,
) -> Iterator[DbtResult]:
    """``dbt build`` of the step's selected models and tests; ``window`` is the days of the
    daily models (``None`` for the unpartitioned ones)."""
    warehouse = lake.warehouse()
    manifest = load_manifest(dbt.manifest_path)
    translator = AnalyticsDbtTranslator(RUN_TRANSLATOR_SETTINGS)
    args = [
        "build",
        "--vars",
        dbt_vars_arg(warehouse.path, warehouse.lake.root),
        *selection_args(context, manifest, translator),
    ]
    # One target folder per invocation (manifest, compiled SQL, logs), named after the step
    # and run like dagster-dbt names its own, so a failed run's folder is easy to find.
    name = f"{context.assets_def.op.name}-{context.run.run_id[:7]}-{uuid.uuid4().hex[:7]}"
    target_path = dbt.target_dir / name
    parse_cache = _parse_cache(dbt.target_dir, warehouse.path)
    _reuse_parse_cache(parse_cache, target_path)
    cli = dbt.cli_resource()
    # dbt opens the DuckDB file itself, in a subprocess: hold the writer lock (never a
    # connection of ours) until that process has exited. That is also why the events are
    # collected first and row counts read afterwards: dagster-dbt's fetch_row_counts() would
    # query the file while dbt still holds it.
    with exclusive_warehouse_lock(warehouse.lock_path, on_wait=context.log.info) as waited:
        if waited >= 1:
            context.log.info(f"waited {waited:.1f}s for the warehouse writer lock")
        # Set (or, for an unpartitioned run, cleared) while the lock is held, so no other
        # run's dbt can read this window.
        _set_run_window(warehouse, window)
        try:
            # dagster-dbt starts dbt with this process's environment: the lake's S3 settings
            # go there, for the profile's plugin (`analytics_dbt.duckdb_s3`) to read.
            with _child_environment(warehouse.lake.s3.as_environ() if warehouse.lake.s3 else {}):
                invocation = cli.cli(
                    args,
                    manifest=manifest,
                    dagster_dbt_translator=translator,
                    target_path=target_path,
                    raise_on_error=False,
                )
            try:
                events = list(invocation.stream())
            finally:
                _stop(invocation)
            # dbt has exited and the lock is still ours: column schemas and lineage now.
            results = list(step_results(context, with_column_metadata(context, invocation, events)))
        finally:
            # Cleared before the lock goes: dbt run by hand afterwards builds every day.
            _set_run_window(warehouse, None)
        built = _built_tables(manifest, results)
        counts = _count_rows(context, warehouse, set(built.values()), window)
    context.log.info(_parse_report(invocation.target_path))
    _keep_parse_cache(invocation.target_path, parse_cache)
    if invocation.is_successful():
        # Only a failed invocation's folder (~2 MB) is worth keeping; the rest is in the event log.
        shutil.rmtree(invocation.target_path, ignore_errors=True)

    for result in results:
        table = built.get(result.asset_key) if isinstance(result, dg.MaterializeResult) else None
        if table in counts:
            result = dg.MaterializeResult(
                asset_key=result.asset_key,
                metadata={**(result.metadata or {}), **_count_metadata(*counts[table])},
            )
        yield result
    # After the events, so models that did build are recorded even when others failed.
    error = invocation.get_error()
    if error is not None:
        raise error


@contextlib.contextmanager
def _child_environment(values: Mapping[str, str]) -> Iterator[None]:
    """``values`` in ``os.environ`` while a child process is started, then as they were.

    dagster-dbt takes no environment for dbt, only this process's; the lake resource's S3
    settings (the same AWS variables in production, explicit values in tests) reach dbt so,
    never through its vars or profile, which dbt writes into ``target/``.
    """
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def selection_args(
    context: dg.AssetExecutionContext,
    manifest: Mapping[str, Any],
    translator: AnalyticsDbtTranslator,
) -> list[str]:
    """dbt's ``--select``/``--exclude`` for what this step materializes and checks.

    dagster-dbt's own rule, given our specs (they carry each dbt node's unique id, as its do):
    the definition's selection when everything runs, otherwise the selected models by fully
    qualified name and, when some tests of a selected model are left out, the selected tests
    with indirect selection turned off.
    """
    op_tags = context.assets_def.op.tags
    args, indirect_selection = get_subset_selection_for_context(
        context=context,
        manifest=manifest,
        select=op_tags.get(DAGSTER_DBT_SELECT_METADATA_KEY),
        exclude=op_tags.get(DAGSTER_DBT_EXCLUDE_METADATA_KEY),
        selector=None,
        dagster_dbt_translator=translator,
        current_dbt_indirect_selection_env=os.environ.get("DBT_INDIRECT_SELECTION"),
    )
    if indirect_selection:
        # dagster-dbt sets DBT_INDIRECT_SELECTION only when it has the context; dbt's flag is
        # the same setting, for this invocation alone.
        args = [*args, "--indirect-selection", indirect_selection]
    return args


def step_results(context: dg.AssetExecutionContext, events: Iterable[Any]) -> Iterator[DbtResult]:
    """dagster-dbt's context-free events as this step's results.

    A test dbt ran that is not among the step's selected checks (dbt's indirect selection runs
    every test touching a selected model, e.g. a relationships test of a model not selected)
    is reported as an observation of its model, as dagster-dbt does with the context.
    """
    selected_checks = context.selected_asset_check_keys
    for event in events:
        if isinstance(event, dg.AssetMaterialization):
            yield dg.MaterializeResult(asset_key=event.asset_key, metadata=dict(event.metadata))
        elif isinstance(event, dg.AssetCheckEvaluation):
            if dg.AssetCheckKey(event.asset_key, event.check_name) in selected_checks:
                yield dg.AssetCheckResult(
                    asset_key=event.asset_key,
                    check_name=event.check_name,
                    passed=event.passed,
                    severity=event.severity,
                    metadata=dict(event.metadata),
                )
            else:
                yield dg.AssetObservation(
                    asset_key=event.asset_key,
                    metadata=dict(event.metadata),
                    description=(
                        f"dbt test {event.check_name} ran (dbt's indirect selection) but its "
                        "check was not selected in this run"
                    ),
                )
        elif isinstance(event, dg.AssetObservation):
            yield event
        else:
            raise TypeError(f"unexpected event from dagster-dbt without a context: {event!r}")


def _built_tables(
    manifest: Mapping[str, Any], results: list[DbtResult]
) -> dict[dg.AssetKey, tuple[str, str]]:
    """(schema, table) of each model that dbt materialized as a table (views skipped)."""
    nodes = manifest["nodes"]
    built: dict[dg.AssetKey, tuple[str, str]] = {}
    for result in results:
        if not isinstance(result, dg.MaterializeResult) or result.asset_key is None:
            continue
        unique_id = (result.metadata or {}).get("unique_id")
        node = nodes.get(getattr(unique_id, "value", unique_id))
        if node and node["config"].get("materialized") in ("table", "incremental"):
            built[result.asset_key] = (node["schema"], node["alias"])
    return built


def _set_run_window(warehouse: Warehouse, window: RunWindow | None) -> None:
    """Write the window dbt's macros read; the caller holds the writer lock (hence a plain
    connection, not ``warehouse.writer()``, which would wait for that same lock)."""
    with closing(warehouse.connect(read_only=False)) as connection:
        write_run_window(connection, window)


def _parse_report(target_path: Path) -> str:
    """A log line saying whether dbt reused its parse cache (from its debug log)."""
    log = target_path / "dbt.log"
    try:
        text = log.read_text(errors="replace")
    except FileNotFoundError:
        return f"dbt wrote no log at {log}"
    for line in text.splitlines():
        if FULL_PARSE_MARK in line:
            return f"dbt parsed the whole project: {line.strip()[-200:]}"
    return "dbt reused its partial parse (only changed project files were parsed)"


def _parse_cache(shared_target: Path, warehouse_path: Path) -> Path:
    """Where runs on ``warehouse_path`` keep dbt's parse cache between them.

    One per warehouse file: the path is in the profile, and a cache parsed with another one
    (``prepare``'s, or another warehouse's: tests, benchmarks) makes dbt parse everything again.
    """
    key = hashlib.sha256(str(warehouse_path).encode()).hexdigest()[:16]
    return shared_target / f"partial_parse-{key}.msgpack"


def _reuse_parse_cache(cache: Path, target_path: Path) -> None:
    """Start this run from the cache the previous run on this warehouse left. dagster-dbt then
    leaves it be (it copies ``target/partial_parse.msgpack`` only where there is none)."""
    if cache.is_file():
        target_path.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cache, target_path / PARTIAL_PARSE_FILE)


def _keep_parse_cache(target_path: Path, cache: Path) -> None:
    """Keep the parse cache this run left for the next run on the same warehouse. Replaced
    atomically: another process may be starting a run from it."""
    produced = target_path / PARTIAL_PARSE_FILE
    if not produced.is_file():
        return
    staged = cache.with_name(f".{cache.name}.{uuid.uuid4().hex}.tmp")
    shutil.copyfile(produced, staged)
    os.replace(staged, cache)
    # Warehouses that stopped running (test and benchmark folders) leave theirs behind.
    stale_before = time.time() - PARSE_CACHE_MAX_AGE_SECONDS
    for other in cache.parent.glob("partial_parse-*.msgpack"):
        with contextlib.suppress(FileNotFoundError):
            if other.stat().st_mtime < stale_before:
                other.unlink()


def _count_rows(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    tables: set[tuple[str, str]],
    window: RunWindow | None,
) -> dict[tuple[str, str], tuple[int, RunWindow | None]]:
    """Row counts for metadata; a failure to count costs the counts, not the materializations."""
    import duckdb

    if not tables:
        return {}
    try:
        return count_rows(warehouse, tables, window)
    except (duckdb.Error, TimeoutError) as error:
        context.log.warning(f"no row counts for {sorted(tables)} in {warehouse.path}: {error}")
        return {}


def _count_metadata(rows: int, window: RunWindow | None) -> dict[str, Any]:
    if window is None:
        return {"dagster/row_count": rows}
    metadata: dict[str, Any] = {"rows_in_run_window": rows}
    if window.is_one_day:
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
