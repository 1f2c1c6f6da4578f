"""Encrypted, incremental backups of the warehouse, the lake, MLflow and the configuration.

``create_backup`` reads every source once (``backup_sources``), names its sealed copy by content
(``backup_crypto.blob_id``) and uploads only blobs the store does not have yet, so an unchanged
file is never copied twice while every manifest still lists every file (a full view). The
manifest is written last: a backup killed half way has no manifest, so it does not exist, and
the next run reuses the blobs it had already written.

Each backup is ``weekly`` when no weekly one is younger than seven days, else ``daily``;
``apply_retention`` keeps the newest N of each kind, removing manifests first and then the blobs
no remaining manifest references.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import secrets
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from spotify_agent_assets.environment import AgentSettings
from spotify_agent_assets.lake.s3 import S3Settings
from spotify_agent_assets.maintenance.backup_crypto import blob_id, key_id, seal_chunks
from spotify_agent_assets.maintenance.backup_sources import collect_sources, read_snapshot
from spotify_agent_assets.maintenance.backup_store import MANIFESTS, VERIFIED, BackupStore
from spotify_agent_assets.maintenance.manifest import (
    BackupKind,
    Manifest,
    ManifestFile,
    backup_document,
    open_document,
    read_header,
)
from spotify_agent_assets.maintenance.table_counts import (
    lake_table_of,
    parquet_rows,
    warehouse_counts,
)
from spotify_agent_assets.observability.audit_log import record_action

WEEKLY_EVERY = dt.timedelta(days=7)
DEFAULT_KEEP_DAILY = 7
DEFAULT_KEEP_WEEKLY = 4
# An unreferenced blob younger than this may belong to a backup still being written.
DEFAULT_BLOB_GRACE = dt.timedelta(hours=24)


@dataclass(frozen=True)
class BackupInfo:
    """One stored backup as listed without the key (ids and times only)."""

    backup_id: str
    created_at: dt.datetime
    kind: BackupKind
    key_id: str
    verified_at: dt.datetime | None
    """When a restore check last restored this backup and proved every checksum and row count."""


@dataclass(frozen=True)
class BackupResult:
    backup_id: str
    kind: BackupKind
    destination: str
    files_total: int
    files_new: int
    bytes_total: int
    """Stored (compressed, encrypted) bytes of every file in the backup."""
    bytes_new: int
    """Stored bytes this run uploaded."""
    source_bytes: int
    seconds: float
    tables: dict[str, int]
    notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RetentionResult:
    kept: list[str]
    removed_backups: list[str]
    removed_blobs: int


def backup_store(settings: AgentSettings, s3: S3Settings | None = None) -> BackupStore:
    return BackupStore(settings.backup_destination, s3)


def create_backup(
    settings: AgentSettings,
    key: bytes,
    *,
    s3: S3Settings | None = None,
    lake_s3: S3Settings | None = None,
    now: dt.datetime | None = None,
) -> BackupResult:
    """Back up everything to ``settings.backup_destination``; ``key`` from ``parse_backup_key``."""
    from spotify_agent_assets.lake.parquet_lake import ParquetLake

    started = time.monotonic()
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    store = backup_store(settings, s3)
    kind = _kind_for(list_backups(settings, s3=s3), now)
    backup_id = f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    lake = ParquetLake(settings.lake_root, s3=lake_s3)
    files: list[ManifestFile] = []
    tables: dict[str, int] = {}
    files_new = bytes_new = source_bytes = 0
    with staging_folder(settings.data_dir) as staging:
        sources, notes = collect_sources(settings, lake, staging)
        for source in sources:
            snapshot = read_snapshot(source, staging)
            blob = blob_id(key, snapshot.sha256)
            stored = store.blob_size(blob)
            if stored is None:
                stored = store.put_blob(blob, seal_chunks(snapshot.chunks(), key, blob))
                files_new += 1
                bytes_new += stored
            table = lake_table_of(snapshot.path)
            if table is not None:
                tables[table] = tables.get(table, 0) + parquet_rows(snapshot.content)
            if snapshot.path == "warehouse.duckdb":
                tables.update(warehouse_counts(Path(source.location)))
            source_bytes += snapshot.size
            files.append(
                ManifestFile(
                    snapshot.path, snapshot.sha256, snapshot.size, blob, stored, snapshot.mode
                )
            )
            if isinstance(snapshot.content, Path):
                snapshot.content.unlink()
    manifest = Manifest(
        backup_id=backup_id,
        created_at=now,
        kind=kind,
        code_version=code_version(),
        files=tuple(files),
        tables=dict(sorted(tables.items())),
        notes=notes,
    )
    # Last: until this one write lands, the backup does not exist.
    store.put_document(MANIFESTS, backup_id, backup_document(manifest, key, key_id(key)))
    record_action(
        "backup_created",
        f"{kind} backup {backup_id}: {len(files)} files, {files_new} new",
        backup_id=backup_id,
        kind=kind,
        destination=store.url,
        files_total=len(files),
        files_new=files_new,
        bytes_new=bytes_new,
    )
    return BackupResult(
        backup_id=backup_id,
        kind=kind,
        destination=store.url,
        files_total=len(files),
        files_new=files_new,
        bytes_total=sum(f.stored_bytes for f in files),
        bytes_new=bytes_new,
        source_bytes=source_bytes,
        seconds=time.monotonic() - started,
        tables=manifest.tables,
        notes=notes,
    )


def list_backups(
    settings: AgentSettings, key: bytes | None = None, *, s3: S3Settings | None = None
) -> list[BackupInfo]:
    """Stored backups, newest last. Without ``key`` from the plaintext headers alone; with it,
    every manifest is also decrypted and checked against its header."""
    store = backup_store(settings, s3)
    found = []
    for backup_id in store.document_ids(MANIFESTS):
        document = store.read_document(MANIFESTS, backup_id)
        if document is None:  # removed by retention since the listing
            continue
        where = f"{store.url}/{MANIFESTS}/{backup_id}.json"
        header = read_header(document, where)
        if key is not None:
            open_document(document, key, where)
        found.append(
            BackupInfo(
                backup_id=backup_id,
                created_at=dt.datetime.fromisoformat(header["created_at"]),
                kind=header["kind"],
                key_id=header["key_id"],
                verified_at=_verified_at(store, backup_id),
            )
        )
    return sorted(found, key=lambda info: (info.created_at, info.backup_id))


def read_manifest(store: BackupStore, backup_id: str, key: bytes) -> Manifest:
    document = store.read_document(MANIFESTS, backup_id)
    if document is None:
        raise FileNotFoundError(f"no backup {backup_id} in {store.url}")
    return open_document(document, key, f"{store.url}/{MANIFESTS}/{backup_id}.json")


def mark_verified(store: BackupStore, backup_id: str, when: dt.datetime) -> None:
    document = json.dumps({"backup_id": backup_id, "verified_at": when.isoformat()})
    store.put_document(VERIFIED, backup_id, document.encode())


def apply_retention(
    settings: AgentSettings,
    key: bytes,
    *,
    keep_daily: int = DEFAULT_KEEP_DAILY,
    keep_weekly: int = DEFAULT_KEEP_WEEKLY,
    blob_grace: dt.timedelta = DEFAULT_BLOB_GRACE,
    s3: S3Settings | None = None,
    now: dt.datetime | None = None,
) -> RetentionResult:
    """Keep the newest ``keep_daily`` daily and ``keep_weekly`` weekly backups; remove the rest
    (manifest first, so a crash leaves only unreferenced blobs), then every blob no remaining
    manifest references and older than ``blob_grace``."""
    for name, value in (("keep_daily", keep_daily), ("keep_weekly", keep_weekly)):
        if value < 0:
            raise ValueError(f"{name}={value}: expected a number of backups, 0 or more")
    if keep_daily + keep_weekly == 0:
        raise ValueError("keep_daily and keep_weekly are both 0: that would remove every backup")
    now = now or dt.datetime.now(dt.UTC)
    store = backup_store(settings, s3)
    backups = list_backups(settings, s3=s3)
    keep = {
        info.backup_id
        for kind, count in (("daily", keep_daily), ("weekly", keep_weekly))
        for info in [b for b in backups if b.kind == kind][::-1][:count]
    }
    removed = [info.backup_id for info in backups if info.backup_id not in keep]
    for backup_id in removed:
        store.delete_document(MANIFESTS, backup_id)
        store.delete_document(VERIFIED, backup_id)
    # Read every remaining manifest: one this key cannot open raises, and no blob is removed.
    referenced = {
        entry.blob
        for backup_id in store.document_ids(MANIFESTS)
        for entry in read_manifest(store, backup_id, key).files
    }
    removed_blobs = 0
    for blob, modified in store.blobs().items():
        if blob not in referenced and now - modified >= blob_grace:
            store.delete_blob(blob)
            removed_blobs += 1
    if removed or removed_blobs:
        record_action(
            "backup_retention",
            f"removed {len(removed)} backup(s) and {removed_blobs} unreferenced blob(s)",
            removed_backups=removed,
            removed_blobs=removed_blobs,
            kept=len(keep),
        )
    return RetentionResult(kept=sorted(keep), removed_backups=removed, removed_blobs=removed_blobs)


def code_version() -> str:
    """The package version and, in a git checkout, the commit it runs from."""
    import subprocess
    from importlib.metadata import PackageNotFoundError, version

    from spotify_agent_assets.environment import PROJECT_ROOT

    try:
        text = version("spotify_agent_assets")
    except PackageNotFoundError:
        text = "unknown"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],  # noqa: S607 -- git from PATH, fixed argv, no shell; absent git is handled
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return text
    return f"{text}+g{commit}"


def _kind_for(backups: list[BackupInfo], now: dt.datetime) -> BackupKind:
    # Not "on Sundays": a weekly backup must not be skipped because Sunday's run failed.
    recent_weekly = any(b.kind == "weekly" and now - b.created_at < WEEKLY_EVERY for b in backups)
    return "daily" if recent_weekly else "weekly"


def _verified_at(store: BackupStore, backup_id: str) -> dt.datetime | None:
    document = store.read_document(VERIFIED, backup_id)
    if document is None:
        return None
    return dt.datetime.fromisoformat(json.loads(document)["verified_at"])


@contextlib.contextmanager
def staging_folder(data_dir: Path) -> Iterator[Path]:
    """A private folder for the run's plain copies (warehouse, MLflow database, large files),
    under ``<data>/.backup-staging/`` and held under an exclusive lock.

    The lock makes backups one at a time; holding it, a backup removes what a killed one left
    behind (plain copies of the warehouse and the pseudonym key must not linger). It is on the
    data folder's disk rather than in the system temp folder, which may be small or shared."""
    import fcntl
    import shutil

    root = data_dir / ".backup-staging"
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(root / "lock", "a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        for leftover in root.iterdir():
            if leftover.name != "lock":
                shutil.rmtree(leftover, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(dir=root))
        try:
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)
