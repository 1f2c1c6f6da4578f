"""Column schemas and column-level lineage of the dbt models a step built, for the UI.

dagster-dbt's ``fetch_column_metadata()`` reads each built model's columns (and its parents')
through dbt's adapter in this process and derives, with sqlglot over the compiled SQL, which
upstream columns each column comes from (``dagster/column_lineage``). It is run here on the
step's events once dbt has exited, while the step still holds the warehouse writer lock: a
DuckDB file open for writing in the dbt process cannot be opened by another, and dagster-dbt's
own DuckDB path (exhausting the stream first) can race dbt's exit.

The schema it reads has the database's types but no descriptions, and the latest
materialization's schema is what the UI shows; so each column keeps its description and
constraints from the definition's schema (the dbt yml, `dbt_specs`), with the type as built.

Imported by the dbt step only (dagster-dbt is a run-time import, see `dbt_run`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import dagster as dg

if TYPE_CHECKING:
    from dagster_dbt import DbtCliInvocation

COLUMN_SCHEMA_KEY = "dagster/column_schema"
COLUMN_LINEAGE_KEY = "dagster/column_lineage"


def with_column_metadata(
    context: dg.AssetExecutionContext, invocation: DbtCliInvocation, events: Sequence[Any]
) -> list[Any]:
    """``events`` with column schema and lineage added to each model's materialization.

    Only materializations are looked at (tests and observations pass through unchanged, in
    order). A model whose columns cannot be read keeps its other metadata: dagster-dbt logs a
    warning and adds nothing, and the step does not fail for want of lineage.
    """
    from dagster_dbt.core.dbt_event_iterator import DbtEventIterator

    positions = [i for i, e in enumerate(events) if isinstance(e, dg.AssetMaterialization)]
    if not positions or invocation.adapter is None:
        return list(events)
    started = time.monotonic()
    materializations = iter([events[i] for i in positions])
    # dagster-dbt fetches in a thread pool, each thread `pushd`-ing into the dbt project: two
    # threads interleaving their pushd/popd left the process in the project folder, after which
    # every relative path of the step (config/*.yaml) resolved there. One thread (DuckDB serves
    # one connection at a time anyway), and the folder restored whatever happens.
    invocation.postprocessing_threadpool_num_threads = 1
    cwd = os.getcwd()
    try:
        enriched = list(DbtEventIterator(materializations, invocation).fetch_column_metadata())
    finally:
        os.chdir(cwd)
    _release_adapter(invocation)
    merged = list(events)
    with_lineage = 0
    for position, event in zip(positions, enriched, strict=True):
        definition = _definition_schema(context, event.asset_key)
        metadata = dict(event.metadata)
        if COLUMN_SCHEMA_KEY in metadata and definition is not None:
            metadata[COLUMN_SCHEMA_KEY] = dg.MetadataValue.table_schema(
                merge_column_docs(_schema_of(metadata[COLUMN_SCHEMA_KEY]), definition)
            )
        with_lineage += COLUMN_LINEAGE_KEY in metadata
        merged[position] = event.with_metadata(metadata)
    context.log.info(
        f"column schemas of {len(positions)} dbt model(s), column lineage of {with_lineage}, "
        f"read in {time.monotonic() - started:.1f}s"
    )
    return merged


def merge_column_docs(built: dg.TableSchema, documented: dg.TableSchema) -> dg.TableSchema:
    """The columns as built (names, order, database types), each with the description,
    constraints and tags the documented schema gives a column of that name (case-insensitive).
    A column the documentation lacks is kept as built: the UI then shows it undocumented."""
    docs = {column.name.lower(): column for column in documented.columns}
    columns = []
    for column in built.columns:
        doc = docs.get(column.name.lower())
        columns.append(
            column
            if doc is None
            else dg.TableColumn(
                name=column.name,
                type=column.type,
                description=doc.description,
                constraints=doc.constraints,
                tags=doc.tags,
            )
        )
    return dg.TableSchema(columns=columns, constraints=documented.constraints)


def _definition_schema(
    context: dg.AssetExecutionContext, key: dg.AssetKey | None
) -> dg.TableSchema | None:
    spec = context.assets_def.specs_by_key.get(key) if key is not None else None
    value = (spec.metadata if spec is not None else {}).get(COLUMN_SCHEMA_KEY)
    return _schema_of(value) if value is not None else None


def _schema_of(value: Any) -> dg.TableSchema:
    # Definition metadata holds a TableSchema; event metadata its MetadataValue wrapper.
    return value.schema if isinstance(value, dg.TableSchemaMetadataValue) else value


def _release_adapter(invocation: DbtCliInvocation) -> None:
    """Close the adapter's connections and its database, so this process holds no handle on
    the DuckDB file once the step's lock is released: an in-process run goes on to other steps,
    and DuckDB refuses a read-write connection while this read-only one is open."""
    adapter = invocation.adapter
    if adapter is None:
        return
    adapter.cleanup_connections()
    # dbt-duckdb keeps its database open across connections (keep_open: our profile loads a
    # plugin); its connection manager's environment owns it.
    manager = type(adapter.connections)
    if not (hasattr(manager, "env") and hasattr(manager, "close_all_connections")):
        return  # not dbt-duckdb: its connections were closed above
    try:
        environment = manager.env()
    except Exception:  # dbt-duckdb's bare Exception when no environment was ever created
        return
    environment.close()
    manager.close_all_connections()
