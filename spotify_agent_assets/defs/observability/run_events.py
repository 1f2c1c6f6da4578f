"""Finished runs read from the Dagster instance as ``RunSummary`` values.

The export sensor and the metrics server both walk the run-end events (RUN_SUCCESS,
RUN_FAILURE, RUN_CANCELED) in storage-id order after a cursor, and read each finished run's
event log once. A run is final when its end event is stored, so what is read from it never
changes afterwards: one pass per run, nothing missed, nothing counted twice.
"""

import dagster as dg

from spotify_agent_assets.observability.run_summary import (
    CANCELED,
    FAILURE,
    SKIPPED,
    SUCCESS,
    Materialization,
    RunSummary,
)

RUN_END_TYPES = {
    dg.DagsterEventType.RUN_SUCCESS: SUCCESS,
    dg.DagsterEventType.RUN_FAILURE: FAILURE,
    dg.DagsterEventType.RUN_CANCELED: CANCELED,
}
STEP_END_STATUS = {
    dg.DagsterEventType.STEP_SUCCESS.value: SUCCESS,
    dg.DagsterEventType.STEP_FAILURE.value: FAILURE,
    dg.DagsterEventType.STEP_SKIPPED.value: SKIPPED,
}
METADATA_KINDS = (int, float, str, bool)


def _plain_metadata(metadata: dict) -> dict:
    """Numbers and short texts of an event's metadata (tables, markdown and JSON left out)."""
    plain = {}
    for name, entry in metadata.items():
        value = getattr(entry, "value", entry)
        if isinstance(value, METADATA_KINDS) and not (isinstance(value, str) and len(value) > 200):
            plain[name] = value
    return plain


def summarize_run(
    instance: dg.DagsterInstance, run_id: str, status: str, end: float, end_event_id: int
) -> RunSummary:
    """Read run ``run_id``'s event log into a summary (steps, materializations, timings)."""
    run = instance.get_run_by_id(run_id)
    summary = RunSummary(
        run_id=run_id,
        job_name=run.job_name if run else "unknown",
        status=status,
        start=None,
        end=end,
        end_event_id=end_event_id,
        parent_run_id=run.parent_run_id if run else None,
        partition=run.tags.get("dagster/partition") if run else None,
    )
    for record in instance.get_records_for_run(run_id, limit=None).records:
        entry = record.event_log_entry
        event = entry.dagster_event
        if event is None:
            continue
        kind = event.event_type_value
        if kind == dg.DagsterEventType.RUN_START.value:
            summary.start = entry.timestamp
        elif event.step_key is None:
            continue
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED.value:
            summary.step(event.step_key).asset_keys.add(event.asset_key.to_user_string())
        elif kind == dg.DagsterEventType.STEP_START.value:
            step = summary.step(event.step_key)
            step.start = entry.timestamp if step.start is None else step.start
            step.attempts = max(step.attempts, 1)
        elif kind == dg.DagsterEventType.STEP_RESTARTED.value:
            step = summary.step(event.step_key)
            step.attempts += 1
            step.retry_times.append(entry.timestamp)
            step.start = entry.timestamp if step.start is None else step.start
        elif kind in STEP_END_STATUS:
            step = summary.step(event.step_key)
            step.status = STEP_END_STATUS[kind]
            step.end = entry.timestamp
            if kind == dg.DagsterEventType.STEP_FAILURE.value:
                error = getattr(event.event_specific_data, "error", None)
                step.error_class = error.cls_name if error is not None else None
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION.value:
            materialization = event.step_materialization_data.materialization
            asset_key = materialization.asset_key.to_user_string()
            summary.step(event.step_key).asset_keys.add(asset_key)
            summary.materializations.append(
                Materialization(
                    event_id=record.storage_id,
                    run_id=run_id,
                    step_key=event.step_key,
                    asset_key=asset_key,
                    partition=materialization.partition,
                    timestamp=entry.timestamp,
                    metadata=_plain_metadata(dict(materialization.metadata)),
                )
            )
    return summary


def finished_runs_after(
    instance: dg.DagsterInstance, after_event_id: int, limit: int = 25
) -> tuple[list[RunSummary], int]:
    """Up to ``limit`` runs whose end event's storage id is above ``after_event_id``, oldest
    first, and the cursor to pass next time (the last end event read)."""
    ends = []
    for event_type, status in RUN_END_TYPES.items():
        result = instance.fetch_run_status_changes(
            dg.RunStatusChangeRecordsFilter(event_type=event_type, after_storage_id=after_event_id),
            limit=limit,
            ascending=True,
        )
        full = len(result.records) >= limit
        ends += [(r, status, full) for r in result.records]
    ends.sort(key=lambda item: item[0].storage_id)
    # A type that returned a full page may have more before another type's later records:
    # stop at the end of the shortest full page, the rest comes next time.
    full_pages = {}
    for record, _status, full in ends:
        if full:
            key = record.event_log_entry.dagster_event.event_type_value
            full_pages[key] = max(full_pages.get(key, 0), record.storage_id)
    horizon = min(full_pages.values()) if full_pages else None
    runs = []
    cursor = after_event_id
    for record, status, _full in ends:
        if horizon is not None and record.storage_id > horizon:
            break
        entry = record.event_log_entry
        runs.append(
            summarize_run(instance, entry.run_id, status, entry.timestamp, record.storage_id)
        )
        cursor = record.storage_id
    return runs, cursor
