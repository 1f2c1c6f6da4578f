"""Folding finished runs into per-asset metrics: retries, API counts, latest values."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from spotify_agent_assets.observability.metrics import RunMetricsCollector
from spotify_agent_assets.observability.run_summary import (
    Materialization,
    RunSummary,
    StepSummary,
)


def _run(run_id: str, t0: float, rows: int, attempts: int, status: str) -> RunSummary:
    step = StepSummary(
        "spotify_artists",
        start=t0,
        end=t0 + 42.0,
        status=status,
        attempts=attempts,
        asset_keys={"spotify_artists"},
    )
    run = RunSummary(run_id, "spotify_daily_sync", status, t0 - 1, t0 + 43, 1, {"s": step})
    if status == "success":
        metadata = {"dagster/row_count": rows, "api_requests": 7, "api_retries": 2}
        run.materializations.append(
            Materialization(
                1, run_id, "spotify_artists", "spotify_artists", None, t0 + 40, metadata
            )
        )
    return run


def _samples(registry: CollectorRegistry) -> dict:
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_runs_fold_into_counters_histograms_and_latest_values() -> None:
    pending = [
        [_run("r1", 1000.0, 10, 1, "success"), _run("r2", 2000.0, 0, 3, "failure")],
        [_run("r3", 3000.0, 12, 2, "success")],
    ]
    collector = RunMetricsCollector(lambda: pending.pop(0) if pending else [])
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    asset = (("asset", "spotify_artists"),)

    first = _samples(registry)
    assert first[("spotify_agent_asset_rows_total", asset)] == 10
    assert first[("spotify_agent_asset_failures_total", asset)] == 1
    assert first[("spotify_agent_asset_step_retries_total", asset)] == 2  # 3 attempts: 2 retries

    second = _samples(registry)
    assert second[("spotify_agent_asset_rows_total", asset)] == 22
    assert second[("spotify_agent_asset_last_rows", asset)] == 12
    assert second[("spotify_agent_asset_materializations_total", asset)] == 2
    assert second[("spotify_agent_asset_api_requests_total", asset)] == 14
    assert second[("spotify_agent_asset_api_retries_total", asset)] == 4
    assert second[("spotify_agent_asset_step_retries_total", asset)] == 3
    assert second[("spotify_agent_asset_step_duration_seconds_count", asset)] == 3
    assert second[("spotify_agent_asset_step_duration_seconds_sum", asset)] == 126
    bucket = (("asset", "spotify_artists"), ("le", "30.0"))
    assert second[("spotify_agent_asset_step_duration_seconds_bucket", bucket)] == 0
    bucket = (("asset", "spotify_artists"), ("le", "60.0"))
    assert second[("spotify_agent_asset_step_duration_seconds_bucket", bucket)] == 3
    assert second[("spotify_agent_asset_last_duration_seconds", asset)] == 42
    assert _samples(registry) == second  # nothing new: the same totals
