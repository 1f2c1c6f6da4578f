"""Run rotation removes exactly the finished runs older than N days, with their event logs and
compute logs, from a SQLite instance and from one on the real local PostgreSQL; unfinished runs
and the purging run itself stay whatever their age."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path

import dagster as dg
import pytest

from spotify_agent_assets.maintenance.run_rotation import (
    compute_log_base_dir,
    purge_runs_before,
    remove_orphan_compute_logs,
)

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime.now(dt.UTC)
CUTOFF = NOW - dt.timedelta(days=30)
S = dg.DagsterRunStatus
# (label, age in days, status): which runs exist before the purge.
RUNS = [
    ("old_success", 45, S.SUCCESS),
    ("old_failure", 31, S.FAILURE),
    ("old_canceled", 400, S.CANCELED),
    ("old_started", 40, S.STARTED),  # still running: kept
    ("old_starting", 35, S.STARTING),  # being launched: kept
    ("old_canceling", 50, S.CANCELING),  # still stopping: kept
    ("old_current", 33, S.STARTED),  # the run doing the purge: kept
    ("recent_success", 29, S.SUCCESS),
    ("recent_failure", 1, S.FAILURE),
]
EXPECTED_DELETED = {"old_success", "old_failure", "old_canceled"}


def _seed_runs(instance: dg.DagsterInstance) -> dict[str, str]:
    """The RUNS, each created at its age, with an event in its event log and a compute log."""
    ids = {}
    base = compute_log_base_dir(instance)
    assert base is not None
    for label, age, status in RUNS:
        run = dg.DagsterRun(job_name=f"job_{label}", run_id=str(uuid.uuid4()), status=status)
        instance.run_storage.add_historical_run(run, NOW - dt.timedelta(days=age))
        instance.report_engine_event(f"{label} did something", run)
        logs = base / run.run_id / "compute_logs"
        logs.mkdir(parents=True)
        (logs / "step.out").write_text(f"{label} stdout\n")
        (logs / "step.complete").touch()
        ids[label] = run.run_id
    return ids


def _check_purge(instance: dg.DagsterInstance) -> None:
    ids = _seed_runs(instance)
    base = compute_log_base_dir(instance)
    assert base is not None

    purge = purge_runs_before(instance, CUTOFF, current_run_id=ids["old_current"])

    by_id = {run_id: label for label, run_id in ids.items()}
    assert {by_id[r] for r in purge.deleted} == EXPECTED_DELETED
    assert {by_id[r] for r in purge.kept_unfinished} == {
        "old_started",
        "old_starting",
        "old_canceling",
        "old_current",
    }
    remaining = {r.dagster_run.run_id for r in instance.get_run_records()}
    assert remaining == {ids[label] for label, *_ in RUNS} - {ids[x] for x in EXPECTED_DELETED}
    for label, run_id in ids.items():
        events = instance.all_logs(run_id)
        folder = base / run_id
        if label in EXPECTED_DELETED:
            assert events == [] and not folder.exists(), label
        else:
            assert any(label in (e.message or "") for e in events), label
            assert (folder / "compute_logs" / "step.out").exists(), label
    assert purge.compute_log_dirs_removed == len(EXPECTED_DELETED)

    # A second purge finds nothing more to delete.
    again = purge_runs_before(instance, CUTOFF, current_run_id=ids["old_current"])
    assert again.deleted == []


def test_run_rotation_on_a_sqlite_instance(tmp_path: Path) -> None:
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        _check_purge(instance)


def test_orphan_compute_logs_older_than_the_cutoff_are_removed(tmp_path: Path) -> None:
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        base = compute_log_base_dir(instance)
        assert base is not None
        old, fresh = base / str(uuid.uuid4()), base / str(uuid.uuid4())
        for folder in (old, fresh):
            (folder / "compute_logs").mkdir(parents=True)
            (folder / "compute_logs" / "x.out").write_text("x\n")
        stamp = (NOW - dt.timedelta(days=40)).timestamp()

        os.utime(old, (stamp, stamp))
        assert remove_orphan_compute_logs(instance, CUTOFF) == 1
        assert not old.exists() and fresh.exists()


@pytest.mark.postgres
def test_run_rotation_on_a_postgres_instance(postgres_dagster_home: Path) -> None:
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        _check_purge(instance)
