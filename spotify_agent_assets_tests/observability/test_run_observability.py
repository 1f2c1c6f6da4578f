"""Audit log, spans and metrics of real runs, read from real local receivers.

One module-scoped scene: on a persistent Dagster instance, ``artist_alerts`` and
``alert_deliveries`` run over the alert inputs and deliver to a local Slack-compatible
receiver (an action, made over HTTP inside a step), then ``artist_alerts`` fails once on a
missing rules file. The export sensor then writes the audit records and sends the spans to a
local OTLP/HTTP receiver; the metrics server is scraped over HTTP.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from spotify_agent_assets.defs.activation.alert_resources import AlertChannelsResource
from spotify_agent_assets.defs.activation.alerts import alert_deliveries, artist_alerts
from spotify_agent_assets.defs.lake.io_manager import LakeIOManager
from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.defs.observability.export_sensor import observability_export_sensor
from spotify_agent_assets.defs.observability.resources import ObservabilityResource, install
from spotify_agent_assets.observability import audit_log
from spotify_agent_assets.observability.audit_log import read_records
from spotify_agent_assets.observability.metrics_server import serving
from spotify_agent_assets.observability.trace_context import (
    run_span_id,
    step_span_id,
    trace_id_for_run,
)
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.activation.alert_inputs import write_inputs
from spotify_agent_assets_tests.activation.alert_receivers import Receiver, dead_url, receiver
from spotify_agent_assets_tests.observability.otlp_receiver import OtlpReceiver, otlp_receiver

SLACK_PATH = "/services/T0/B0/observabilitytoken"
STEPS = {"artist_alerts", "alert_deliveries"}


@dataclass
class Scene:
    root: Path
    home: Path
    instance: dg.DagsterInstance
    audit_dir: Path
    good: dg.ExecuteInProcessResult
    failed: dg.ExecuteInProcessResult
    slack: Receiver
    otlp: OtlpReceiver

    def observability(self, **overrides: Any) -> ObservabilityResource:
        fields = {
            "audit_dir": str(self.audit_dir),
            "environment": "test",
            "otlp_traces_endpoint": self.otlp.traces_url,
            **overrides,
        }
        return ObservabilityResource(**fields)

    def tick(self, cursor: str | None, **overrides: Any) -> tuple[str | None, str]:
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=cursor,
            resources={"observability": self.observability(**overrides)},
        )
        skip = observability_export_sensor(context)
        return context.cursor, skip.skip_message


def _run(root: Path, instance: dg.DagsterInstance, **channels: Any) -> dg.ExecuteInProcessResult:
    lake = LakeResource(lake_root=str(root / "lake"), warehouse_path=str(root / "w.duckdb"))
    return dg.materialize(
        [artist_alerts, alert_deliveries],
        resources={
            "lake": lake,
            "io_manager": LakeIOManager(storage=lake),
            "alert_channels": AlertChannelsResource(base_delay_s=0.0, **channels),
        },
        instance=instance,
        raise_on_error=False,
    )


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    root = tmp_path_factory.mktemp("observability")
    home = root / "dagster_home"
    home.mkdir()
    audit_dir = root / "logs"
    write_inputs(root / "lake", SampleWorld(seed=7))
    previous = audit_log.configured()
    install(str(audit_dir), "file")  # what build_resources does in the code location
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        with receiver(200) as slack, otlp_receiver() as otlp:
            good = _run(root, instance, slack_webhook_url=f"{slack.url}{SLACK_PATH}")
            failed = _run(root, instance, rules_path=str(root / "no_such_rules.yaml"))
            yield Scene(root, home, instance, audit_dir, good, failed, slack, otlp)
    finally:
        audit_log._configured = previous
        instance.dispose()


def test_the_runs_did_what_the_scene_says(scene: Scene) -> None:
    assert scene.good.success
    assert not scene.failed.success
    assert len(scene.slack.accepted()) == 2  # the two alerts of the sample world


def test_requests_made_inside_a_step_carry_the_run_as_trace(scene: Scene) -> None:
    run_id = scene.good.run_id
    expected = f"00-{trace_id_for_run(run_id)}-{step_span_id(run_id, 'alert_deliveries')}-01"
    assert trace_id_for_run(run_id) == run_id.replace("-", "")
    headers = [{k.lower(): v for k, v in r.headers.items()} for r in scene.slack.received]
    assert [h.get("traceparent") for h in headers] == [expected] * 2


def test_spans_audit_and_cursor_from_the_export_sensor(scene: Scene, tmp_path: Path) -> None:
    audit_dir = tmp_path / "logs"
    before = len(scene.otlp.spans)
    cursor, message = scene.tick(None, audit_dir=str(audit_dir))
    assert "2 finished run(s)" in message, message
    sent = scene.otlp.spans[before:]

    # Spans: one trace per run (trace id = run id), a root span and one child per step.
    for result in (scene.good, scene.failed):
        run_id = result.run_id
        spans = [s for s in sent if s.trace_id == run_id.replace("-", "")]
        (root,) = [s for s in spans if not s.parent_span_id]
        assert root.span_id == run_span_id(run_id)
        assert root.attributes["dagster.run_id"] == run_id
        assert root.resource["service.name"] == "spotify_agent_assets"
        steps = {s.attributes["dagster.step_key"]: s for s in spans if s.parent_span_id}
        assert all(s.parent_span_id == root.span_id for s in steps.values())
        for key, span in steps.items():
            assert span.span_id == step_span_id(run_id, key)
            assert root.start_ns <= span.start_ns <= span.end_ns <= root.end_ns
        if result is scene.good:
            assert set(steps) == STEPS
            assert {s.status_code for s in spans} == {1}  # STATUS_CODE_OK
        else:
            # artist_alerts failed; alert_deliveries never started, so it has no span.
            assert set(steps) == {"artist_alerts"}
            assert steps["artist_alerts"].status_code == 2  # STATUS_CODE_ERROR
            assert steps["artist_alerts"].attributes["exception.type"] == "Failure"
            assert steps["artist_alerts"].attributes["dagster.asset_keys"] == ["artist_alerts"]

    # Audit: a record per materialization (from the event log) and per delivery (by the code
    # that delivered), each in its run's trace.
    records = read_records(scene.audit_dir) + read_records(audit_dir)
    run_id = scene.good.run_id
    materialized = [r for r in records if r["event_type"] == "ASSET_MATERIALIZATION"]
    assert {r["asset_key"] for r in materialized} == STEPS
    stored = {
        e.asset_key.to_user_string(): e for e in scene.good.get_asset_materialization_events()
    }
    for record in materialized:
        event = stored[record["asset_key"]]
        assert record["run_id"] == run_id and record["step_key"] == record["asset_key"]
        assert record["trace_id"] == trace_id_for_run(run_id)
        assert record["span_id"] == step_span_id(run_id, record["step_key"])
        assert record["row_count"] == event.materialization.metadata["dagster/row_count"].value
        assert record["what"].startswith(f"materialized {record['asset_key']}")
        assert isinstance(record["event_id"], int)
    actions = [r for r in records if r["event_type"] == "ACTION"]
    assert len(actions) == 2
    for action in actions:
        assert action["action"] == "alert_delivery"
        assert (
            action["details"]["channel"] == "slack" and action["details"]["status"] == "delivered"
        )
        assert action["run_id"] == run_id and action["step_key"] == "alert_deliveries"
        assert action["span_id"] == step_span_id(run_id, "alert_deliveries")
    files = [*scene.audit_dir.glob("audit-*.jsonl"), *audit_dir.glob("audit-*.jsonl")]
    text = "".join(p.read_text() for p in files)
    assert "observabilitytoken" not in text and "/services/" not in text

    # Nothing twice: the next tick finds no new run, writes and sends nothing.
    spans_before, lines_before = len(scene.otlp.spans), len(read_records(audit_dir))
    again, message = scene.tick(cursor, audit_dir=str(audit_dir))
    assert again == cursor and "0 finished run(s)" in message
    assert len(scene.otlp.spans) == spans_before
    assert len(read_records(audit_dir)) == lines_before


def test_a_receiver_down_delays_the_spans_not_the_audit_log(scene: Scene, tmp_path: Path) -> None:
    audit_dir = tmp_path / "logs"
    down = {"otlp_traces_endpoint": f"{dead_url()}/v1/traces", "otlp_timeout_s": 1.0}
    cursor, message = scene.tick(None, audit_dir=str(audit_dir), **down)
    assert "did not accept" in message and "127.0.0.1" not in message
    assert len(read_records(audit_dir)) == 2  # the good run's two materializations: on time
    spans_before = len(scene.otlp.spans)
    cursor, message = scene.tick(cursor, audit_dir=str(audit_dir))  # the receiver is back
    assert "0 finished run(s)" in message
    assert len(read_records(audit_dir)) == 2
    sent = scene.otlp.spans[spans_before:]
    assert {s.trace_id for s in sent} == {
        scene.good.run_id.replace("-", ""),
        scene.failed.run_id.replace("-", ""),
    }


def _scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _assert_metrics(samples: dict, scene: Scene) -> None:
    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    rows = {
        e.asset_key.to_user_string(): e.materialization.metadata["dagster/row_count"].value
        for e in scene.good.get_asset_materialization_events()
    }
    for asset, count in rows.items():
        assert value("spotify_agent_asset_rows_total", asset=asset) == count
        assert value("spotify_agent_asset_last_rows", asset=asset) == count
        assert value("spotify_agent_asset_materializations_total", asset=asset) == 1
    assert value("spotify_agent_asset_failures_total", asset="artist_alerts") == 1
    assert value("spotify_agent_asset_failures_total", asset="alert_deliveries") == 0
    # Both artist_alerts steps ran (one succeeded, one failed); alert_deliveries once.
    assert value("spotify_agent_asset_step_duration_seconds_count", asset="artist_alerts") == 2
    assert value("spotify_agent_asset_step_duration_seconds_count", asset="alert_deliveries") == 1
    assert value("spotify_agent_asset_step_duration_seconds_sum", asset="artist_alerts") > 0
    assert value("spotify_agent_runs_total", job="__ephemeral_asset_job__", status="failure") == 1
    assert value("spotify_agent_runs_total", job="__ephemeral_asset_job__", status="success") == 1


def test_metrics_server_exposes_rows_durations_and_failures(scene: Scene) -> None:
    with serving(scene.instance) as server:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        first = _scrape(url)
        _assert_metrics(first, scene)
        assert _scrape(url) == first  # a second scrape counts no run twice


@pytest.mark.slow
def test_metrics_server_command_reads_the_instance_from_dagster_home(scene: Scene) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "DAGSTER_HOME": str(scene.home)}
    command = [sys.executable, "-m", "spotify_agent_assets.observability.metrics_server"]
    server = subprocess.Popen(
        [*command, "--port", str(port)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                samples = _scrape(f"http://127.0.0.1:{port}/metrics")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        _assert_metrics(samples, scene)
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_runs_are_read_once_in_order_whatever_the_page_size(scene: Scene) -> None:
    from spotify_agent_assets.defs.observability.run_events import finished_runs_after

    seen, cursor = [], 0
    for _ in range(5):
        runs, cursor = finished_runs_after(scene.instance, cursor, limit=1)
        seen += [run.run_id for run in runs]
    assert seen == [scene.good.run_id, scene.failed.run_id]
    (good,) = finished_runs_after(scene.instance, 0, limit=1)[0]
    assert good.status == "success" and good.start is not None and good.end >= good.start
    assert {key: step.status for key, step in good.steps.items()} == {
        "artist_alerts": "success",
        "alert_deliveries": "success",
    }
