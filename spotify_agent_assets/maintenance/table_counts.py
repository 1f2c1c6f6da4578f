"""Row counts a backup promises and a restore must prove, counted the same way on both sides.

Lake tables are counted from their Parquet footers (``lake:<group>.<asset>``), warehouse tables
with count(*) (``warehouse:<schema>.<table>``). Only the warehouse's stored tables count: its
views read the lake by absolute path, so counting them in a restored copy would count the live
lake, not the backup.
"""

from __future__ import annotations

from pathlib import Path

from spotify_agent_assets.lake.parquet_lake import NAME_PATTERN

LAKE_PREFIX = "lake/"


def lake_table_of(path: str) -> str | None:
    """``lake:<group>.<asset>`` for a visible Parquet file at backup path ``path``, else None."""
    if not path.startswith(LAKE_PREFIX) or not path.endswith(".parquet"):
        return None
    parts = path[len(LAKE_PREFIX) :].split("/")
    if len(parts) < 3 or any(part.startswith(".") for part in parts):
        return None
    group, asset = parts[0], parts[1]
    if not (NAME_PATTERN.fullmatch(group) and NAME_PATTERN.fullmatch(asset)):
        return None
    return f"lake:{group}.{asset}"


def parquet_rows(source: bytes | Path) -> int:
    """Rows in a Parquet file (its footer only), from its bytes or a local path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if isinstance(source, bytes):
        return pq.read_metadata(pa.BufferReader(source)).num_rows
    return pq.read_metadata(str(source)).num_rows


def warehouse_counts(path: Path) -> dict[str, int]:
    """count(*) of every stored table in the DuckDB file at ``path`` (a copy: read-only)."""
    import duckdb

    from spotify_agent_assets.lake.warehouse import CONNECTION_CONFIG, quote_identifier

    with duckdb.connect(str(path), read_only=True, config=CONNECTION_CONFIG) as connection:
        tables = connection.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() "
            "WHERE NOT internal AND database_name = current_database() ORDER BY 1, 2"
        ).fetchall()
        counts = {}
        for schema, table in tables:
            name = f"{quote_identifier(schema)}.{quote_identifier(table)}"
            (rows,) = connection.execute(f"SELECT count(*) FROM {name}").fetchone()  # type: ignore[misc]  # noqa: S608 -- name is quoted identifiers
            counts[f"warehouse:{schema}.{table}"] = int(rows)
    return counts
