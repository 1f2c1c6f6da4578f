"""``log_and_run_rotation_job``: old Dagster runs leave the instance, logs are compressed and
rotated (daily, 01:30 UTC).

- Runs created more than ``run_retention_days`` ago that have finished are deleted with their
  event logs (``instance.delete_run``: SQLite and PostgreSQL alike) and compute logs; a queued
  or running run, and this job's own run, are kept.
- Compute logs of finished steps not written for ``compress_after_hours`` are gzipped beside
  themselves (``<step>.out.gz``); Dagster's local compute log manager reads only plain files,
  so such a step's stdout/stderr shows empty in the UI rather than failing. Compute log folders
  of runs the instance no longer has are removed once older than the run retention.
- Audit logs (``<data>/logs/*.jsonl``) idle for ``compress_after_hours`` are gzipped and the
  newest ``keep_audit_archives`` archives kept.

Logic: ``maintenance.run_rotation`` and ``maintenance.log_rotation``.
"""

import datetime as dt

import dagster as dg
from pydantic import Field

from spotify_agent_assets.environment import load_settings


class RotationConfig(dg.Config):
    run_retention_days: int = Field(
        default=30, ge=1, description="Finished runs created more days ago than this are deleted."
    )
    compress_after_hours: int = Field(
        default=24, ge=1, description="Logs not written for this many hours are compressed."
    )
    keep_audit_archives: int = Field(
        default=90, ge=1, description="Compressed audit logs kept (newest first)."
    )


@dg.op(
    description=(
        "Delete finished runs older than the run retention with their event and compute logs; "
        "gzip idle compute logs and audit logs, keeping the newest audit archives."
    ),
    tags={"kind": "maintenance"},
    out=dg.Out(dg.Nothing),
)
def rotate_runs_and_logs(context: dg.OpExecutionContext, config: RotationConfig) -> dg.Output:
    from spotify_agent_assets.maintenance.log_rotation import (
        compress_compute_logs,
        rotate_jsonl_logs,
    )
    from spotify_agent_assets.maintenance.run_rotation import (
        compute_log_base_dir,
        purge_runs_before,
        remove_orphan_compute_logs,
    )

    now = dt.datetime.now(dt.UTC)
    cutoff = now - dt.timedelta(days=config.run_retention_days)
    idle = dt.timedelta(hours=config.compress_after_hours)
    instance = context.instance

    purge = purge_runs_before(instance, cutoff, current_run_id=context.run_id)
    orphans = remove_orphan_compute_logs(instance, cutoff)
    base = compute_log_base_dir(instance)
    compute = compress_compute_logs(base, idle, now) if base is not None else None
    audit_dir = load_settings().audit_log_dir
    audit = rotate_jsonl_logs(audit_dir, config.keep_audit_archives, idle, now)

    context.log.info(
        f"Deleted {len(purge.deleted)} run(s) created before {cutoff:%Y-%m-%d %H:%M} UTC "
        f"(kept {len(purge.kept_unfinished)} unfinished); compressed "
        f"{len(compute.compressed) if compute else 0} compute log(s) and "
        f"{len(audit.compressed)} audit log(s); removed {len(audit.removed)} old audit archive(s)"
    )
    return dg.Output(
        None,
        metadata={
            "run_cutoff": cutoff.isoformat(),
            "runs_deleted": len(purge.deleted),
            "runs_kept_unfinished": len(purge.kept_unfinished),
            "compute_log_folders_removed": purge.compute_log_dirs_removed + orphans,
            "compute_logs_compressed": len(compute.compressed) if compute else 0,
            "compute_log_dir": str(base) if base is not None else "not a local compute log dir",
            "audit_log_dir": str(audit_dir),
            "audit_logs_compressed": len(audit.compressed),
            "audit_archives_removed": len(audit.removed),
            "audit_logs_active": len(audit.skipped_active),
        },
    )


@dg.job(
    description=(
        "Purge finished Dagster runs (and their event logs) older than N days from the instance "
        "storage; compress compute logs and audit logs, keeping the newest N audit archives."
    ),
    tags={"maintenance": "rotation"},
)
def log_and_run_rotation_job() -> None:
    rotate_runs_and_logs()


rotation_schedule = dg.ScheduleDefinition(
    name="daily_log_and_run_rotation",
    job=log_and_run_rotation_job,
    cron_schedule="30 1 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="01:30 UTC: purge old runs, rotate compute and audit logs.",
)

JOBS = [log_and_run_rotation_job]
SCHEDULES = [rotation_schedule]
SENSORS: list = []
