"""Restoring a backup and proving it: every checksum and every table's row count as promised.

``restore_backup`` decrypts a backup into a folder laid out like the data folder
(``backup_sources``), checking each file's sha256 and size against the manifest, then opens the
restored Parquet files and warehouse and compares every table's row count. Any difference
raises ``RestoreCheckError`` naming the file or table. ``check_latest_backup`` does that for the
newest backup in a scratch folder and records when it succeeded (``BackupInfo.verified_at``).

``python -m spotify_agent_assets.maintenance.restore <id|latest>`` (``make restore BACKUP=...``)
restores for real; see ``restore_in_place``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from spotify_agent_assets.environment import AgentSettings
from spotify_agent_assets.lake.atomic_file import atomic_path
from spotify_agent_assets.lake.s3 import S3Settings
from spotify_agent_assets.maintenance.backup import (
    backup_store,
    list_backups,
    mark_verified,
    read_manifest,
    staging_folder,
)
from spotify_agent_assets.maintenance.backup_crypto import SealedBlobError, open_chunks
from spotify_agent_assets.maintenance.backup_store import BackupStore
from spotify_agent_assets.maintenance.manifest import Manifest, ManifestFile
from spotify_agent_assets.maintenance.table_counts import (
    lake_table_of,
    parquet_rows,
    warehouse_counts,
)
from spotify_agent_assets.observability.audit_log import record_action


class RestoreCheckError(RuntimeError):
    """A restored backup does not match its manifest (the message names the file or table)."""


@dataclass(frozen=True)
class RestoreReport:
    backup_id: str
    created_at: dt.datetime
    target: str
    files: int
    bytes: int
    tables: dict[str, int]


def resolve_backup_id(settings: AgentSettings, backup_id: str, s3: S3Settings | None) -> str:
    """``backup_id`` itself if stored, or the newest one for ``latest``."""
    stored = [info.backup_id for info in list_backups(settings, s3=s3)]
    if not stored:
        raise FileNotFoundError(f"no backups in {settings.backup_destination}")
    if backup_id == "latest":
        return stored[-1]
    if backup_id not in stored:
        raise FileNotFoundError(
            f"no backup {backup_id!r} in {settings.backup_destination}; "
            f"expected 'latest' or one of: {', '.join(stored[-10:])}"
        )
    return backup_id


def restore_backup(
    settings: AgentSettings,
    key: bytes,
    target: Path,
    backup_id: str = "latest",
    *,
    s3: S3Settings | None = None,
) -> RestoreReport:
    """Restore ``backup_id`` (or ``latest``) into the empty or new folder ``target`` and prove
    every file's checksum and every table's row count; raises ``RestoreCheckError`` otherwise."""
    store = backup_store(settings, s3)
    backup_id = resolve_backup_id(settings, backup_id, s3)
    manifest = read_manifest(store, backup_id, key)
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise FileExistsError(f"restore target {target} is not empty; expected a new folder")
    for entry in manifest.files:
        _restore_file(store, key, entry, target)
    if (target / "secrets").is_dir():  # as the pseudonym key's folder is made: owner only
        os.chmod(target / "secrets", 0o700)
    prove_tables(manifest, target)
    record_action(
        "backup_restored",
        f"restored backup {backup_id} into {target} ({len(manifest.files)} files, proven)",
        backup_id=backup_id,
        target=str(target),
        files=len(manifest.files),
    )
    return RestoreReport(
        backup_id=backup_id,
        created_at=manifest.created_at,
        target=str(target),
        files=len(manifest.files),
        bytes=sum(entry.size for entry in manifest.files),
        tables=manifest.tables,
    )


def prove_tables(manifest: Manifest, target: Path) -> None:
    """Count every table in the restored files and compare with the manifest."""
    counted: dict[str, int] = {}
    for entry in manifest.files:
        table = lake_table_of(entry.path)
        if table is not None:
            counted[table] = counted.get(table, 0) + parquet_rows(target / entry.path)
    warehouse = target / "warehouse.duckdb"
    if warehouse.exists():
        counted.update(warehouse_counts(warehouse))
    for table in sorted(set(counted) | set(manifest.tables)):
        expected, actual = manifest.tables.get(table), counted.get(table)
        if expected != actual:
            raise RestoreCheckError(
                f"backup {manifest.backup_id}: table {table} has {actual} rows restored, "
                f"the manifest says {expected}"
            )


def check_latest_backup(
    settings: AgentSettings, key: bytes, *, s3: S3Settings | None = None
) -> RestoreReport:
    """Restore the newest backup into a scratch folder, prove it, record ``verified_at``."""
    # Not the system temp folder: a killed check must not leave decrypted data there, and the
    # next backup or check, holding the same lock, removes what it left.
    with staging_folder(settings.data_dir) as scratch:
        report = restore_backup(settings, key, scratch / "data", "latest", s3=s3)
    mark_verified(backup_store(settings, s3), report.backup_id, dt.datetime.now(dt.UTC))
    return report


def _restore_file(store: BackupStore, key: bytes, entry: ManifestFile, target: Path) -> None:
    relative = PurePosixPath(entry.path)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise RestoreCheckError(f"manifest path {entry.path!r} would leave the restore folder")
    digest = hashlib.sha256()
    size = 0
    try:
        with store.open_blob(entry.blob) as sealed, atomic_path(target / relative) as temp:
            with open(temp, "wb") as out:
                for chunk in open_chunks(sealed, key, entry.blob):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            if entry.mode is not None:
                os.chmod(temp, entry.mode)
            if digest.hexdigest() != entry.sha256 or size != entry.size:
                raise RestoreCheckError(
                    f"{entry.path}: restored {size} bytes with sha256 {digest.hexdigest()}, "
                    f"the manifest says {entry.size} bytes with sha256 {entry.sha256}"
                )
    except FileNotFoundError:
        raise RestoreCheckError(f"{entry.path}: its blob {entry.blob} is missing") from None
    except SealedBlobError as error:
        raise RestoreCheckError(f"{entry.path}: {error}") from None


def main(argv: list[str] | None = None) -> int:
    import argparse

    from spotify_agent_assets.environment import backup_key_text, load_settings
    from spotify_agent_assets.maintenance.backup_crypto import parse_backup_key
    from spotify_agent_assets.maintenance.restore_in_place import restore_in_place

    parser = argparse.ArgumentParser(description="Restore a backup over the data folder.")
    parser.add_argument("backup", nargs="?", help="a backup id, or 'latest'")
    parser.add_argument("--list", action="store_true", help="list the backups and exit")
    args = parser.parse_args(argv)
    settings = load_settings()
    if args.list or not args.backup:
        for info in list_backups(settings):
            verified = info.verified_at.isoformat() if info.verified_at else "never"
            print(f"{info.backup_id}  {info.kind:<6}  verified: {verified}")
        return 0 if args.list else 2
    key = parse_backup_key(backup_key_text())
    outcome = restore_in_place(settings, key, args.backup)
    print(outcome.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
