"""The verification of an erasure: every store searched for any trace of the listeners.

What is searched for (``ErasureTraces``): their ledger digests (any ``listener_key`` whose
digest is in the ledger, which is all a re-application after a restore knows), and, for a fresh
erasure, the pseudonyms, the short alias ingestion puts in place of an export folder
(``listener-<16 hex>``) and the raw ids (as whole tokens, so ``ab1`` is not found in
``ab12``). Where: every text column of every lake table, every base table of the warehouse and
the warehouse file's bytes, MLflow's files (the local store and every registered version's
downloaded files), our state files, and the landing zone. Findings name the place and a count,
never the value.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from spotify_agent_assets.lake.parquet_lake import ParquetLake
from spotify_agent_assets.lake.warehouse import (
    CONNECTION_CONFIG,
    exclusive_warehouse_lock,
    lake_connection,
    quote_identifier,
)
from spotify_agent_assets.maintenance.erasure_lake import (
    LISTENER_KEY,
    digest_sql,
    iter_text_columns,
    register_digests,
)
from spotify_agent_assets.maintenance.erasure_warehouse import base_tables

if TYPE_CHECKING:
    import duckdb
    from pyarrow.fs import FileSystem

# Characters a listener id is made of; a raw id counts as found only between other characters.
ID_CHARS = r"A-Za-z0-9_.\-"


@dataclass(frozen=True)
class ErasureTraces:
    digests: frozenset[str]
    pseudonyms: tuple[str, ...] = ()
    raw_ids: tuple[str, ...] = ()

    @property
    def aliases(self) -> tuple[str, ...]:
        return tuple(f"listener-{p[:16]}" for p in self.pseudonyms)

    def text_pattern(self) -> str | None:
        """One RE2/Python regex matching any pseudonym, alias or raw id token, or None."""
        parts = [re.escape(t) for t in (*self.pseudonyms, *self.aliases)]
        parts += [f"(?:^|[^{ID_CHARS}]){re.escape(r)}(?:$|[^{ID_CHARS}])" for r in self.raw_ids]
        return "|".join(parts) or None


@dataclass
class ScanReport:
    """Where traces were found (``store: place (count)``) and how much was searched."""

    findings: list[str] = field(default_factory=list)
    searched: dict[str, int] = field(default_factory=dict)

    def count(self, store: str, n: int = 1) -> None:
        self.searched[store] = self.searched.get(store, 0) + n


def _column_hits(
    con: duckdb.DuckDBPyConnection,
    source: str,
    columns: Sequence[str],
    traces: ErasureTraces,
    params: dict[str, object] | None = None,
) -> dict[str, int]:
    pattern = traces.text_pattern()
    terms = []
    for column in columns:
        quoted = quote_identifier(column)
        tests = [f"regexp_matches({quoted}, $pattern)"] if pattern else []
        if column == LISTENER_KEY and traces.digests:
            tests.append(f"{digest_sql(quoted)} IN (SELECT d FROM erased)")  # noqa: S608 -- quoted column, constant digest SQL
        if tests:
            terms.append(f"count(*) FILTER (WHERE {' OR '.join(tests)})")
    if not terms:
        return {}
    params = {**(params or {}), **({"pattern": pattern} if pattern else {})}
    counts = con.execute(f"SELECT {', '.join(terms)} FROM {source}", params).fetchone()  # noqa: S608 -- quoted columns; pattern bound
    scanned = [c for c in columns if pattern or c == LISTENER_KEY]
    return {c: n for c, n in zip(scanned, counts, strict=True) if n}


def scan_lake(lake: ParquetLake, traces: ErasureTraces, report: ScanReport) -> None:
    with lake_connection(lake) as con:
        con.execute("SET enable_progress_bar = false")
        register_digests(con, traces.digests)
        for group, asset, uris, columns in iter_text_columns(lake):
            source = "read_parquet($files, union_by_name = true, hive_partitioning = false)"
            hits = _column_hits(con, source, columns, traces, {"files": uris})
            for column, n in hits.items():
                report.findings.append(f"lake {group}.{asset}.{column} ({n} rows)")
            report.count("lake files", len(uris))


def scan_warehouse(path: Path, traces: ErasureTraces, report: ScanReport) -> None:
    import duckdb

    if not path.exists():
        return
    with exclusive_warehouse_lock(path.with_name(path.name + ".lock")):
        con = duckdb.connect(str(path), read_only=True, config=CONNECTION_CONFIG)
        try:
            register_digests(con, traces.digests)
            database = con.execute("SELECT current_database()").fetchone()[0]
            for schema, table, _ in base_tables(con, database):
                columns = [
                    name
                    for name, data_type in con.execute(
                        "SELECT column_name, data_type FROM duckdb_columns() WHERE "
                        "database_name = ? AND schema_name = ? AND table_name = ?",
                        [database, schema, table],
                    ).fetchall()
                    if data_type == "VARCHAR"
                ]
                name = f"{quote_identifier(schema)}.{quote_identifier(table)}"
                for column, n in _column_hits(con, name, columns, traces).items():
                    report.findings.append(f"warehouse {schema}.{table}.{column} ({n} rows)")
                report.count("warehouse tables")
        finally:
            con.close()
        scan_files([path], traces, report, "warehouse file")


def scan_files(
    paths: Iterable[Path], traces: ErasureTraces, report: ScanReport, store: str
) -> None:
    """The bytes of ``paths`` (and their names) searched for pseudonyms, aliases, raw ids."""
    pattern = traces.text_pattern()
    if pattern is None:
        return
    compiled = re.compile(pattern.encode())
    for path in paths:
        report.count(store)
        data = path.read_bytes()
        if compiled.search(data) or compiled.search(str(path).encode()):
            report.findings.append(f"{store} {path.name}")


def files_under(*folders: Path | None) -> list[Path]:
    return [
        p
        for folder in folders
        if folder and folder.exists()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    ]


def scan_mlflow(
    tracking_uri: str, artifact_root: str | None, traces: ErasureTraces, report: ScanReport
) -> None:
    from spotify_agent_assets.maintenance.erasure_mlflow import version_artifact_files

    local = [Path(artifact_root)] if artifact_root and "://" not in artifact_root else []
    if tracking_uri.startswith("sqlite:///"):
        local.append(Path(tracking_uri.removeprefix("sqlite:///")))
    scan_files(
        [p for p in local if p.is_file()] + files_under(*(p for p in local if p.is_dir())),
        traces,
        report,
        "mlflow",
    )
    with tempfile.TemporaryDirectory(prefix="erasure-scan-") as tmp:
        scan_files(version_artifact_files(tracking_uri, Path(tmp)), traces, report, "mlflow")


def scan_landing(filesystem: FileSystem, traces: ErasureTraces, report: ScanReport) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from spotify_agent_assets.streams.landing_index import list_landing_files
    from spotify_agent_assets.streams.readers import PARQUET_MAGIC

    if not traces.raw_ids:
        return
    compiled = re.compile(
        ErasureTraces(frozenset(), raw_ids=traces.raw_ids).text_pattern().encode()
    )
    wanted = pa.array(sorted(traces.raw_ids), pa.string())
    hits: dict[str, int] = {}
    for file in list_landing_files(filesystem):
        report.count("landing files")
        with filesystem.open_input_stream(file.path) as handle:
            data = handle.read()
        hit = bool(set(file.path.split("/")) & set(traces.raw_ids))
        if data.startswith(PARQUET_MAGIC):
            table = pq.read_table(pa.BufferReader(data))
            for column in table.column_names:
                if pa.types.is_string(table.schema.field(column).type):
                    values = pc.utf8_trim_whitespace(table[column])
                    hit |= bool(pc.any(pc.is_in(values, wanted)).as_py())
        else:
            hit |= compiled.search(data) is not None
        if hit:
            hits[file.path.split("/")[0]] = hits.get(file.path.split("/")[0], 0) + 1
    report.findings += [f"landing {folder}/ ({n} files)" for folder, n in sorted(hits.items())]
