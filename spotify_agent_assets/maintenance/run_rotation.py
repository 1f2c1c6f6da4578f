"""Purging old Dagster runs from the instance, through Dagster's own API only.

``instance.delete_run`` removes a run and its event log from whatever storage the instance has
(SQLite locally, PostgreSQL in production), so this module never touches a database itself.
A run is purged when it was created before the cutoff and has finished (success, failure,
canceled); a queued, starting, started or canceling run is kept whatever its age, and so is
the run doing the purge. The run's compute logs go with it.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dagster as dg

# Runs are read in pages, so an instance with years of runs is never loaded at once.
PAGE_SIZE = 500


@dataclass
class RunPurge:
    """Run ids deleted, and old runs kept because they have not finished (or are the caller)."""

    cutoff: dt.datetime
    deleted: list[str] = field(default_factory=list)
    kept_unfinished: list[str] = field(default_factory=list)
    compute_log_dirs_removed: int = 0


def purge_runs_before(
    instance: dg.DagsterInstance, cutoff: dt.datetime, current_run_id: str | None = None
) -> RunPurge:
    """Delete the finished runs created before ``cutoff`` (an aware datetime), their event
    logs and their compute logs."""
    if cutoff.tzinfo is None:
        raise ValueError(f"cutoff {cutoff} must be timezone-aware (UTC)")
    purge = RunPurge(cutoff=cutoff)
    for record in list(_old_runs(instance, cutoff)):
        run = record.dagster_run
        if run.run_id == current_run_id or not run.is_finished:
            purge.kept_unfinished.append(run.run_id)
            continue
        instance.delete_run(run.run_id)
        purge.deleted.append(run.run_id)
        if _delete_compute_logs(instance, run.run_id):
            purge.compute_log_dirs_removed += 1
    return purge


def compute_log_base_dir(instance: dg.DagsterInstance) -> Path | None:
    """Where the instance's local compute log manager writes, or None for any other manager."""
    from dagster._core.storage.local_compute_log_manager import LocalComputeLogManager

    manager = instance.compute_log_manager
    if not isinstance(manager, LocalComputeLogManager):
        return None
    # <base>/<key>.out for a one-part key: the base folder, through the manager's public API.
    return Path(manager.get_captured_local_path(["probe"], "out")).parent


def remove_orphan_compute_logs(instance: dg.DagsterInstance, cutoff: dt.datetime) -> int:
    """Remove compute log folders of runs the instance no longer has (deleted before this job
    existed, or from the UI), last written before ``cutoff``; returns how many."""
    base = compute_log_base_dir(instance)
    if base is None or not base.is_dir():
        return 0
    removed = 0
    for folder in sorted(base.iterdir()):
        if not (folder / "compute_logs").is_dir():
            continue  # not a run's folder
        if folder.stat().st_mtime >= cutoff.timestamp():
            continue
        if instance.get_run_by_id(folder.name) is None:
            shutil.rmtree(folder)
            removed += 1
    return removed


def _old_runs(instance: dg.DagsterInstance, cutoff: dt.datetime) -> Iterator[dg.RunRecord]:
    import dagster as dg

    cursor = None
    while True:
        page = instance.get_run_records(
            filters=dg.RunsFilter(created_before=cutoff), limit=PAGE_SIZE, cursor=cursor
        )
        yield from page
        if len(page) < PAGE_SIZE:
            return
        cursor = page[-1].dagster_run.run_id


def _delete_compute_logs(instance: dg.DagsterInstance, run_id: str) -> bool:
    base = compute_log_base_dir(instance)
    if base is None:
        # Other managers keep logs elsewhere (object storage, with its own lifecycle rules).
        return False
    folder = base / run_id
    if not folder.is_dir():
        return False
    instance.compute_log_manager.delete_logs(prefix=[run_id])
    return True
