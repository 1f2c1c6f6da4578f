"""Row counts of the tables a dbt run built, read once dbt has exited (for asset metadata)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import closing

from spotify_agent_assets.lake.warehouse import Warehouse, quote_identifier


def count_rows(
    warehouse: Warehouse,
    tables: Iterable[tuple[str, str]],
    window: Mapping[str, str] | None = None,
    date_column: str = "date",
) -> dict[tuple[str, str], int]:
    """Rows of each ``(schema, table)``; with a ``min_date``/``max_date`` window, only the rows
    of those days. Open this only after dbt has closed the file: DuckDB refuses a second
    process while one holds it for writing."""
    counts: dict[tuple[str, str], int] = {}
    with closing(warehouse.connect(read_only=True)) as connection:
        for schema, table in tables:
            relation = f"{quote_identifier(schema)}.{quote_identifier(table)}"
            if window:
                row = connection.execute(
                    f"SELECT count(*) FROM {relation} "
                    f"WHERE {quote_identifier(date_column)} BETWEEN ?::DATE AND ?::DATE",
                    [window["min_date"], window["max_date"]],
                ).fetchone()
            else:
                row = connection.execute(f"SELECT count(*) FROM {relation}").fetchone()
            counts[(schema, table)] = int(row[0]) if row else 0
    return counts
