"""``observability_export_sensor``: the audit records of materializations and the spans of
every finished run, from Dagster's event log.

Each tick reads the runs finished since its cursor (``run_events.finished_runs_after``),
appends one audit record per materialization and, when an OTLP endpoint is set, exports the
run's spans. The cursor keeps two positions: audit records and spans advance independently,
so a trace receiver that is down delays only the spans (sent again on the next tick), never
the audit log. RUNNING by default: a deployment that misses ticks catches up from the cursor.
A tick that dies between writing audit records and storing its cursor writes those records
again next time; each carries the event's ``event_id`` (Dagster's storage id) to tell them
apart.
"""

import datetime as dt
import json

import dagster as dg

from spotify_agent_assets.defs.observability.resources import ObservabilityResource
from spotify_agent_assets.defs.observability.run_events import finished_runs_after
from spotify_agent_assets.observability.audit_log import MATERIALIZATION, build_record
from spotify_agent_assets.observability.run_summary import (
    API_REQUESTS,
    API_RETRIES,
    RunSummary,
)
from spotify_agent_assets.observability.trace_context import TraceContext

RUNS_PER_TICK = 25


def materialization_records(run: RunSummary) -> list[dict]:
    """One audit record per materialization of ``run``, in event order."""
    records = []
    for m in run.materializations:
        rows = m.row_count
        where = f" partition {m.partition}" if m.partition else ""
        counted = f": {rows} rows" if rows is not None else ""
        details = {"job_name": run.job_name}
        for name in (API_REQUESTS, API_RETRIES):
            if name in m.metadata:
                details[name] = m.metadata[name]
        records.append(
            build_record(
                MATERIALIZATION,
                f"materialized {m.asset_key}{where}{counted}",
                timestamp=dt.datetime.fromtimestamp(m.timestamp, dt.UTC),
                trace=TraceContext(m.run_id, m.step_key),
                asset_key=m.asset_key,
                partition=m.partition,
                row_count=rows,
                details=details,
                event_id=m.event_id,
            )
        )
    return records


def _cursor(raw: str | None) -> dict[str, int | None]:
    if not raw:
        return {"audit": 0, "traces": None}
    values = json.loads(raw)
    return {"audit": int(values["audit"]), "traces": values.get("traces")}


@dg.sensor(
    name="observability_export_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Appends an audit record per materialization of each finished run and exports the "
        "run's spans (trace id = run id) to the OTLP endpoint when one is set."
    ),
)
def observability_export_sensor(
    context: dg.SensorEvaluationContext, observability: ObservabilityResource
) -> dg.SkipReason:
    from spotify_agent_assets.observability.traces import SpanExportError, export_runs

    cursor = _cursor(context.cursor)
    instance = context.instance
    runs, audit_next = finished_runs_after(instance, cursor["audit"], RUNS_PER_TICK)
    written = observability.audit().write(
        [record for run in runs for record in materialization_records(run)]
    )
    endpoint = observability.traces_endpoint()
    exported, traces_next, note = 0, audit_next, ""
    if endpoint is not None:
        # Traces switched on later start from here; a backlog (receiver down) is read again.
        traces_from = cursor["traces"] if cursor["traces"] is not None else cursor["audit"]
        trace_runs = runs
        if traces_from != cursor["audit"]:
            trace_runs, traces_next = finished_runs_after(instance, traces_from, RUNS_PER_TICK)
        try:
            exported = export_runs(
                trace_runs, endpoint, observability.environment, observability.otlp_timeout_s
            )
        except SpanExportError as error:
            traces_next, note = traces_from, f"; {error}"
            context.log.warning(str(error))
    context.update_cursor(json.dumps({"audit": audit_next, "traces": traces_next}))
    return dg.SkipReason(
        f"{len(runs)} finished run(s): {written} audit record(s), {exported} span(s) exported"
        + ("" if endpoint else " (traces off: no OTLP endpoint)")
        + note
    )
