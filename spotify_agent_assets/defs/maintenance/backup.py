"""``backup_job`` (nightly at 02:00 UTC) and ``restore_check_job`` (daily at 04:00 UTC).

``backup_job`` seals an incremental backup of the warehouse, the lake, MLflow and the
configuration to ``SPOTIFY_AGENT_BACKUP_URL`` (default ``<data>/backups``), then applies the
retention (keep N daily and M weekly backups). ``restore_check_job`` restores the newest backup
into a scratch folder and proves every checksum and row count; the health check reads when that
last succeeded. Both stop before touching anything when ``SPOTIFY_AGENT_BACKUP_KEY`` is unset.
The logic lives in ``spotify_agent_assets.maintenance.backup`` and ``.restore``.
"""

import json
from typing import Any

import dagster as dg
from pydantic import Field

from spotify_agent_assets.defs.backup_resource import BackupKeyResource
from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.environment import load_settings
from spotify_agent_assets.maintenance.backup import DEFAULT_KEEP_DAILY, DEFAULT_KEEP_WEEKLY

# Two hours after the backup: room for a slow one, and a failed check is seen the same morning.
BACKUP_CRON = "0 2 * * *"
RESTORE_CHECK_CRON = "0 4 * * *"


class BackupRetentionConfig(dg.Config):
    # At least one of each: the backup this run just made is the newest of its kind.
    keep_daily: int = Field(default=DEFAULT_KEEP_DAILY, ge=1, description="Daily backups kept.")
    keep_weekly: int = Field(default=DEFAULT_KEEP_WEEKLY, ge=1, description="Weekly backups kept.")


# Ops pass no values (the default IO manager stores asset outputs in the lake): retention runs
# after the backup through a Nothing dependency, and everything else is in the metadata.
@dg.op(out=dg.Out(dg.Nothing))
def create_backup(
    context: dg.OpExecutionContext, lake: LakeResource, backup_key: BackupKeyResource
) -> None:
    """Back up the warehouse, the lake, MLflow and the configuration (only changed files are
    uploaded); the backup exists once its manifest is written, last."""
    from spotify_agent_assets.maintenance.backup import create_backup as run_backup

    key = backup_key.key_bytes()  # first: no key, nothing written
    settings = load_settings()
    result = run_backup(
        settings,
        key,
        s3=lake.s3_settings(settings.backup_destination),
        lake_s3=lake.s3_settings(),
    )
    context.log.info(
        f"backup {result.backup_id} ({result.kind}) in {result.destination}: "
        f"{result.files_new} of {result.files_total} files new, {result.bytes_new:,} of "
        f"{result.bytes_total:,} stored bytes uploaded, {result.seconds:.1f} s"
    )
    context.add_output_metadata(
        {
            "backup_id": result.backup_id,
            "kind": result.kind,
            "destination": result.destination,
            "files_total": result.files_total,
            "files_new": result.files_new,
            "bytes_total": result.bytes_total,
            "bytes_new": result.bytes_new,
            "source_bytes": result.source_bytes,
            "seconds": round(result.seconds, 2),
            "tables": _row_counts(result.tables),
            "not_backed_up": json.dumps(result.notes, sort_keys=True),
        }
    )


@dg.op(ins={"after_backup": dg.In(dg.Nothing)})
def apply_backup_retention(
    context: dg.OpExecutionContext,
    config: BackupRetentionConfig,
    lake: LakeResource,
    backup_key: BackupKeyResource,
) -> None:
    """Keep the newest daily and weekly backups; remove older manifests, then unreferenced blobs."""
    from spotify_agent_assets.maintenance.backup import apply_retention

    settings = load_settings()
    result = apply_retention(
        settings,
        backup_key.key_bytes(),
        keep_daily=config.keep_daily,
        keep_weekly=config.keep_weekly,
        s3=lake.s3_settings(settings.backup_destination),
    )
    context.log.info(
        f"kept {len(result.kept)} backups, removed {len(result.removed_backups)} and "
        f"{result.removed_blobs} unreferenced blobs"
    )
    context.add_output_metadata(
        {
            "kept": len(result.kept),
            "removed_backups": ", ".join(result.removed_backups) or "none",
            "removed_blobs": result.removed_blobs,
        }
    )


@dg.op
def check_latest_backup(
    context: dg.OpExecutionContext, lake: LakeResource, backup_key: BackupKeyResource
) -> None:
    """Restore the newest backup into a scratch folder and prove every file's checksum and every
    table's row count; records ``verified_at`` on success, fails naming the file otherwise."""
    import time

    from spotify_agent_assets.maintenance.restore import check_latest_backup as run_check

    key = backup_key.key_bytes()
    settings = load_settings()
    started = time.monotonic()
    report = run_check(settings, key, s3=lake.s3_settings(settings.backup_destination))
    seconds = time.monotonic() - started
    context.log.info(
        f"backup {report.backup_id} restored and proved: {report.files} files, "
        f"{len(report.tables)} tables, {seconds:.1f} s"
    )
    context.add_output_metadata(
        {
            "backup_id": report.backup_id,
            "created_at": report.created_at.isoformat(),
            "files": report.files,
            "bytes": report.bytes,
            "seconds": round(seconds, 2),
            "tables": _row_counts(report.tables),
        }
    )


@dg.job(description="Encrypted incremental backup of warehouse, lake, MLflow and configuration.")
def backup_job() -> None:
    apply_backup_retention(create_backup())


@dg.job(description="Restore the newest backup into a scratch folder and prove it.")
def restore_check_job() -> None:
    check_latest_backup()


# On by default: a deployment backs itself up unattended from its first night. Without a key
# the run fails at once saying what to set (and the health check's backup_age fails too).
nightly_backup = dg.ScheduleDefinition(
    name="nightly_backup",
    job=backup_job,
    cron_schedule=BACKUP_CRON,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
daily_restore_check = dg.ScheduleDefinition(
    name="daily_restore_check",
    job=restore_check_job,
    cron_schedule=RESTORE_CHECK_CRON,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


def _row_counts(tables: dict[str, int]) -> dg.TableMetadataValue:
    schema = dg.TableSchema(
        columns=[dg.TableColumn("table", "string"), dg.TableColumn("rows", "int")]
    )
    records: list[Any] = [dg.TableRecord({"table": t, "rows": n}) for t, n in tables.items()]
    return dg.MetadataValue.table(records, schema=schema)


JOBS = [backup_job, restore_check_job]
SCHEDULES = [nightly_backup, daily_restore_check]
SENSORS: list = []
