"""OpenTelemetry spans for finished runs, exported with OTLP/HTTP.

One trace per run (trace id = run id), a root span for the run and a child span per step,
with the ids of ``trace_context`` so they match what the steps stamped on their audit records
and outgoing requests. The spans are built after the run from its event log rather than
recorded live inside the steps: the event log holds every step's start and end whatever
executor ran it (in process, forked, a Celery or Kubernetes worker) and survives a worker
killed mid-step, where a live span would never be ended or flushed; and only the process that
exports (the export sensor) needs the exporter and its endpoint.

Off unless ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (a full URL) or ``OTEL_EXPORTER_OTLP_ENDPOINT``
(a base URL, ``/v1/traces`` appended, as the OTLP specification says) is set; the exporter
reads its headers (``OTEL_EXPORTER_OTLP_HEADERS``, where a collector token would go) itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from spotify_agent_assets.observability.run_summary import FAILURE, SUCCESS, RunSummary
from spotify_agent_assets.observability.trace_context import (
    run_span_id,
    step_span_id,
    trace_id_for_run,
)

TRACES_ENDPOINT_VAR = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
ENDPOINT_VAR = "OTEL_EXPORTER_OTLP_ENDPOINT"
SERVICE_NAME = "spotify_agent_assets"
SCOPE = "spotify_agent_assets.observability"
EXPORT_TIMEOUT_S = 10.0


def otlp_traces_endpoint(environ: Mapping[str, str]) -> str | None:
    """Where spans go: the traces endpoint, else ``<endpoint>/v1/traces``, else None (off)."""
    traces = (environ.get(TRACES_ENDPOINT_VAR) or "").strip()
    if traces:
        return traces
    base = (environ.get(ENDPOINT_VAR) or "").strip()
    return f"{base.rstrip('/')}/v1/traces" if base else None


def _nanos(seconds: float) -> int:
    return round(seconds * 1e9)


def build_spans(run: RunSummary, environment: str) -> list[Any]:
    """The run's root span and one child per step that started, as SDK ``ReadableSpan``s."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

    resource = Resource.create(
        {"service.name": SERVICE_NAME, "deployment.environment.name": environment}
    )
    scope = InstrumentationScope(SCOPE)
    trace_id = int(trace_id_for_run(run.run_id), 16)

    def context(span_id: str) -> SpanContext:
        return SpanContext(
            trace_id, int(span_id, 16), is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED)
        )

    def status(value: str, error_class: str | None) -> Status:
        if value == SUCCESS:
            return Status(StatusCode.OK)
        if value == FAILURE:
            # The class only: an error's text can quote inputs; it stays in the event log.
            return Status(StatusCode.ERROR, error_class or "failure")
        return Status(StatusCode.UNSET)

    root = context(run_span_id(run.run_id))
    start = run.start if run.start is not None else run.end
    run_attributes: dict[str, Any] = {
        "dagster.run_id": run.run_id,
        "dagster.job_name": run.job_name,
        "dagster.run_status": run.status,
    }
    if run.parent_run_id:
        run_attributes["dagster.parent_run_id"] = run.parent_run_id
    if run.partition:
        run_attributes["dagster.partition"] = run.partition
    spans = [
        ReadableSpan(
            name=f"run {run.job_name}",
            context=root,
            parent=None,
            resource=resource,
            attributes=run_attributes,
            kind=SpanKind.INTERNAL,
            status=status(run.status, None),
            start_time=_nanos(start),
            end_time=_nanos(max(run.end, start)),
            instrumentation_scope=scope,
        )
    ]
    for step in sorted(run.steps.values(), key=lambda s: (s.start or 0, s.step_key)):
        if step.start is None:
            continue  # planned, never started (an upstream failed): no work to show
        end = step.end if step.end is not None else max(run.end, step.start)
        attributes: dict[str, Any] = {
            "dagster.run_id": run.run_id,
            "dagster.step_key": step.step_key,
            "dagster.step_status": step.status,
            "dagster.step_attempts": step.attempts,
        }
        if step.asset_keys:
            attributes["dagster.asset_keys"] = sorted(step.asset_keys)
        if step.error_class:
            attributes["exception.type"] = step.error_class
        spans.append(
            ReadableSpan(
                name=f"step {step.step_key}",
                context=context(step_span_id(run.run_id, step.step_key)),
                parent=root,
                resource=resource,
                attributes=attributes,
                events=[
                    Event("retry", {"dagster.attempt": n + 2}, timestamp=_nanos(t))
                    for n, t in enumerate(step.retry_times)
                ],
                kind=SpanKind.INTERNAL,
                status=status(step.status, step.error_class),
                start_time=_nanos(step.start),
                end_time=_nanos(end),
                instrumentation_scope=scope,
            )
        )
    return spans


class SpanExportError(RuntimeError):
    """The OTLP receiver did not accept the spans (it is down or refused them)."""


def export_runs(
    runs: Sequence[RunSummary],
    endpoint: str,
    environment: str,
    timeout_s: float = EXPORT_TIMEOUT_S,
) -> int:
    """Send every span of ``runs`` to ``endpoint`` in one OTLP/HTTP request; returns the count."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult

    spans = [span for run in runs for span in build_spans(run, environment)]
    if not spans:
        return 0
    exporter = OTLPSpanExporter(endpoint=endpoint, timeout=timeout_s)
    try:
        result = exporter.export(spans)
    finally:
        exporter.shutdown()
    if result is not SpanExportResult.SUCCESS:
        raise SpanExportError(
            # No URL in the text: an endpoint may carry credentials (https://user:token@...).
            f"the OTLP receiver did not accept {len(spans)} span(s) of "
            f"{len(runs)} run(s); they are sent again on the next tick"
        )
    return len(spans)
