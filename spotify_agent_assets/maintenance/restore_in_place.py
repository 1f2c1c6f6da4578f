"""``make restore BACKUP=<id|latest>``: put a backup in place of the current data.

The backup is first restored and proved (every checksum, every row count) in a scratch folder
beside the data folder; only then are the stores swapped, each with one rename, the replaced
ones kept under ``<data>/replaced/<time>/`` (nothing is deleted). A failure before the swap
leaves the current data untouched. The configuration (``config/``, the roster) is versioned
with the code, so it is not overwritten: the backup's copy is left beside the replaced data to
compare. Stop the Dagster daemon and any run first: a run writing during the swap would write
into the replaced stores.

The erasure ledger (``<data>/maintenance/``) only ever grows, so the live one is kept: it names
every erasure, also those after the backup. Only when it is gone (a lost data folder) is the
backup's put in its place.

After the swap every recorded GDPR erasure is applied again, since the backup may predate some
(``maintenance.erasure.reapply_erasures``).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from spotify_agent_assets.environment import AgentSettings
from spotify_agent_assets.lake.warehouse import exclusive_warehouse_lock
from spotify_agent_assets.maintenance.backup_sources import SQLITE_PREFIX
from spotify_agent_assets.maintenance.restore import resolve_backup_id, restore_backup
from spotify_agent_assets.observability.audit_log import record_action

REPLACED_DIR = "replaced"
CONFIG_PARTS = ("config", "roster")
LEDGER_PART = "maintenance"
# Journals beside a database file: left in place, DuckDB or SQLite would replay the replaced
# database's pending writes into the restored file.
SIDECAR_SUFFIXES = (".wal", "-wal", "-shm", "-journal")


@dataclass(frozen=True)
class RestoreOutcome:
    backup_id: str
    swapped: list[str]
    replaced_dir: Path
    erasures_reapplied: int

    def summary(self) -> str:
        return (
            f"restored backup {self.backup_id}: {', '.join(self.swapped)}; the replaced data and "
            f"the backup's configuration are in {self.replaced_dir}; "
            f"erasures re-applied to {self.erasures_reapplied} listener(s)"
        )


def live_locations(settings: AgentSettings) -> dict[str, Path]:
    """Backup path prefix -> where that store lives now (local stores only)."""
    if settings.lake_root.startswith("s3://"):
        raise NotImplementedError(
            f"restoring over an s3:// lake ({settings.lake_root}) is not supported: restore into "
            "a folder with restore_backup() and copy lake/ to the bucket"
        )
    locations = {
        "warehouse.duckdb": settings.warehouse_path,
        "lake": Path(settings.lake_root),
        "state": settings.data_dir / "state",
        "secrets": settings.data_dir / "secrets",
    }
    if settings.mlflow_tracking_uri.startswith(SQLITE_PREFIX):
        locations["mlflow/mlflow.db"] = Path(settings.mlflow_tracking_uri[len(SQLITE_PREFIX) :])
        if settings.mlflow_artifact_root:
            locations["mlflow/artifacts"] = Path(settings.mlflow_artifact_root)
    return locations


def restore_in_place(
    settings: AgentSettings, key: bytes, backup_id: str = "latest"
) -> RestoreOutcome:
    backup_id = resolve_backup_id(settings, backup_id, None)
    locations = live_locations(settings)
    scratch = settings.data_dir.parent / f".{settings.data_dir.name}-restore-{backup_id}"
    _check_same_filesystem(scratch.parent, locations)
    if scratch.exists():  # a previous attempt's, named by this backup: never live data
        shutil.rmtree(scratch)
    try:
        restore_backup(settings, key, scratch, backup_id)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)  # the live data was never touched
        raise

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = settings.data_dir / REPLACED_DIR / f"{stamp}-before-{backup_id}"
    aside.mkdir(parents=True)
    swapped = []
    lock = settings.warehouse_path.with_name(settings.warehouse_path.name + ".lock")
    with exclusive_warehouse_lock(lock):
        for prefix, live in locations.items():
            restored = scratch / prefix
            sidecars = [live.with_name(live.name + suffix) for suffix in SIDECAR_SUFFIXES]
            for path in [live, *sidecars]:
                if path.exists():
                    kept = (aside / prefix).with_name(path.name)
                    kept.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(path, kept)
            if restored.exists():
                live.parent.mkdir(parents=True, exist_ok=True)
                os.replace(restored, live)
                swapped.append(prefix)
    live_ledger = settings.data_dir / LEDGER_PART
    if (scratch / LEDGER_PART).exists() and not live_ledger.exists():
        os.replace(scratch / LEDGER_PART, live_ledger)
        swapped.append(LEDGER_PART)
    for part in (*CONFIG_PARTS, LEDGER_PART):
        if (scratch / part).exists():
            os.replace(scratch / part, aside / f"backup-{part}")
    shutil.rmtree(scratch)
    outcome = RestoreOutcome(backup_id, swapped, aside, _reapply_erasures(settings, backup_id))
    record_action(
        "restore_in_place",
        f"replaced the live {', '.join(swapped)} with backup {backup_id}; the old ones kept "
        f"in {aside}",
        backup_id=backup_id,
        replaced=swapped,
        kept_aside=str(aside),
        erasures_reapplied=outcome.erasures_reapplied,
    )
    return outcome


def _reapply_erasures(settings: AgentSettings, backup_id: str) -> int:
    try:
        from spotify_agent_assets.maintenance.erasure import reapply_erasures
    except ImportError as error:
        raise RuntimeError(
            f"backup {backup_id} is restored, but recorded GDPR erasures were NOT re-applied: "
            f"spotify_agent_assets.maintenance.erasure.reapply_erasures is unavailable ({error}). "
            "Do not serve this data until they are."
        ) from error
    return reapply_erasures(settings)


def _check_same_filesystem(scratch_parent: Path, locations: dict[str, Path]) -> None:
    # Each swap is a rename, which cannot cross filesystems; find that out before touching data.
    device = scratch_parent.stat().st_dev
    for prefix, live in locations.items():
        parent = live.parent if live.parent.exists() else scratch_parent
        if parent.stat().st_dev != device:
            raise OSError(
                f"{live} (backup part {prefix}) is on another filesystem than {scratch_parent}; "
                "a restore swaps folders by renaming and needs them on one"
            )
