"""``stream_events`` and ``stream_quarantine``: the landing zone as daily lake partitions.

Both come from one step (one read of the files yields the good rows and the refused ones) and
are partitioned by UTC day of event time. A run rebuilds its days from every landing file that
touches them, so it is idempotent, a late file simply re-runs its day, and a backfill of many
days in one run equals one run per day.
"""

import datetime as dt
import time
from typing import TYPE_CHECKING, Any

import dagster as dg

from spotify_agent_assets.defs.streams.partitions import STREAM_DAYS
from spotify_agent_assets.defs.streams.resources import StreamLandingResource
from spotify_agent_assets.defs.table_metadata import contract_metadata, preview_markdown
from spotify_agent_assets.streams import tables as stream_tables

if TYPE_CHECKING:
    from spotify_agent_assets.streams.rebuild import EventIntegrity

# Ingestion is expected at least hourly; a day without a fresh partition means the schedule,
# the sensor or the producers are stuck.
# Per-day figures in metadata up to this many days (a month); longer runs get a summary.
MAX_DAYS_LISTED = 31
# How often a long run logs how many landing files it has read.
PROGRESS_SECONDS = 10.0
STREAM_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=dt.timedelta(hours=6), warn_window=dt.timedelta(hours=2)
)

STREAM_EVENTS = dg.AssetSpec(
    "stream_events",
    group_name="streams",
    description=(
        "One row per listening event, de-duplicated by event_id, listener ids replaced by a "
        "keyed HMAC (listener_key), partitioned by the UTC day of ts. Lineage columns: "
        "source_file (relative to the landing zone) and source_format."
    ),
    kinds={"parquet", "duckdb"},
    freshness_policy=STREAM_FRESHNESS,
    metadata=contract_metadata(stream_tables.STREAM_EVENTS),
)
STREAM_QUARANTINE = dg.AssetSpec(
    "stream_quarantine",
    group_name="streams",
    description=(
        "Landing-zone records that were refused, with the file, line and reason. Filed under "
        "the earliest day of their file. Raw listener ids never appear; listener_key does."
    ),
    kinds={"parquet", "duckdb"},
    metadata=contract_metadata(stream_tables.STREAM_QUARANTINE),
)


@dg.multi_asset(
    outs={
        "stream_events": dg.AssetOut.from_spec(STREAM_EVENTS, dagster_type=dg.Any),
        "stream_quarantine": dg.AssetOut.from_spec(STREAM_QUARANTINE, dagster_type=dg.Any),
    },
    check_specs=[
        dg.AssetCheckSpec(
            "event_id_unique_and_listener_pseudonymized",
            asset="stream_events",
            blocking=True,
            description="No event twice in the run's days; every listener_key is an HMAC digest.",
        )
    ],
    partitions_def=STREAM_DAYS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="stream_ingestion",
)
def stream_events(context: dg.AssetExecutionContext, stream_landing: StreamLandingResource):
    """Rebuild the run's days from the landing files that touch them."""
    from spotify_agent_assets.streams.erased_listeners import load_erased_digests
    from spotify_agent_assets.streams.rebuild import (
        UnreadableLandingFilesError,
        rebuild_partitions,
    )

    days = sorted(dt.date.fromisoformat(key) for key in context.partition_keys)
    floor = stream_landing.ingestion_floor()
    if floor is not None and days[0] < floor:
        # A landing file spanning newer days may still hold a deleted day's events.
        raise dg.Failure(
            description=(
                f"days from {days[0]} are before {floor}, the first day retention_job keeps: "
                f"their events were deleted and are not ingested again; ask for {floor} or later"
            ),
            allow_retries=False,
        )
    filesystem = stream_landing.filesystem()
    index = stream_landing.refreshed_index(filesystem)
    files = index.files_for(days)
    context.log.info(
        f"Rebuilding {len(days)} day(s) {days[0]}..{days[-1]} from {len(files)} landing file(s) "
        f"of {len(index.entries)} in {stream_landing.landing_root}"
    )
    started = last = time.monotonic()

    def progress(done: int, total: int) -> None:
        # A backfill reads hundreds of files before the first day is written.
        nonlocal last
        now = time.monotonic()
        if now - last >= PROGRESS_SECONDS and done < total:
            last = now
            context.log.info(f"read {done}/{total} landing file(s) in {now - started:.0f}s")

    try:
        built = rebuild_partitions(
            days,
            index,
            stream_landing.key(),
            filesystem,
            erased=load_erased_digests(stream_landing.data_dir),
            on_file=progress,
        )
    except UnreadableLandingFilesError as error:
        # Retrying cannot fix a broken file; nothing was written, the stored days stand.
        raise dg.Failure(
            description=str(error),
            metadata={"unreadable_files": [e.path for e in error.errors]},
            allow_retries=False,
        ) from None

    yield dg.Output(
        built.events,
        output_name="stream_events",
        metadata={
            "files_read": built.files_read,
            "duplicates_dropped": built.duplicates_dropped,
            "events": sum(built.events_by_day.values()),
            "events_by_day": dg.MetadataValue.json(_events_by_day(built.events_by_day)),
            # A preview is a page of text; copied onto thousands of partitions it is not.
            **(
                {"preview": dg.MetadataValue.md(preview_markdown(built.preview))}
                if len(days) <= MAX_DAYS_LISTED
                else {}
            ),
        },
    )
    # After the output: the lake IO manager has now built and written every day, and the
    # integrity figures describe exactly the rows it stored.
    yield _integrity_check(built.integrity)
    yield dg.Output(
        built.quarantine,
        output_name="stream_quarantine",
        metadata={
            "quarantined": sum(built.quarantine_reasons.values()),
            "reasons": dg.MetadataValue.json(built.quarantine_reasons),
        },
    )


def _events_by_day(counts: dict[str, int]) -> dict[str, Any]:
    """Events per day for a run of a month or less; a summary for longer runs. Dagster copies
    a run's output metadata onto every partition's materialization, so a per-day list for a
    backfill of years would be stored thousands of times over."""
    if len(counts) <= MAX_DAYS_LISTED:
        return counts
    with_events = [day for day, n in counts.items() if n]
    return {
        "days": len(counts),
        "days_with_events": len(with_events),
        "first_day_with_events": with_events[0] if with_events else None,
        "last_day_with_events": with_events[-1] if with_events else None,
    }


def _integrity_check(integrity: "EventIntegrity") -> dg.AssetCheckResult:
    """Blocks what reads the events when a stored day repeats an event or holds a raw id."""
    return dg.AssetCheckResult(
        check_name="event_id_unique_and_listener_pseudonymized",
        asset_key="stream_events",
        passed=integrity.passed,
        metadata={
            "days_checked": integrity.days_checked,
            "rows_checked": integrity.rows,
            "duplicate_event_ids": integrity.duplicate_event_ids,
            "listener_keys_not_hmac": integrity.listener_keys_not_hmac,
        },
    )


STREAM_ASSETS = [stream_events]
