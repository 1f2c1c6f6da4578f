"""Validation row by row through the DuckDB query, and the DuckDB pieces ingestion shares.

The query (``validation_sql``) runs over the Arrow batch and reports a reason per rejected
row; Python only touches those (few) rows, to render them. This is the path for text formats
and for typed input of odd types, and it gives the reasons for rows the per-value screen
(``value_screen``) refuses. ``connect`` sets up the connection every ingestion step uses;
``hash_strings`` is DuckDB's ``hash``, the integers de-duplication compares.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spotify_agent_assets.streams.event_schema import V1_COLUMNS
from spotify_agent_assets.streams.raw_batch import RawBatch, as_array
from spotify_agent_assets.streams.validation_result import (
    ValidationResult,
    empty_to_null,
    in_v1_types,
    render_rejected,
)
from spotify_agent_assets.streams.validation_sql import TYPED_COLUMNS, build_validation_sql

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa


# DuckDB parallelises an Arrow scan by record batch.
SCAN_CHUNK_ROWS = 122_880


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection set up for validation: UTC session (so timestamps and the UTC day
    come out in UTC) and insertion order kept (ingestion's "first occurrence wins")."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = true")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def validate_rows(
    batch: RawBatch, *, require_event_id: bool, con: duckdb.DuckDBPyConnection
) -> ValidationResult:
    """Every row through the validation query (text formats, or typed input of odd types)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    table = batch.table
    result = run_validation_sql(
        table, np.arange(table.num_rows, dtype=np.int64), require_event_id, con
    )
    ok = pc.is_null(result["__reason"])
    # Columns validation does not change are taken from the input, not copied through
    # DuckDB: exporting strings back to Arrow was most of the cost.
    columns = {
        name: result[name]
        if name in result.column_names
        else table[name]
        if name in TYPED_COLUMNS
        else empty_to_null(table[name])
        for name in V1_COLUMNS
    }
    fixes = result["track_fix"]
    if fixes.null_count < len(fixes):
        columns["track_id"] = pc.coalesce(fixes, table["track_id"].cast(pa.string()))
    bad = result.filter(pc.invert(ok)).select(["__row", "__reason"])
    return ValidationResult(
        rows=in_v1_types(pa.table(columns)),
        ok=ok.to_numpy(zero_copy_only=False),
        rejected=render_rejected(batch, bad),
        row_hashes=as_array(result["__event_hash"]),
    )


def run_validation_sql(
    table: pa.Table, rows: Any, require_event_id: bool, con: duckdb.DuckDBPyConnection
) -> pa.Table:
    """The validation query's result for ``table`` (whose rows are ``rows`` of the batch),
    in input order."""
    import numpy as np
    import pyarrow as pa

    sql = build_validation_sql(table.schema, require_event_id=require_event_id)
    # Several record batches let DuckDB scan with all its threads; one big chunk is serial.
    scan = pa.Table.from_batches(
        table.combine_chunks().to_batches(max_chunksize=SCAN_CHUNK_ROWS), schema=table.schema
    ).append_column("__row", pa.array(rows, pa.int64()))
    con.register("raw_batch", scan)
    try:
        result = con.execute(sql).to_arrow_table()
    finally:
        con.unregister("raw_batch")
    got = result["__row"].to_numpy()
    if not np.array_equal(got, rows):
        # Insertion order is preserved by setting; this guards the column alignment below.
        result = result.take(np.argsort(np.searchsorted(rows, got), kind="stable"))
    return result


def hash_strings(values: Any, con: duckdb.DuckDBPyConnection) -> pa.Array:
    """DuckDB's 64-bit ``hash`` of each string: what the validation query returns as
    ``__event_hash``, so both paths give de-duplication the same integers."""
    import pyarrow as pa

    con.register("hash_input", pa.table({"v": values}))
    try:
        out = con.execute("SELECT hash(v) AS h FROM hash_input").to_arrow_table()
    finally:
        con.unregister("hash_input")
    return as_array(out["h"])
