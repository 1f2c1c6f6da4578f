"""The observability resource, and the step context the plain modules see.

``ObservabilityResource`` says where audit records go (the folder, stdout) and where spans go
(an OTLP/HTTP endpoint, off when none is set). ``install`` is called once per process by
``build_resources``: it points ``observability.audit_log`` at the folder and lets
``observability.trace_context`` find the Dagster step running now, so domain code (which
imports no Dagster) stamps its audit records and HTTP requests with the run's trace.
"""

from pathlib import Path

import dagster as dg
from pydantic import Field

from spotify_agent_assets.observability import audit_log, trace_context
from spotify_agent_assets.observability.trace_context import TraceContext
from spotify_agent_assets.observability.traces import (
    ENDPOINT_VAR,
    TRACES_ENDPOINT_VAR,
    otlp_traces_endpoint,
)


def current_step_context() -> TraceContext | None:
    """The run and step Dagster is executing in this thread, or None outside a step."""
    try:
        context = dg.OpExecutionContext.get()
    except dg.DagsterInvariantViolationError:
        return None
    return TraceContext(context.run_id, context.get_step_execution_context().step.key)


class ObservabilityResource(dg.ConfigurableResource):
    """Where the audit log and the spans go."""

    audit_dir: str | None = Field(
        default=None, description="Folder of the audit day files (None: no file)."
    )
    audit_sink: str = Field(
        default="file", description="file, stdout or both (SPOTIFY_AGENT_AUDIT_LOG)."
    )
    environment: str = Field(default="local", description="deployment.environment.name of spans.")
    otlp_traces_endpoint: str | None = Field(
        default=None, description=f"{TRACES_ENDPOINT_VAR}: the full OTLP/HTTP traces URL."
    )
    otlp_endpoint: str | None = Field(
        default=None, description=f"{ENDPOINT_VAR}: base URL, /v1/traces appended."
    )
    otlp_timeout_s: float = Field(
        default=10.0, description="Seconds one export may take, its retries included."
    )

    def audit(self) -> audit_log.AuditLog:
        if self.audit_sink not in audit_log.SINKS:
            raise dg.Failure(
                f"audit_sink={self.audit_sink!r} is not known; expected one of {audit_log.SINKS}",
                allow_retries=False,
            )
        return audit_log.AuditLog(
            directory=None
            if self.audit_sink == "stdout" or not self.audit_dir
            else Path(self.audit_dir),
            to_stdout=self.audit_sink in ("stdout", "both"),
        )

    def traces_endpoint(self) -> str | None:
        """The OTLP/HTTP traces URL, or None when traces are off."""
        values = {TRACES_ENDPOINT_VAR: self.otlp_traces_endpoint, ENDPOINT_VAR: self.otlp_endpoint}
        return otlp_traces_endpoint({k: v for k, v in values.items() if v})


def install(audit_dir: str | None, sink: str) -> None:
    """Configure this process: audit records of actions to ``audit_dir`` / stdout, and the
    Dagster step as the current trace context."""
    audit_log.configure(audit_dir, sink)
    trace_context.register_provider(current_step_context)
