"""The IO manager that stores every asset as a lake table and a warehouse view.

An asset's table is ``<group>/<last part of its key>``; daily-partitioned assets get one file
per partition, chosen by each row's ``date``. After writing, the view ``<group>.<asset>`` is
(re)registered in the DuckDB warehouse so analysts see the new data at once.

Only declared tables are stored: the asset's definition metadata must hold the column schema
of its ``TableContract`` (``defs.table_metadata.contract_metadata``). An output whose columns or
types differ from it fails before anything is written, and every materialization records the
row count and that schema, column descriptions included.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import Field

from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.defs.table_metadata import COLUMN_SCHEMA, preview_markdown
from spotify_agent_assets.lake import PARTITION_COLUMN, ParquetLake, validate_partition_key
from spotify_agent_assets.lake.partitioned_output import PartitionedOutput
from spotify_agent_assets.lake.table_contract import column_differences

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    import pyarrow as pa

# Error messages list at most this many dates or partitions before summarising.
MAX_LISTED = 10
MAX_KEYS_IN_METADATA = 31
# A backfill builds and writes hundreds of partitions in one step: a log line this often.
PROGRESS_SECONDS = 10.0
EPOCH = date(1970, 1, 1)


class LakeIOManager(dg.ConfigurableIOManager):
    """Stores pandas DataFrames / Arrow tables as Parquet in the lake, views in DuckDB.

    Inputs load as Arrow tables (cheap to import, lists stay lists); call ``.to_pandas()`` where
    a frame is wanted.
    """

    storage: LakeResource = Field(description="The lake and warehouse the tables go to.")

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        asset_key = context.asset_key
        label = asset_key.to_user_string()
        group, asset = context.asset_spec.group_name, asset_key.path[-1]
        warehouse = self.storage.warehouse()
        lake = warehouse.lake
        declared = _declared_schema(context, label)

        if isinstance(obj, PartitionedOutput):
            keys = list(context.asset_partition_keys) if context.has_asset_partitions else []
            if sorted(obj.keys) != sorted(keys):
                raise dg.DagsterInvariantViolationError(
                    f"asset {label} returned partitions {_summarise(sorted(obj.keys))}, but "
                    f"this run materializes {_summarise(sorted(keys)) or 'no partitions'}"
                )
            _check_columns(obj.schema, declared, label)
            items = _checked(obj.items(), declared, label)
            written = lake.write_partitions(group, asset, _logged(context, label, items, len(keys)))
            rows = sum(w.rows for w in written)
        elif context.has_asset_partitions:
            table = _as_declared(_as_arrow(obj, label), declared, label)
            keys = list(context.asset_partition_keys)
            slices = _split_by_partition(table, keys, label)
            lake.write_partitions(group, asset, ((k, t, None) for k, t in slices.items()))
            rows = table.num_rows
        else:
            table = _as_declared(_as_arrow(obj, label), declared, label)
            keys = []
            lake.write(table, group, asset)
            rows = table.num_rows
        view = warehouse.register(group, asset, partitioned=bool(keys))

        metadata = {
            "lake_uri": dg.MetadataValue.path(lake.table_uri(group, asset)),
            "dagster/row_count": dg.MetadataValue.int(rows),
            "partitions_written": dg.MetadataValue.json(_partitions_written(keys)),
            "warehouse_table": dg.MetadataValue.text(view),
            "dagster/table_name": dg.MetadataValue.text(view),
        }
        if len(keys) <= MAX_KEYS_IN_METADATA:
            # The declared schema, which the output was just checked against: the same types
            # as the written files, with the contract's descriptions. Dagster copies a run's
            # metadata onto every partition it wrote; a backfill of years leaves the schema to
            # the definition, which the UI shows just the same.
            metadata[COLUMN_SCHEMA] = dg.MetadataValue.table_schema(declared)
        # An asset may show a preview of its own choosing (a few telling columns of a wide
        # table); a partitioned output is built while written, so there is no table to show.
        if "preview" not in context.output_metadata and not isinstance(obj, PartitionedOutput):
            metadata["preview"] = dg.MetadataValue.md(preview_markdown(table))
        context.add_output_metadata(metadata)

    def load_input(self, context: dg.InputContext) -> pa.Table:
        upstream = context.upstream_output
        if upstream is None or not context.has_asset_key:
            raise dg.DagsterInvariantViolationError(
                f"LakeIOManager can only load asset inputs; input {context.name!r} is not one"
            )
        group, asset = upstream.asset_spec.group_name, context.asset_key.path[-1]
        lake = self.storage.lake()
        keys: Sequence[str] | None = None
        if context.has_asset_partitions:
            keys = list(context.asset_partition_keys)
            if context.definition_metadata.get("allow_missing_partitions", False):
                existing = set(lake.partitions(group, asset))
                keys = [key for key in keys if key in existing]
                if not keys:
                    return _empty_frame_like(lake, group, asset)
        return lake.read(group, asset, partition_keys=keys)


def _as_arrow(obj: Any, label: str) -> pa.Table:
    import pandas as pd
    import pyarrow as pa

    if isinstance(obj, pa.Table):
        return obj
    if isinstance(obj, pd.DataFrame):
        # The index is an in-memory artefact; columns are the table.
        return pa.Table.from_pandas(obj, preserve_index=False)
    raise dg.DagsterInvariantViolationError(
        f"asset {label} returned a {type(obj).__module__}.{type(obj).__qualname__}; "
        "LakeIOManager stores only a pandas.DataFrame or pyarrow.Table"
    )


def _split_by_partition(table: pa.Table, keys: list[str], label: str) -> dict[str, pa.Table]:
    """One slice per partition of the run (empty where no rows), after checking every row fits.

    Everything is checked before anything is written, so a bad run leaves the lake untouched.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if PARTITION_COLUMN not in table.column_names:
        raise dg.DagsterInvariantViolationError(
            f"asset {label} is daily-partitioned but its output has no {PARTITION_COLUMN!r} "
            f"column (columns: {', '.join(table.column_names)})"
        )
    try:
        days = {key: validate_partition_key(key) for key in keys}
    except ValueError as error:
        raise dg.DagsterInvariantViolationError(
            f"asset {label} must be daily-partitioned (keys YYYY-MM-DD) to be stored in the "
            f"lake: {error}"
        ) from error
    try:
        dates = pc.cast(table.column(PARTITION_COLUMN), pa.date32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise dg.DagsterInvariantViolationError(
            f"column {PARTITION_COLUMN!r} of asset {label} is "
            f"{table.schema.field(PARTITION_COLUMN).type}, not a date: {error}"
        ) from error

    found = set(pc.unique(dates).to_pylist())
    outside = found - set(days.values())
    if outside:
        shown = sorted("null" if day is None else day.isoformat() for day in outside)
        raise dg.DagsterInvariantViolationError(
            f"asset {label} produced rows dated {_summarise(shown)}, outside the partitions "
            f"this run materializes ({_summarise(sorted(keys))})"
        )
    table = table.set_column(
        table.schema.get_field_index(PARTITION_COLUMN),
        pa.field(PARTITION_COLUMN, pa.date32()),
        dates,
    )
    # One stable sort by day and a slice per day: a filter per key would read the whole table
    # once per partition, which a backfill of thousands of days cannot afford.
    order = pc.sort_indices(dates)
    ordered = table.take(order)
    numbers = pc.cast(ordered.column(PARTITION_COLUMN), pa.int32()).to_numpy(zero_copy_only=False)
    slices: dict[str, pa.Table] = {}
    for key, day in days.items():
        number = (day - EPOCH).days
        start, end = numbers.searchsorted(number, "left"), numbers.searchsorted(number, "right")
        slices[key] = ordered.slice(start, end - start)
    return slices


def _partitions_written(keys: list[str]) -> list[str] | dict[str, Any]:
    """The keys for a run of a month or less, else their count and range: Dagster copies the
    metadata onto each partition's materialization, so a backfill of years listing every key
    would store the list thousands of times."""
    if len(keys) <= MAX_KEYS_IN_METADATA:
        return keys
    ordered = sorted(keys)
    return {"count": len(ordered), "first": ordered[0], "last": ordered[-1]}


def _summarise(values: list[str]) -> str:
    if len(values) <= MAX_LISTED:
        return ", ".join(values)
    return f"{', '.join(values[:MAX_LISTED])}, … ({len(values)} in all, up to {values[-1]})"


def _declared_schema(context: dg.OutputContext, label: str) -> dg.TableSchema:
    """The column schema the asset's definition declares (from its table contract)."""
    value = context.definition_metadata.get(COLUMN_SCHEMA)
    if isinstance(value, dg.TableSchemaMetadataValue):
        value = value.schema
    if not isinstance(value, dg.TableSchema) or not value.columns:
        raise dg.DagsterInvariantViolationError(
            f"asset {label} declares no table contract: LakeIOManager stores only tables whose "
            f"definition metadata holds {COLUMN_SCHEMA!r}; add "
            "metadata=contract_metadata(<its TableContract>) (defs.table_metadata) to the asset"
        )
    return value


def _declared_types(declared: dg.TableSchema) -> Mapping[str, str]:
    return {column.name: column.type for column in declared.columns}


def _check_columns(schema: pa.Schema, declared: dg.TableSchema, label: str) -> None:
    problems = column_differences(_declared_types(declared), schema)
    if problems:
        raise dg.DagsterInvariantViolationError(
            f"asset {label} returned a table that does not fit its contract, so nothing was "
            f"written: {'; '.join(problems)}"
        )


def _as_declared(table: pa.Table, declared: dg.TableSchema, label: str) -> pa.Table:
    """``table`` checked against the contract, its columns in the declared order."""
    _check_columns(table.schema, declared, label)
    return table.select([column.name for column in declared.columns])


def _checked(
    partitions: Iterable[tuple[str, pa.Table, Mapping[str, str] | None]],
    declared: dg.TableSchema,
    label: str,
) -> Iterator[tuple[str, pa.Table, Mapping[str, str] | None]]:
    """Each lazily built partition checked before it is written."""
    for key, table, footer in partitions:
        yield key, _as_declared(table, declared, label), footer


def _logged(
    context: dg.OutputContext,
    label: str,
    partitions: Iterable[tuple[str, pa.Table, Mapping[str, str] | None]],
    total: int,
) -> Iterator[tuple[str, pa.Table, Mapping[str, str] | None]]:
    """``partitions`` as given, logging every `PROGRESS_SECONDS` how many were written (the
    writer asks for the next one once it has written the last)."""
    started = last = time.monotonic()
    for done, item in enumerate(partitions, 1):
        yield item
        now = time.monotonic()
        if now - last >= PROGRESS_SECONDS and done < total:
            last = now
            context.log.info(
                f"{label}: {done}/{total} partitions built and written in {now - started:.0f}s "
                f"(last {item[0]})"
            )


def _empty_frame_like(lake: ParquetLake, group: str, asset: str) -> pa.Table:
    """No requested partition exists yet: an empty table with the stored columns."""
    partitions = lake.partitions(group, asset)
    if not partitions:
        # A table never written is an error even here; reading reports it by name.
        return lake.read(group, asset)
    return lake.read(group, asset, partition_keys=partitions[:1]).slice(0, 0)
