"""Finding and removing erased listeners in the Parquet lake.

Every lake table is inspected, not a list of known ones: a table with a ``listener_key``
column is searched (by ledger digest, so the same code serves a fresh erasure and its
re-application after a restore), and a table with any other text column that looks like it
names a listener fails the erasure loudly instead of being skipped. A file holding an erased
listener is rewritten without their rows through the lake's own atomic write, keeping its
footer (a partition's provenance), so each file is either as before or as after.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from spotify_agent_assets.lake.parquet_lake import NAME_PATTERN, ParquetLake, with_write_hints
from spotify_agent_assets.lake.warehouse import lake_connection
from spotify_agent_assets.streams.erased_listeners import LEDGER_PREFIX, ledger_digest
from spotify_agent_assets.streams.tables import STREAM_EVENTS_WRITE_HINTS

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

LISTENER_KEY = "listener_key"
# Tables whose writer steers how columns are encoded (``lake.parquet_lake.WRITE_HINT``).
WRITE_HINTS_BY_TABLE = {("streams", "stream_events"): STREAM_EVENTS_WRITE_HINTS}
# Column names that would hold a listener if they were text; counts of listeners are numbers.
LISTENER_LIKE = re.compile(r"listener|user|username|account", re.IGNORECASE)


class UnknownListenerColumnError(RuntimeError):
    """A stored table has a listener-like column erasure does not know how to clean."""


@dataclass(frozen=True)
class FileErasure:
    """Rows of erased listeners in one lake file (one partition, or a whole table)."""

    group: str
    asset: str
    partition: str | None
    rows: int

    @property
    def table(self) -> str:
        return f"{self.group}.{self.asset}"

    def as_dict(self) -> dict[str, object]:
        return {"table": self.table, "partition": self.partition, "rows": self.rows}


def lake_tables(lake: ParquetLake) -> list[tuple[str, str]]:
    """Every ``(group, asset)`` folder of the lake, sorted."""
    from pyarrow.fs import FileSelector, FileType

    def folders(path: str) -> list[str]:
        selector = FileSelector(path, recursive=False, allow_not_found=True)
        return sorted(
            info.base_name
            for info in lake.filesystem.get_file_info(selector)
            if info.type == FileType.Directory and NAME_PATTERN.fullmatch(info.base_name)
        )

    root = lake.root.removeprefix("s3://")
    return [(group, asset) for group in folders(root) for asset in folders(f"{root}/{group}")]


def listener_tables(lake: ParquetLake) -> list[tuple[str, str]]:
    """Tables holding ``listener_key``; raises on a listener-like text column of another name."""
    import pyarrow as pa

    found = []
    for group, asset in lake_tables(lake):
        names: set[str] = set()
        for uris in lake.file_uris(group, asset).values():
            for uri in uris:
                schema = lake.read_schema(uri)
                for field in schema:
                    text = pa.types.is_string(field.type) or pa.types.is_large_string(field.type)
                    if text and LISTENER_LIKE.search(field.name) and field.name != LISTENER_KEY:
                        raise UnknownListenerColumnError(
                            f"lake table {group}.{asset} has a text column {field.name!r} that "
                            f"looks like a listener; erasure only knows {LISTENER_KEY!r} (an "
                            "HMAC pseudonym): teach maintenance.erasure_lake about it"
                        )
                names.update(schema.names)
        if LISTENER_KEY in names:
            found.append((group, asset))
    return found


def register_digests(con: duckdb.DuckDBPyConnection, digests: Collection[str]) -> None:
    """``erased(d)``: the ledger digests, for ``sha256(prefix || listener_key) IN erased``."""
    import pyarrow as pa

    con.register("erased", pa.table({"d": pa.array(sorted(digests), pa.string())}))


def digest_sql(column: str) -> str:
    """SQL for the ledger digest of a quoted text column (matches ``ledger_digest``)."""
    prefix = LEDGER_PREFIX.replace("'", "''")
    return f"sha256('{prefix}' || {column})"


def plan_lake(lake: ParquetLake, digests: Collection[str]) -> tuple[list[FileErasure], set[str]]:
    """The files holding erased listeners with their row counts, and the digests found."""
    plan: list[FileErasure] = []
    found: set[str] = set()
    if not digests:
        return plan, found
    with lake_connection(lake) as con:
        con.execute("SET enable_progress_bar = false")
        register_digests(con, digests)
        for group, asset in listener_tables(lake):
            by_file = {
                uri: key for key, uris in lake.file_uris(group, asset).items() for uri in uris
            }
            rows = con.execute(
                f"SELECT filename, {digest_sql('listener_key')} AS d, count(*) "  # noqa: S608 -- constant digest SQL; files bound
                "FROM read_parquet(?, filename = true, union_by_name = true, "
                "hive_partitioning = false) "
                f"WHERE listener_key IS NOT NULL AND {digest_sql('listener_key')} IN "
                "(SELECT d FROM erased) GROUP BY ALL",
                [sorted(by_file)],
            ).fetchall()
            counts: dict[str, int] = {}
            for filename, digest, n in rows:
                found.add(digest)
                counts[filename] = counts.get(filename, 0) + n
            plan += [
                FileErasure(group, asset, by_file[name], n) for name, n in sorted(counts.items())
            ]
    return plan, found


def without_erased(table: pa.Table, digests: Collection[str]) -> tuple[pa.Table, int]:
    """``table`` without rows whose ``listener_key`` is erased, and how many were removed.
    Each distinct key is hashed once."""
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = table[LISTENER_KEY]
    erased = [k for k in pc.unique(keys).to_pylist() if k and ledger_digest(k) in digests]
    if not erased:
        return table, 0
    hit = pc.fill_null(pc.is_in(keys, pa.array(erased, keys.type)), False)
    kept = table.filter(pc.invert(hit))
    return kept, table.num_rows - kept.num_rows


def erase_file(lake: ParquetLake, file: FileErasure, digests: Collection[str]) -> int:
    """Rewrite one planned file without the erased rows (atomically, footer kept); returns
    the rows removed (0 when a previous, interrupted run already rewrote it)."""
    keys = None if file.partition is None else [file.partition]
    table = lake.read(file.group, file.asset, keys)
    kept, removed = without_erased(table, digests)
    if removed:
        hints = {
            name: hint
            for name, hint in WRITE_HINTS_BY_TABLE.get((file.group, file.asset), {}).items()
            if name in kept.column_names
        }
        if hints:
            # Written as ingestion writes it (no dictionary for random ids), not just the rows.
            kept = kept.cast(with_write_hints(kept.schema, hints))
        footer = lake.read_footer(file.group, file.asset, file.partition)
        lake.write(kept, file.group, file.asset, file.partition, footer=footer)
    return removed


def iter_text_columns(lake: ParquetLake) -> Iterator[tuple[str, str, list[str], list[str]]]:
    """``(group, asset, file uris, text columns)`` for every lake table: what a scan reads."""
    import pyarrow as pa

    for group, asset in lake_tables(lake):
        uris = [u for us in lake.file_uris(group, asset).values() for u in us]
        columns: set[str] = set()
        for uri in uris:
            columns.update(
                f.name
                for f in lake.read_schema(uri)
                if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
            )
        if uris and columns:
            yield group, asset, uris, sorted(columns)
