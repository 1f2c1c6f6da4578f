"""What starts ingestion: new landing files (sensor) and the hourly schedule.

The sensor is the fast path: a new or rewritten file becomes one run per day it touches, so a
late file re-materializes exactly its days. The hourly schedule is the safety net for today's
(and, just after midnight, yesterday's) partition: it catches files the sensor could not see
(an mtime older than its cursor) and keeps the partition fresh if the sensor is switched off.
"""

import datetime as dt

import dagster as dg

from spotify_agent_assets.defs.streams.partitions import STREAM_DAYS
from spotify_agent_assets.defs.streams.resources import StreamLandingResource

# Files that arrive within this many hours after midnight UTC may still belong to yesterday.
LATE_HOURS = 3

stream_ingestion = dg.define_asset_job(
    "stream_ingestion",
    selection=dg.AssetSelection.assets("stream_events", "stream_quarantine"),
    description="Rebuild daily stream_events partitions from the landing zone.",
)


@dg.schedule(
    job=stream_ingestion,
    cron_schedule="5 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def hourly_stream_ingestion(context: dg.ScheduleEvaluationContext):
    """Today's partition every hour; yesterday's too in the first hours of a day."""
    now = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    today = now.astimezone(dt.UTC).date()
    days = [today - dt.timedelta(days=1), today] if now.hour < LATE_HOURS else [today]
    stamp = now.strftime("%Y%m%dT%H%M")
    return [
        dg.RunRequest(partition_key=day.isoformat(), run_key=f"hourly:{stamp}:{day}")
        for day in days
        if STREAM_DAYS.has_partition_key(day.isoformat())
    ]


@dg.sensor(
    job=stream_ingestion,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def stream_landing_sensor(
    context: dg.SensorEvaluationContext, stream_landing: StreamLandingResource
):
    """One run per day touched by files that are new since the cursor."""
    from spotify_agent_assets.streams.landing_cursor import LandingCursor
    from spotify_agent_assets.streams.landing_index import index_file, list_landing_files

    cursor = LandingCursor.from_json(context.cursor)
    filesystem = stream_landing.filesystem()
    new = cursor.new_files(list_landing_files(filesystem))
    if not new:
        return dg.SkipReason(f"No new files in {stream_landing.landing_root}")
    cached = stream_landing.cached_index().entries
    days: set[dt.date] = set()
    for file in new:
        entry = cached.get(file.path)
        if entry is None or entry.file != file:
            entry = index_file(file, filesystem)
        days |= {*entry.days, entry.home_day}
    keys = [day.isoformat() for day in sorted(days)]
    valid = [key for key in keys if STREAM_DAYS.has_partition_key(key)]
    if len(valid) < len(keys):
        outside = sorted(set(keys) - set(valid))
        context.log.warning(
            f"{len(outside)} day(s) outside the stream partitions ({outside[0]}..{outside[-1]}) "
            "are not ingested"
        )
    advanced = cursor.advanced(new)
    context.log.info(f"{len(new)} new file(s) touch {len(valid)} partition(s)")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(partition_key=key, run_key=f"landing:{advanced.mtime_ns}:{key}")
            for key in valid
        ],
        cursor=advanced.to_json(),
    )
