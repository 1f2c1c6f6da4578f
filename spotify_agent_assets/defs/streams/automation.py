"""What starts ingestion: new landing files (sensor) and the hourly schedule.

The sensor is the fast path: the days touched by new or rewritten files are rebuilt, so a late
file re-materializes exactly its days. The hourly schedule is the safety net for today's
(and, just after midnight, yesterday's) partition: it catches files the sensor could not see
(an mtime older than its cursor) and keeps the partition fresh if the sensor is switched off.

Neither redoes stored work: a day is requested only when its stored partitions were built
from other content than the zone now holds for it (``streams.provenance``). A brand-new
cursor over a zone that is already ingested, a file touched or re-delivered with the same
bytes, or an hour without new files requests nothing.
"""

import datetime as dt

import dagster as dg

from spotify_agent_assets.defs.streams.partitions import STREAM_DAYS
from spotify_agent_assets.defs.streams.resources import StreamLandingResource

# Files that arrive within this many hours after midnight UTC may still belong to yesterday.
LATE_HOURS = 3
# Range start and end tags: how a run request asks for several partitions in one run.
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

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
def hourly_stream_ingestion(
    context: dg.ScheduleEvaluationContext, stream_landing: StreamLandingResource
):
    """Today's partition every hour, yesterday's too in the first hours of a day, when the
    zone holds other content for them than what is stored."""
    now = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    today = now.astimezone(dt.UTC).date()
    days = [today - dt.timedelta(days=1), today] if now.hour < LATE_HOURS else [today]
    days = [day for day in days if STREAM_DAYS.has_partition_key(day.isoformat())]
    index = stream_landing.refreshed_index(stream_landing.filesystem())
    stale = stream_landing.stale_days(days, index)
    if not stale:
        shown = ", ".join(day.isoformat() for day in days)
        return dg.SkipReason(f"Stored partitions of {shown} already hold what the zone gives")
    stamp = now.strftime("%Y%m%dT%H%M")
    return [
        dg.RunRequest(partition_key=day.isoformat(), run_key=f"hourly:{stamp}:{day}")
        for day in stale
    ]


@dg.sensor(
    job=stream_ingestion,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def stream_landing_sensor(
    context: dg.SensorEvaluationContext, stream_landing: StreamLandingResource
):
    """A run for each range of days that files new since the cursor touch and whose stored
    partitions differ from what the zone now gives (one run covers a whole imported history)."""
    from spotify_agent_assets.streams.landing_cursor import LandingCursor
    from spotify_agent_assets.streams.landing_index import list_landing_files
    from spotify_agent_assets.streams.provenance import run_ranges

    cursor = LandingCursor.from_json(context.cursor)
    filesystem = stream_landing.filesystem()
    listing = list_landing_files(filesystem)
    new = cursor.new_files(listing)
    if not new:
        return dg.SkipReason(f"No new files in {stream_landing.landing_root}")
    index = stream_landing.refreshed_index(filesystem, listing)
    touched: set[dt.date] = set()
    for file in new:
        entry = index.entries[file.path]
        touched |= {*entry.days, entry.home_day}
    valid = sorted(day for day in touched if STREAM_DAYS.has_partition_key(day.isoformat()))
    if len(valid) < len(touched):
        outside = sorted(touched - set(valid))
        context.log.warning(
            f"{len(outside)} day(s) outside the stream partitions ({outside[0]}..{outside[-1]}, "
            f"partitions start {STREAM_DAYS.start.date()}) are not ingested; set "
            "SPOTIFY_AGENT_HISTORY_START to an earlier day to keep them"
        )
    stale = stream_landing.stale_days(valid, index)
    advanced = cursor.advanced(new)
    ranges = run_ranges(stale, index)
    context.log.info(
        f"{len(new)} new file(s) touch {len(valid)} day(s); {len(stale)} differ from what is "
        f"stored, in {len(ranges)} run(s)"
    )
    return dg.SensorResult(
        run_requests=[_range_request(start, end, advanced.mtime_ns) for start, end in ranges],
        cursor=advanced.to_json(),
    )


def _range_request(start: dt.date, end: dt.date, mark: int) -> dg.RunRequest:
    run_key = f"landing:{mark}:{start}" if start == end else f"landing:{mark}:{start}..{end}"
    if start == end:
        return dg.RunRequest(partition_key=start.isoformat(), run_key=run_key)
    # A range is one run: the asset's single-run backfill policy builds all its days at once.
    return dg.RunRequest(
        run_key=run_key,
        tags={RANGE_START_TAG: start.isoformat(), RANGE_END_TAG: end.isoformat()},
    )
