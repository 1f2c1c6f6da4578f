"""Prometheus metrics per asset, folded from finished runs (``RunSummary``).

What a scrape shows (``asset`` is the asset key, ``a/b`` for a multi-part key):

- ``spotify_agent_asset_materializations_total``, ``spotify_agent_asset_rows_total`` (sum of
  ``dagster/row_count``) and ``spotify_agent_asset_last_rows`` (the latest materialization's);
- ``spotify_agent_asset_step_duration_seconds`` (a histogram over the steps that produced the
  asset, first start to final end) and ``spotify_agent_asset_last_duration_seconds``;
- ``spotify_agent_asset_failures_total`` (failed steps planned to materialize the asset);
- ``spotify_agent_asset_api_requests_total``, ``..._api_retries_total`` and
  ``..._api_rate_limited_total`` (the Spotify and social assets' request metadata) and
  ``spotify_agent_asset_step_retries_total`` (Dagster step retries);
- ``spotify_agent_runs_total{job, status}`` and ``spotify_agent_metrics_runs_read``.

The numbers are counters over every finished run the instance holds. A restarted metrics
server reads the same totals back from the instance; once ``log_and_run_rotation_job`` has
deleted old runs, a restart shows lower totals, which Prometheus' ``rate()`` takes as the
counter reset it is.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from spotify_agent_assets.observability.run_summary import (
    API_RATE_LIMITED,
    API_REQUESTS,
    API_RETRIES,
    FAILURE,
    RunSummary,
)

PREFIX = "spotify_agent"
# Step durations range from a second (a small table) to an hour (a whole-history backfill).
DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)


class AssetMetrics:
    """Per-asset totals of the runs folded in so far (thread-safe: scrapes may overlap)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.materializations: dict[str, int] = defaultdict(int)
        self.rows: dict[str, int] = defaultdict(int)
        self.last_rows: dict[str, tuple[float, int]] = {}
        self.failures: dict[str, int] = defaultdict(int)
        self.api: dict[tuple[str, str], float] = defaultdict(float)
        self.step_retries: dict[str, int] = defaultdict(int)
        # Cumulative bucket counts (then +Inf) and the sum: constant memory however many runs.
        self.duration_buckets: dict[str, list[int]] = {}
        self.duration_sum: dict[str, float] = defaultdict(float)
        self.last_duration: dict[str, tuple[float, float]] = {}
        self.runs: dict[tuple[str, str], int] = defaultdict(int)
        self.runs_read = 0

    def add(self, run: RunSummary) -> None:
        with self._lock:
            self.runs_read += 1
            self.runs[(run.job_name, run.status)] += 1
            for m in run.materializations:
                self.materializations[m.asset_key] += 1
                if m.row_count is not None:
                    self.rows[m.asset_key] += m.row_count
                    if m.timestamp >= self.last_rows.get(m.asset_key, (float("-inf"), 0))[0]:
                        self.last_rows[m.asset_key] = (m.timestamp, m.row_count)
                for name in (API_REQUESTS, API_RETRIES, API_RATE_LIMITED):
                    self.api[(m.asset_key, name)] += m.number(name)
            for step in run.steps.values():
                for asset in step.asset_keys:
                    if step.status == FAILURE:
                        self.failures[asset] += 1
                    self.step_retries[asset] += max(0, step.attempts - 1)
                    duration = step.duration
                    if duration is not None:
                        counts = self.duration_buckets.setdefault(
                            asset, [0] * (len(DURATION_BUCKETS) + 1)
                        )
                        for i, bound in enumerate((*DURATION_BUCKETS, float("inf"))):
                            counts[i] += duration <= bound
                        self.duration_sum[asset] += duration
                        if (
                            step.end is not None
                            and step.end >= self.last_duration.get(asset, (float("-inf"), 0.0))[0]
                        ):
                            self.last_duration[asset] = (step.end, duration)

    def families(self) -> list[Any]:
        """The current values as ``prometheus_client`` metric families."""
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        def counter(name: str, doc: str, values: dict[str, float]) -> Any:
            family = CounterMetricFamily(f"{PREFIX}_asset_{name}", doc, labels=["asset"])
            for asset, value in sorted(values.items()):
                family.add_metric([asset], value)
            return family

        def gauge(name: str, doc: str, values: dict[str, float]) -> Any:
            family = GaugeMetricFamily(f"{PREFIX}_asset_{name}", doc, labels=["asset"])
            for asset, value in sorted(values.items()):
                family.add_metric([asset], value)
            return family

        with self._lock:
            api = {
                name: {a: v for (a, n), v in self.api.items() if n == name}
                for name in (API_REQUESTS, API_RETRIES, API_RATE_LIMITED)
            }
            assets = set(self.materializations) | set(self.failures) | set(self.duration_buckets)
            out = [
                counter(
                    "materializations", "Materializations stored.", dict(self.materializations)
                ),
                counter("rows", "Rows written (dagster/row_count), summed.", dict(self.rows)),
                gauge(
                    "last_rows",
                    "Rows of the latest materialization.",
                    {a: rows for a, (_t, rows) in self.last_rows.items()},
                ),
                counter(
                    "failures",
                    "Failed steps that were to materialize the asset.",
                    {a: self.failures.get(a, 0) for a in assets},
                ),
                counter("api_requests", "HTTP requests to outside APIs.", api[API_REQUESTS]),
                counter("api_retries", "HTTP requests retried.", api[API_RETRIES]),
                counter("api_rate_limited", "HTTP 429 answers.", api[API_RATE_LIMITED]),
                counter("step_retries", "Dagster step retries.", dict(self.step_retries)),
                gauge(
                    "last_duration_seconds",
                    "Duration of the latest step that produced the asset.",
                    {a: d for a, (_t, d) in self.last_duration.items()},
                ),
            ]
            histogram = HistogramMetricFamily(
                f"{PREFIX}_asset_step_duration_seconds",
                "Duration of the steps that produced the asset (first start to final end).",
                labels=["asset"],
            )
            for asset, counts in sorted(self.duration_buckets.items()):
                bounds = [str(bound) for bound in DURATION_BUCKETS] + ["+Inf"]
                histogram.add_metric(
                    [asset], list(zip(bounds, counts, strict=True)), self.duration_sum[asset]
                )
            out.append(histogram)
            runs = CounterMetricFamily(
                f"{PREFIX}_runs", "Finished runs by job and status.", labels=["job", "status"]
            )
            for (job, status), n in sorted(self.runs.items()):
                runs.add_metric([job, status], n)
            out.append(runs)
            read = GaugeMetricFamily(
                f"{PREFIX}_metrics_runs_read", "Finished runs folded into these metrics."
            )
            read.add_metric([], self.runs_read)
            out.append(read)
        return out


class RunMetricsCollector:
    """A ``prometheus_client`` collector: on each scrape, folds in the runs finished since the
    last one (``fetch_new`` returns them) and reports the totals."""

    def __init__(self, fetch_new: Callable[[], Iterable[RunSummary]]) -> None:
        self._fetch_new = fetch_new
        self._fetch_lock = threading.Lock()
        self.metrics = AssetMetrics()

    def collect(self) -> Iterator[Any]:
        with self._fetch_lock:  # two scrapes at once must not fold the same run twice
            for run in self._fetch_new():
                self.metrics.add(run)
        yield from self.metrics.families()

    def describe(self) -> list[Any]:
        # Registering must not scrape the instance; the families are known only at collect.
        return []
