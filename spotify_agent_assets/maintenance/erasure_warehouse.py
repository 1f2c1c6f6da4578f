"""Removing erased listeners from the DuckDB warehouse file, leaving no trace in free blocks.

The lake's tables are views in the warehouse and lose the listener with their files; the dbt
tables (``intermediate.int_track_listener_first_seen`` and whatever comes later) hold copies.
Base tables are found in the catalog, not listed by hand: one with ``listener_key`` is cleaned,
one with another listener-like text column fails the erasure. A DELETE would leave the old
values in the file's free blocks, so the warehouse is instead copied into a fresh file (schema,
views, then each table's surviving rows), checked row for row, and renamed over the old one,
all under the warehouse's exclusive writer lock: a reader sees the old file or the new one.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING

from spotify_agent_assets.lake.warehouse import (
    CONNECTION_CONFIG,
    exclusive_warehouse_lock,
    quote_identifier,
    quote_literal,
)
from spotify_agent_assets.maintenance.erasure_lake import (
    LISTENER_KEY,
    LISTENER_LIKE,
    UnknownListenerColumnError,
    digest_sql,
    register_digests,
)

if TYPE_CHECKING:
    import duckdb

SOURCE = "warehouse"
FRESH = "fresh"


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def base_tables(con: duckdb.DuckDBPyConnection, database: str) -> list[tuple[str, str, bool]]:
    """``(schema, table, has listener_key)`` for every base table of ``database``; raises on a
    listener-like text column other than ``listener_key``."""
    columns = con.execute(
        "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = ? ORDER BY ALL",
        [database],
    ).fetchall()
    tables = {
        (s, t): False
        for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? "
            "AND NOT temporary ORDER BY ALL",
            [database],
        ).fetchall()
    }
    for schema, table, column, data_type in columns:
        if (schema, table) not in tables:
            continue  # a view: it reads the lake, cleaned at the source
        if column == LISTENER_KEY:
            tables[(schema, table)] = True
        elif data_type == "VARCHAR" and LISTENER_LIKE.search(column):
            raise UnknownListenerColumnError(
                f"warehouse table {schema}.{table} has a text column {column!r} that looks "
                f"like a listener; erasure only knows {LISTENER_KEY!r}: teach "
                "maintenance.erasure_warehouse about it"
            )
    return [(s, t, has) for (s, t), has in tables.items()]


def _name(database: str, schema: str, table: str) -> str:
    return ".".join(quote_identifier(part) for part in (database, schema, table))


def plan_warehouse(path: Path, digests: Collection[str]) -> tuple[dict[str, int], set[str]]:
    """Rows of erased listeners per warehouse table, and the digests found."""
    import duckdb

    counts: dict[str, int] = {}
    found: set[str] = set()
    if not path.exists() or not digests:
        return counts, found
    with exclusive_warehouse_lock(_lock_path(path)):
        con = duckdb.connect(str(path), read_only=True, config=CONNECTION_CONFIG)
        try:
            register_digests(con, digests)
            database = con.execute("SELECT current_database()").fetchone()[0]
            for schema, table, has_key in base_tables(con, database):
                if not has_key:
                    continue
                rows = con.execute(
                    f"SELECT {digest_sql(LISTENER_KEY)} AS d, count(*) FROM "  # noqa: S608 -- quoted names, constant digest SQL
                    f"{_name(database, schema, table)} WHERE {digest_sql(LISTENER_KEY)} IN "
                    "(SELECT d FROM erased) GROUP BY ALL"
                ).fetchall()
                if rows:
                    counts[f"{schema}.{table}"] = sum(n for _, n in rows)
                    found.update(d for d, _ in rows)
        finally:
            con.close()
    return counts, found


def erase_warehouse(path: Path, digests: Collection[str]) -> dict[str, int]:
    """Replace the warehouse file with a compacted copy without erased listeners; returns
    the rows removed per table. Safe to repeat (a clean warehouse is copied unchanged)."""
    import duckdb

    removed: dict[str, int] = {}
    if not path.exists():
        return removed
    with exclusive_warehouse_lock(_lock_path(path)):
        for leftover in path.parent.glob(f".{path.name}.erasure-*"):
            leftover.unlink()  # a killed erasure's half-built copy; we hold the lock
        # Fold any write-ahead log into the file first: the copy reads the file as it stands,
        # and an old WAL must never sit beside the new file.
        duckdb.connect(str(path), config=CONNECTION_CONFIG).close()
        fresh = path.with_name(f".{path.name}.erasure-{uuid.uuid4().hex}.tmp")
        con = duckdb.connect(config=CONNECTION_CONFIG)
        try:
            register_digests(con, digests)
            con.execute(f"ATTACH {quote_literal(str(path))} AS {SOURCE} (READ_ONLY)")
            con.execute(f"ATTACH {quote_literal(str(fresh))} AS {FRESH}")
            con.execute(f"COPY FROM DATABASE {SOURCE} TO {FRESH} (SCHEMA)")
            for schema, table, has_key in base_tables(con, SOURCE):
                source, target = _name(SOURCE, schema, table), _name(FRESH, schema, table)
                keep = (
                    f" WHERE {LISTENER_KEY} IS NULL OR {digest_sql(LISTENER_KEY)} NOT IN "  # noqa: S608 -- constant column and digest SQL
                    "(SELECT d FROM erased)"
                    if has_key
                    else ""
                )
                con.execute(f"INSERT INTO {target} SELECT * FROM {source}{keep}")  # noqa: S608 -- quoted names, constant filter
                [(before,)] = con.execute(f"SELECT count(*) FROM {source}").fetchall()  # noqa: S608 -- quoted names
                [(after,)] = con.execute(f"SELECT count(*) FROM {target}").fetchall()  # noqa: S608 -- quoted names
                [(gone,)] = (
                    con.execute(
                        f"SELECT count(*) FROM {source} WHERE {digest_sql(LISTENER_KEY)} IN "  # noqa: S608 -- quoted names, constant digest SQL
                        "(SELECT d FROM erased)"
                    ).fetchall()
                    if has_key
                    else [(0,)]
                )
                if before - after != gone:
                    raise RuntimeError(
                        f"copying warehouse table {schema}.{table} kept {after} of {before} "
                        f"rows, expected {before - gone}; the warehouse was not replaced"
                    )
                if gone:
                    removed[f"{schema}.{table}"] = gone
            con.execute(f"DETACH {FRESH}")
        except BaseException:
            con.close()
            fresh.unlink(missing_ok=True)
            fresh.with_name(fresh.name + ".wal").unlink(missing_ok=True)
            raise
        con.close()
        _fsync(fresh)
        os.replace(fresh, path)
        _fsync(path.parent)
    return removed


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
