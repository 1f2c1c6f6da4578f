"""What a finished Dagster run did, as plain values: its steps and their materializations.

Built from the run's event log by ``defs/observability/run_events.py``; the audit records,
the spans and the Prometheus metrics are all computed from these, so they agree with each
other and with the Dagster UI, whatever executor ran the steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SUCCESS, FAILURE, CANCELED, UNFINISHED, SKIPPED = (
    "success",
    "failure",
    "canceled",
    "unfinished",
    "skipped",
)
# Metadata entries our assets record that the metrics sum per asset.
ROW_COUNT = "dagster/row_count"
API_REQUESTS = "api_requests"
API_RETRIES = "api_retries"
API_RATE_LIMITED = "api_rate_limited"


@dataclass
class Materialization:
    """One ASSET_MATERIALIZATION event; ``metadata`` holds its numbers and short texts."""

    event_id: int
    run_id: str
    step_key: str | None
    asset_key: str
    partition: str | None
    timestamp: float
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def row_count(self) -> int | None:
        value = self.metadata.get(ROW_COUNT)
        return int(value) if isinstance(value, int | float) else None

    def number(self, name: str) -> float:
        """A numeric metadata entry, 0 when absent or not a number."""
        value = self.metadata.get(name)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


@dataclass
class StepSummary:
    """One step: first start to final end, across its retries (``attempts`` > 1)."""

    step_key: str
    start: float | None = None
    end: float | None = None
    status: str = UNFINISHED
    attempts: int = 0
    retry_times: list[float] = field(default_factory=list)
    error_class: str | None = None
    asset_keys: set[str] = field(default_factory=set)

    @property
    def duration(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return max(0.0, self.end - self.start)


@dataclass
class RunSummary:
    """A finished run: when it started and ended, its status, steps and materializations."""

    run_id: str
    job_name: str
    status: str
    start: float | None
    end: float
    end_event_id: int
    steps: dict[str, StepSummary] = field(default_factory=dict)
    materializations: list[Materialization] = field(default_factory=list)
    parent_run_id: str | None = None
    partition: str | None = None

    def step(self, step_key: str) -> StepSummary:
        return self.steps.setdefault(step_key, StepSummary(step_key))
