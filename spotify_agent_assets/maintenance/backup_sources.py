"""The files a backup takes, each read once into a consistent snapshot.

Backup paths mirror the data folder, so a restore target looks like one::

    warehouse.duckdb            the DuckDB warehouse, checkpointed under its writer lock
    lake/<group>/<asset>/...    every visible file under the lake root (local or s3://)
    mlflow/mlflow.db            the local MLflow store, copied with SQLite's backup API
    mlflow/artifacts/...        its artifacts
    state/..., secrets/...      the landing index, the pseudonym key (restored data is useless
                                if new listeners get different pseudonyms)
    maintenance/...             the GDPR erasure ledger and receipts (digests, no raw ids): after
                                losing the data folder, the erasures a restore must re-apply
    config/..., roster/<name>   the project configuration and the artist roster in use

The landing zones are not taken: they are deliveries already ingested into the lake, and the
sample world's alone are twelve times the lake. A remote MLflow tracking server keeps its own
store, which is that server's backup to make; the manifest says so.

Every file is read once, into memory or (when large) a staging copy, and hashed, counted and
sealed from that one read: a lake partition rewritten during the backup cannot give a blob whose
content differs from the checksum in the manifest.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from spotify_agent_assets.environment import PROJECT_ROOT, AgentSettings
from spotify_agent_assets.maintenance.backup_crypto import CHUNK_BYTES

if TYPE_CHECKING:
    from pyarrow.fs import FileSystem

    from spotify_agent_assets.lake.parquet_lake import ParquetLake

# Files up to this size are held in memory; larger ones are copied to the staging folder.
IN_MEMORY_BYTES = 64 << 20
SQLITE_PREFIX = "sqlite:///"


@dataclass(frozen=True)
class SourceFile:
    """A file to back up: ``path`` in the backup, ``location`` on ``filesystem`` (None: local)."""

    path: str
    location: str
    filesystem: FileSystem | None = None


@dataclass(frozen=True)
class Snapshot:
    """One read of a source file: its content (bytes or a staged local copy) and checksum."""

    path: str
    sha256: str
    size: int
    content: bytes | Path
    mode: int | None

    def chunks(self) -> Iterator[bytes]:
        if isinstance(self.content, bytes):
            for start in range(0, len(self.content), CHUNK_BYTES):
                yield self.content[start : start + CHUNK_BYTES]
            return
        with open(self.content, "rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                yield chunk


def collect_sources(
    settings: AgentSettings, lake: ParquetLake, staging: Path
) -> tuple[list[SourceFile], dict[str, str]]:
    """Every file to back up, sorted by path, and notes on what is left out and why.

    The warehouse and the MLflow database are copied into ``staging`` first (consistently);
    everything else is read where it lies.
    """
    notes: dict[str, str] = {"landing": "not backed up: deliveries already ingested into lake/"}
    sources: list[SourceFile] = []
    if settings.warehouse_path.exists():
        sources.append(SourceFile("warehouse.duckdb", str(snapshot_warehouse(settings, staging))))
    else:
        notes["warehouse"] = f"no warehouse file at {settings.warehouse_path}"
    sources += _lake_files(lake)
    if settings.mlflow_tracking_uri.startswith(SQLITE_PREFIX):
        database = Path(settings.mlflow_tracking_uri[len(SQLITE_PREFIX) :])
        if database.exists():
            sources.append(SourceFile("mlflow/mlflow.db", str(_copy_sqlite(database, staging))))
        if settings.mlflow_artifact_root:
            sources += _local_files(Path(settings.mlflow_artifact_root), "mlflow/artifacts")
    else:
        server = urlsplit(settings.mlflow_tracking_uri)
        # Host only: a tracking URI may carry credentials (https://user:token@host).
        notes["mlflow"] = (
            f"tracking server {server.scheme}://{server.hostname or ''} keeps its own store "
            "and artifacts; back them up on that server"
        )
    sources += _local_files(settings.data_dir / "state", "state")
    sources += _local_files(settings.data_dir / "secrets", "secrets")
    sources += _local_files(settings.data_dir / "maintenance", "maintenance")
    if not (settings.data_dir / "secrets").is_dir():
        notes["secrets"] = "no local pseudonym key file (set from the environment in prod)"
    sources += _local_files(PROJECT_ROOT / "config", "config")
    if settings.roster_path.is_file():
        sources.append(SourceFile(f"roster/{settings.roster_path.name}", str(settings.roster_path)))
    return sorted(sources, key=lambda source: source.path), notes


def snapshot_warehouse(settings: AgentSettings, staging: Path) -> Path:
    """A consistent copy of the warehouse file: under the writers' lock, checkpointed (the WAL
    folded into the file) and copied before any writer can change it again."""
    import duckdb

    from spotify_agent_assets.lake.warehouse import (
        CONNECTION_CONFIG,
        exclusive_warehouse_lock,
        retry_while_locked,
    )

    copy = staging / "warehouse.duckdb"
    path = settings.warehouse_path
    with exclusive_warehouse_lock(path.with_name(path.name + ".lock")):
        # Our writers queue on the flock; an analyst's open duckdb CLI is waited for as the
        # warehouse's own writers wait for it.
        connection = retry_while_locked(
            lambda: duckdb.connect(str(path), config=CONNECTION_CONFIG), path
        )
        try:
            connection.execute("CHECKPOINT")
        finally:
            connection.close()
        shutil.copyfile(path, copy)
    return copy


def read_snapshot(source: SourceFile, staging: Path) -> Snapshot:
    """Read ``source`` once, hashing it; large files land in ``staging``."""
    digest = hashlib.sha256()
    parts: list[bytes] = []
    size = 0
    staged: Path | None = None
    out = None
    mode = None if source.filesystem is not None else os.stat(source.location).st_mode & 0o777
    try:
        with _open(source) as handle:
            while chunk := handle.read(CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
                if out is None and size > IN_MEMORY_BYTES:
                    staged = staging / f"{uuid.uuid4().hex}.staged"
                    out = open(staged, "wb")  # noqa: SIM115 - closed in finally
                    for part in parts:
                        out.write(part)
                    parts = []
                if out is None:
                    parts.append(chunk)
                else:
                    out.write(chunk)
    finally:
        if out is not None:
            out.close()
    content: bytes | Path = staged if staged is not None else b"".join(parts)
    return Snapshot(source.path, digest.hexdigest(), size, content, mode)


def _open(source: SourceFile) -> Any:
    """A readable binary stream of ``source`` (a local file or an Arrow input stream)."""
    if source.filesystem is None:
        return open(source.location, "rb")
    return source.filesystem.open_input_stream(source.location)


def _lake_files(lake: ParquetLake) -> list[SourceFile]:
    from pyarrow.fs import FileSelector, FileType

    root = lake.root.removeprefix("s3://")
    selector = FileSelector(root, recursive=True, allow_not_found=True)
    found = []
    filesystem = lake.filesystem if lake.is_s3 else None
    for info in lake.filesystem.get_file_info(selector):
        relative = info.path[len(root) :].strip("/")
        # Hidden names are temp files of writes in progress (or killed), never table content.
        if info.type != FileType.File or any(p.startswith(".") for p in relative.split("/")):
            continue
        found.append(SourceFile(f"lake/{relative}", info.path, filesystem))
    return found


def _local_files(folder: Path, prefix: str) -> list[SourceFile]:
    if not folder.is_dir():
        return []
    return [
        SourceFile(f"{prefix}/{path.relative_to(folder).as_posix()}", str(path))
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not any(p.startswith(".") for p in path.relative_to(folder).parts)
    ]


def _copy_sqlite(database: Path, staging: Path) -> Path:
    # SQLite's online backup copies a consistent state even while MLflow writes to it.
    copy = staging / "mlflow.db"
    with (
        closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as source,
        closing(sqlite3.connect(copy)) as target,
    ):
        source.backup(target)
    return copy
