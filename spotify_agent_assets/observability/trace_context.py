"""The trace context of the Dagster step running in this process, derived from ids alone.

A run is a trace and each of its steps a span: the trace id *is* the run id (Dagster run ids
are UUIDs, 128 bits, exactly a W3C trace id) and every span id is a hash of the run id and the
step key. Because the ids are derived, not generated, the spans exported after the run from its
event log (``observability.traces``) carry the very ids that the step already put into its audit
records and its outgoing HTTP requests (``traceparent``) while it ran, in whatever process or
worker it ran, without any state passed between them.

The step running now is found through providers registered by the Dagster wiring
(``defs/observability/resources.py`` asks Dagster for the current execution context); this
module imports no Dagster. ``use_context`` sets one explicitly (tests, command-line tools).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

TRACEPARENT = "traceparent"
# W3C trace-context version 00, flags 01: sampled (every run is exported when traces are on).
_VERSION, _SAMPLED = "00", "01"


def trace_id_for_run(run_id: str) -> str:
    """The run's trace id: its UUID as 32 hex digits (a non-UUID id is hashed to 128 bits)."""
    try:
        return uuid.UUID(run_id).hex
    except ValueError:
        return hashlib.sha256(f"run-id:{run_id}".encode()).hexdigest()[:32]


def _span_id(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).hexdigest()[:16]
    # The all-zero span id is invalid in W3C trace context; 2^-64 odds, but never emit it.
    return digest if int(digest, 16) else "0000000000000001"


def run_span_id(run_id: str) -> str:
    """The span id of the run's root span (16 hex digits)."""
    return _span_id(f"run:{run_id}")


def step_span_id(run_id: str, step_key: str) -> str:
    """The span id of one step of the run, a child of the run span (16 hex digits)."""
    return _span_id(f"step:{run_id}/{step_key}")


@dataclass(frozen=True)
class TraceContext:
    """Where the current work belongs: a run, and the step within it (None: the run itself)."""

    run_id: str
    step_key: str | None = None

    @property
    def trace_id(self) -> str:
        return trace_id_for_run(self.run_id)

    @property
    def span_id(self) -> str:
        if self.step_key is None:
            return run_span_id(self.run_id)
        return step_span_id(self.run_id, self.step_key)

    @property
    def traceparent(self) -> str:
        """The W3C ``traceparent`` header value naming this span as the caller."""
        return f"{_VERSION}-{self.trace_id}-{self.span_id}-{_SAMPLED}"


Provider = Callable[[], TraceContext | None]
_explicit: ContextVar[TraceContext | None] = ContextVar("spotify_agent_trace", default=None)
_providers: list[Provider] = []


def register_provider(provider: Provider) -> None:
    """Ask ``provider`` for the current context when none is set explicitly (once per function)."""
    if provider not in _providers:
        _providers.append(provider)


@contextmanager
def use_context(context: TraceContext | None) -> Iterator[TraceContext | None]:
    """Make ``context`` the current one inside the block (this thread or task only)."""
    token = _explicit.set(context)
    try:
        yield context
    finally:
        _explicit.reset(token)


def current() -> TraceContext | None:
    """The context set with ``use_context``, else the first a provider finds, else None."""
    explicit = _explicit.get()
    if explicit is not None:
        return explicit
    for provider in _providers:
        found = provider()
        if found is not None:
            return found
    return None


def trace_headers() -> dict[str, str]:
    """``{"traceparent": ...}`` for an outgoing request made now, or ``{}`` outside any run."""
    context = current()
    return {TRACEPARENT: context.traceparent} if context is not None else {}
