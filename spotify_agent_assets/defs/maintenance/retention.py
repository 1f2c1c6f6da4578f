"""``retention_job``: listening events and quarantined records older than the retention leave
every store, and what was derived from them is rebuilt (weekly, Sundays 03:30 UTC).

The logic is in ``maintenance.retention`` (lake and landing zone) and
``maintenance.retention_dependents`` (dbt models, interaction matrix); this op runs it in order,
tells Dagster which partitions are gone (so the UI shows them missing, not materialized) and
reports what it did. Each step first looks for something older than the cutoff, so a re-run,
or a run after one killed half way, does what is left and nothing else.
"""

import datetime as dt
from pathlib import Path

import dagster as dg
from pydantic import Field

from spotify_agent_assets.defs.analytics.dbt_resource import AnalyticsDbtResource
from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.defs.streams.resources import StreamLandingResource

STREAM_TABLES = ("stream_events", "stream_quarantine")
# Metadata key of the observation that marks a partition's data deleted by retention.
RETENTION_MARK = "retention_deleted"


class RetentionConfig(dg.Config):
    retention_days: int | None = Field(
        default=None,
        description=(
            "Days of listening events kept; older days are deleted. Unset: "
            "SPOTIFY_AGENT_EVENT_RETENTION_DAYS (default 730)."
        ),
    )


@dg.op(
    description=(
        "Delete stream_events and stream_quarantine days before the retention cutoff (and "
        "landing files holding only such days), the daily dbt models' rows of those days; "
        "rebuild int_track_listener_first_seen, track_performance and interaction_matrix."
    ),
    tags={"kind": "maintenance"},
    # What it did is the output's metadata; nothing is handed on (the code location's IO
    # manager stores asset tables only).
    out=dg.Out(dg.Nothing),
)
def apply_event_retention(
    context: dg.OpExecutionContext,
    config: RetentionConfig,
    lake: LakeResource,
    stream_landing: StreamLandingResource,
    dbt: AnalyticsDbtResource,
) -> dg.Output:
    from spotify_agent_assets.environment import event_retention_days
    from spotify_agent_assets.maintenance.retention import (
        RetentionConfigError,
        apply_stream_retention,
        retention_cutoff,
    )
    from spotify_agent_assets.maintenance.retention_dependents import (
        daily_models,
        days_before,
        listener_models_hold_old_days,
        load_manifest,
        prune_and_rebuild,
        rebuild_interaction_matrix,
    )

    days = config.retention_days if config.retention_days is not None else event_retention_days()
    try:
        cutoff = retention_cutoff(dt.datetime.now(dt.UTC).date(), days)
    except RetentionConfigError as error:
        raise dg.Failure(f"op config {error}", allow_retries=False) from None
    context.log.info(f"Retention {days} day(s): deleting listening data before {cutoff}")

    warehouse = lake.warehouse()
    landing = stream_landing.filesystem()
    result = apply_stream_retention(
        warehouse.lake, cutoff, landing, stream_landing.refreshed_index(landing)
    )
    if result.landing.deleted:
        stream_landing.refreshed_index(landing)  # forget the deleted files
    for table in STREAM_TABLES:
        if result.tables[table].days and warehouse.lake.partitions("streams", table):
            warehouse.register("streams", table, partitioned=True)

    models = daily_models(load_manifest(dbt.manifest_path))
    deleted_rows = {table: result.tables[table].rows for table in STREAM_TABLES}
    rebuilt: list[str] = []
    if days_before(warehouse, models, cutoff) or listener_models_hold_old_days(warehouse, cutoff):
        deleted_rows |= prune_and_rebuild(
            warehouse, models, cutoff, Path(dbt.project_dir), dbt.dbt_executable
        )
        rebuilt += ["int_track_listener_first_seen", "track_performance"]
    matrix = rebuild_interaction_matrix(warehouse, cutoff)
    if matrix is not None:
        rebuilt.append("interaction_matrix")
        # Recorded as a materialization, so what follows the matrix (user_recommendations,
        # the weekly training) sees a new version without the deleted days.
        context.log_event(
            dg.AssetMaterialization(
                asset_key="interaction_matrix",
                description=f"Rebuilt by retention_job without the plays before {cutoff}",
                metadata={
                    "as_of": matrix.as_of.isoformat(),
                    "dagster/row_count": matrix.pairs_after,
                    "listeners": matrix.listeners_after,
                    "retention_cutoff": cutoff.isoformat(),
                },
            )
        )
        deleted_rows["interaction_matrix"] = matrix.pairs_before - matrix.pairs_after

    # Asked of the instance, not of this run's deletes, so a re-run after a killed run reports
    # what that run deleted but could not report.
    unreported = {
        name: partitions
        for name in (*STREAM_TABLES, *(model.name for model in models))
        if (partitions := _unreported_partitions(context.instance, name, cutoff))
    }
    reported = _report_deleted_partitions(context, unreported, cutoff)
    changed = result.changed or bool(reported) or bool(rebuilt)
    partitions_deleted = {t: list(result.tables[t].days) for t in STREAM_TABLES}
    if changed:
        context.log.info(
            f"Deleted {sum(len(v) for v in partitions_deleted.values())} partition(s) "
            f"and {len(result.landing.deleted)} landing file(s) before {cutoff}; rebuilt "
            f"{', '.join(rebuilt) or 'nothing'}"
        )
    else:
        context.log.info(f"Nothing older than {cutoff} in any store: nothing changed")
    return dg.Output(
        None,
        metadata={
            "cutoff": cutoff.isoformat(),
            "retention_days": days,
            "changed": changed,
            "partitions_deleted": dg.MetadataValue.json(partitions_deleted),
            "rows_deleted": dg.MetadataValue.json(deleted_rows),
            "landing_files_deleted": len(result.landing.deleted),
            "landing_files_spanning_cutoff_kept": len(result.landing.kept_spanning),
            "dagster_partitions_reported": dg.MetadataValue.json(reported),
            "rebuilt": dg.MetadataValue.json(rebuilt),
        },
    )


def _unreported_partitions(instance: dg.DagsterInstance, name: str, cutoff: dt.date) -> list[str]:
    """Materialized partitions of ``name`` before ``cutoff`` that no retention observation
    has marked deleted yet."""
    key = dg.AssetKey(name)
    old = sorted(p for p in instance.get_materialized_partitions(key) if p < cutoff.isoformat())
    if not old:
        return []
    marked: set[str] = set()
    cursor = None
    while True:
        page = instance.fetch_observations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=old), limit=1000, cursor=cursor
        )
        marked |= {
            record.partition_key
            for record in page.records
            if record.asset_observation is not None
            and RETENTION_MARK in record.asset_observation.metadata
        }
        if not page.has_more:
            return [day for day in old if day not in marked]
        cursor = page.cursor


def _report_deleted_partitions(
    context: dg.OpExecutionContext, deleted: dict[str, list[str]], cutoff: dt.date
) -> dict[str, str]:
    """Tell Dagster which partitions no longer hold data; returns how, per asset.

    Wiping the partitions would show them missing, but Dagster's SQL event log storage (SQLite
    and PostgreSQL alike, 1.13) raises NotImplementedError for a partition wipe, and a wipe of
    the whole asset would forget the days kept too. There, each deleted partition gets a
    runless observation saying so (in the partition's history in the UI), and keeps its
    materialization: a materialization of the empty day instead would wake the daily models'
    automation for every deleted day. A storage that can wipe partitions wipes them.
    """
    how: dict[str, str] = {}
    for name, days in sorted(deleted.items()):
        key = dg.AssetKey(name)
        try:
            context.instance.wipe_asset_partitions(key, days)
            how[name] = f"wiped {len(days)}"
            continue
        except NotImplementedError:
            pass
        for day in days:
            context.log_event(
                dg.AssetObservation(
                    asset_key=key,
                    partition=day,
                    description=f"Deleted by retention_job: the day is before {cutoff}",
                    metadata={RETENTION_MARK: True, "retention_cutoff": cutoff.isoformat()},
                )
            )
        how[name] = f"observed deleted {len(days)}"
    return how


@dg.job(
    description=(
        "Delete listening events and quarantined records older than the retention "
        "(SPOTIFY_AGENT_EVENT_RETENTION_DAYS) and rebuild what depends on them."
    ),
    tags={"maintenance": "retention"},
)
def retention_job() -> None:
    apply_event_retention()


retention_schedule = dg.ScheduleDefinition(
    name="weekly_retention",
    job=retention_job,
    cron_schedule="30 3 * * 0",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Sundays 03:30 UTC: delete listening data older than the retention.",
)

JOBS = [retention_job]
SCHEDULES = [retention_schedule]
SENSORS: list = []
