"""The IO manager that stores every asset as a lake table and a warehouse view.

An asset's table is ``<group>/<last part of its key>``; daily-partitioned assets get one file
per partition, chosen by each row's ``date``. After writing, the view ``<group>.<asset>`` is
(re)registered in the DuckDB warehouse so analysts see the new data at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import Field

from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.lake import PARTITION_COLUMN, ParquetLake, validate_partition_key
from spotify_agent_assets.lake.partitioned_output import PartitionedOutput

if TYPE_CHECKING:
    import pyarrow as pa

# Error messages list at most this many dates or partitions before summarising.
MAX_LISTED = 10
MAX_KEYS_IN_METADATA = 31
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

        if isinstance(obj, PartitionedOutput):
            keys = list(context.asset_partition_keys) if context.has_asset_partitions else []
            if sorted(obj.keys) != sorted(keys):
                raise dg.DagsterInvariantViolationError(
                    f"asset {label} returned partitions {_summarise(sorted(obj.keys))}, but "
                    f"this run materializes {_summarise(sorted(keys)) or 'no partitions'}"
                )
            written = lake.write_partitions(group, asset, obj.items())
            rows, schema = sum(w.rows for w in written), obj.schema
        elif context.has_asset_partitions:
            table = _as_arrow(obj, label)
            keys = list(context.asset_partition_keys)
            slices = _split_by_partition(table, keys, label)
            lake.write_partitions(group, asset, ((k, t, None) for k, t in slices.items()))
            rows, schema = table.num_rows, table.schema
        else:
            table = _as_arrow(obj, label)
            keys = []
            lake.write(table, group, asset)
            rows, schema = table.num_rows, table.schema
        view = warehouse.register(group, asset, partitioned=bool(keys))

        context.add_output_metadata(
            {
                "lake_uri": dg.MetadataValue.path(lake.table_uri(group, asset)),
                "dagster/row_count": dg.MetadataValue.int(rows),
                "partitions_written": dg.MetadataValue.json(_partitions_written(keys)),
                "warehouse_table": dg.MetadataValue.text(view),
                "dagster/table_name": dg.MetadataValue.text(view),
                "dagster/column_schema": dg.MetadataValue.table_schema(_column_schema(schema)),
            }
        )

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


def _column_schema(schema: pa.Schema) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(name=f.name, type=str(f.type)) for f in schema])


def _empty_frame_like(lake: ParquetLake, group: str, asset: str) -> pa.Table:
    """No requested partition exists yet: an empty table with the stored columns."""
    partitions = lake.partitions(group, asset)
    if not partitions:
        # A table never written is an error even here; reading reports it by name.
        return lake.read(group, asset)
    return lake.read(group, asset, partition_keys=partitions[:1]).slice(0, 0)
