"""Row counts of the tables a dbt run built, read once dbt has exited (for asset metadata)."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import closing
from typing import TYPE_CHECKING

from spotify_agent_assets.analytics_dbt.run_window import RunWindow
from spotify_agent_assets.lake.warehouse import Warehouse, quote_identifier

if TYPE_CHECKING:
    import duckdb


def count_rows(
    warehouse: Warehouse,
    tables: Iterable[tuple[str, str]],
    window: RunWindow | None = None,
    date_column: str = "date",
) -> dict[tuple[str, str], tuple[int, RunWindow | None]]:
    """Rows of each ``(schema, table)`` and the window they were counted in: with a run window,
    only the rows of its days, except in a table without ``date_column`` (track_performance,
    which the daily runs rebuild whole), counted whole (window ``None``). Open this only after dbt has closed the file: DuckDB refuses a second process while
    one holds it for writing."""
    counts: dict[tuple[str, str], tuple[int, RunWindow | None]] = {}
    with closing(warehouse.connect(read_only=True)) as connection:
        for schema, table in tables:
            relation = f"{quote_identifier(schema)}.{quote_identifier(table)}"
            counted = window
            if counted is not None and not _has_column(connection, schema, table, date_column):
                counted = None
            if counted is not None:
                row = connection.execute(
                    f"SELECT count(*) FROM {relation} "  # noqa: S608 -- quoted identifiers; the dates are bound
                    f"WHERE {quote_identifier(date_column)} BETWEEN ?::DATE AND ?::DATE",
                    [counted.min_date, counted.max_date],
                ).fetchone()
            else:
                row = connection.execute(f"SELECT count(*) FROM {relation}").fetchone()  # noqa: S608 -- relation is two quoted identifiers
            counts[(schema, table)] = (int(row[0]) if row else 0, counted)
    return counts


def _has_column(
    connection: duckdb.DuckDBPyConnection, schema: str, table: str, column: str
) -> bool:
    row = connection.execute(
        "SELECT count(*) FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? AND column_name = ?",
        [schema, table, column],
    ).fetchone()
    return bool(row and row[0])
