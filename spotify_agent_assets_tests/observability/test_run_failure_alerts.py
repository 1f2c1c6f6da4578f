"""run_failure_alert_sensor on a really failed run (a crash of the health check op), delivered
over HTTP to local Sentry, PagerDuty and Slack receivers; and the plain module's rules."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from spotify_agent_assets.activation.alert_channels import (
    ChannelSettings,
    DeliveryPolicy,
    DeliveryResult,
)
from spotify_agent_assets.defs.activation.alert_resources import AlertChannelsResource
from spotify_agent_assets.defs.maintenance import health
from spotify_agent_assets.defs.observability.run_failure_sensor import (
    RUN_FAILURE_SENSORS,
    failed_tick_alert_sensor,
    run_failure_alert_sensor,
)
from spotify_agent_assets.defs.resources import build_resources
from spotify_agent_assets.environment import AgentSettings
from spotify_agent_assets.observability.run_failure_alerts import (
    RUN_LEVEL,
    AlertDeliveryError,
    FailedStep,
    RunFailure,
    failure_alerts,
    send_failure_alerts,
)
from spotify_agent_assets_tests.activation.alert_receivers import (
    ROUTING_KEY,
    SENTRY_KEY,
    SLACK_TOKEN,
    channel_config,
    three_receivers,
)

PLANTED = "planted-crash-secret-9e1d"
PSEUDONYM = "ab" * 32
RAW_LISTENER = "raw-listener-4411"
CRASH = f'cannot read {PLANTED}: listener_id="{RAW_LISTENER}" key {PSEUDONYM}\nmore context'
HEX64 = re.compile(rb"\b[0-9a-fA-F]{64}\b")


def _crashed_health_run(
    settings: AgentSettings, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> dg.ExecuteInProcessResult:
    def crash(*_args: Any, **_kwargs: Any) -> list:
        raise OSError(CRASH)

    # The op itself crashes before any check result exists: no per-check alert is sent.
    monkeypatch.setattr(health, "perform_health_checks", crash)
    job = dg.Definitions(
        jobs=[health.health_check_job], resources=build_resources(settings)
    ).get_job_def("health_check_job")
    result = job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    return result


def _sensor_context(
    result: dg.ExecuteInProcessResult, instance: dg.DagsterInstance, channels: dict[str, Any]
) -> dg.RunFailureSensorContext:
    (failure_event,) = [
        e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE
    ]
    return dg.build_run_status_sensor_context(
        sensor_name=run_failure_alert_sensor.name,
        dagster_event=failure_event,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={"alert_channels": AlertChannelsResource(**channels)},
    ).for_run_failure()


def test_a_crashed_health_check_alerts_every_channel_without_secrets_or_listener_ids(
    settings: AgentSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPOTIFY_CLIENT_ID", "crash-client-id")
    monkeypatch.setenv("SPOTIFY_CLIENT_SECRET", PLANTED)
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance, three_receivers() as rx:
        result = _crashed_health_run(settings, instance, monkeypatch)
        run_failure_alert_sensor(_sensor_context(result, instance, channel_config(rx)))

        (event,) = rx["sentry"].sentry_events()
        assert event["fingerprint"] == [
            "run_failure_alerts",
            "health_check_job",
            "run_health_checks",
        ]
        assert event["tags"]["dagster_run_id"] == result.run_id
        assert event["tags"]["error_class"] == "OSError"
        assert event["tags"]["job"] == "health_check_job"
        assert (
            "failed at step run_health_checks: OSError: cannot read <redacted>" in event["message"]
        )
        assert "more context" not in json.dumps(event)  # the first line only
        assert "exception" not in event and "threads" not in event  # no frames leave

        (page,) = rx["pagerduty"].json_bodies()
        assert page["routing_key"] == ROUTING_KEY  # where the protocol needs it, nowhere else
        assert page["dedup_key"] == "run_failure:health_check_job:run_health_checks"
        assert page["payload"]["class"] == "OSError"
        assert page["payload"]["custom_details"]["run_id"] == result.run_id
        (slack,) = rx["slack"].json_bodies()
        assert result.run_id in slack["text"] and "health_check_job" in slack["text"]

        for channel, receiver in rx.items():
            for request in receiver.accepted():
                body = request.body.replace(ROUTING_KEY.encode(), b"", 1)
                for needle in (PLANTED, RAW_LISTENER, SENTRY_KEY, SLACK_TOKEN):
                    assert needle.encode() not in body, f"{needle} in the {channel} payload"
                assert not HEX64.search(body), f"a pseudonym in the {channel} payload"


def test_an_undelivered_alert_fails_the_tick_naming_the_channel_not_its_secret(
    settings: AgentSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        dg.instance_for_test(temp_dir=str(tmp_path)) as instance,
        three_receivers(pagerduty=[(400, {})], slack=[(503, {})] * 5) as rx,
    ):
        result = _crashed_health_run(settings, instance, monkeypatch)
        with pytest.raises(AlertDeliveryError) as raised:
            run_failure_alert_sensor(_sensor_context(result, instance, channel_config(rx)))
    message = str(raised.value)
    assert result.run_id in message
    assert "pagerduty for step run_health_checks: failed_permanently" in message
    assert "slack for step run_health_checks: pending after 3 attempt(s) (HttpStatus503)" in message
    assert "sentry" not in message  # Sentry accepted it: the others did not stop it
    assert len(rx["sentry"].sentry_events()) == 1
    for needle in (ROUTING_KEY, SLACK_TOKEN, SENTRY_KEY, "127.0.0.1"):
        assert needle not in message


def test_without_channels_the_sensor_sends_nothing_and_says_why(
    settings: AgentSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        result = _crashed_health_run(settings, instance, monkeypatch)
        sent: list[Any] = []
        monkeypatch.setattr(
            "spotify_agent_assets.defs.observability.run_failure_sensor.send_failure_alerts",
            lambda *args, **kwargs: sent.append(args),
        )
        run_failure_alert_sensor(_sensor_context(result, instance, {}))
    assert sent == []


def test_the_sensor_ticks_as_the_daemon_runs_it_over_the_project_resources(
    settings: AgentSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the sensor's own evaluation (cursor, run matching, resources from the
    definitions): the first tick only sets the cursor, the next alerts the failed run."""
    sensor = run_failure_alert_sensor
    assert sensor in RUN_FAILURE_SENSORS
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    # No job list: a run status sensor then monitors every job of its own code location.
    assert not sensor._monitored_jobs and not sensor._monitor_all_code_locations
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance, three_receivers() as rx:
        channels = AlertChannelsResource(**channel_config(rx))
        resources = {**build_resources(settings), "alert_channels": channels}
        dg.Definitions.validate_loadable(
            dg.Definitions(jobs=[health.health_check_job], sensors=[sensor], resources=resources)
        )
        sensor_resources = {"alert_channels": channels}
        with dg.build_sensor_context(instance=instance, resources=sensor_resources) as context:
            first = sensor.evaluate_tick(context)
        assert not rx["sentry"].received
        result = _crashed_health_run(settings, instance, monkeypatch)
        with dg.build_sensor_context(
            instance=instance, cursor=first.cursor, resources=sensor_resources
        ) as context:
            second = sensor.evaluate_tick(context)
        (event,) = rx["sentry"].sentry_events()
    assert event["tags"]["dagster_run_id"] == result.run_id
    assert [r.error for r in second.dagster_run_reactions] == [None]  # delivered, no error


def test_alerts_are_one_per_failing_step_or_one_for_the_run() -> None:
    steps = (
        FailedStep("stream_events", "ValueError", f"bad file {PLANTED}"),
        FailedStep("dim_track", "Failure", "dbt failed\nstack"),
    )
    failure = RunFailure("run-1", "stream_ingestion", "Steps failed", steps, "2026-10-10")
    alerts = failure_alerts(failure, [PLANTED])
    assert [a.fingerprint for a in alerts] == [
        ["run_failure_alerts", "stream_ingestion", "stream_events"],
        ["run_failure_alerts", "stream_ingestion", "dim_track"],
    ]
    assert alerts[0].message == "bad file <redacted>"
    assert alerts[1].message == "dbt failed"
    assert alerts[0].partition == "2026-10-10"
    # A run that failed outside any step (a killed run worker) still alerts, once.
    crashed = failure_alerts(RunFailure("run-2", "backup_job", "worker died"), [])
    assert [(a.step_key, a.error_class, a.message) for a in crashed] == [
        (RUN_LEVEL, "RunFailure", "worker died")
    ]


def test_each_channel_is_tried_even_when_an_earlier_one_fails() -> None:
    settings = ChannelSettings(
        sentry_dsn="http://sentrykeyabcdef12@127.0.0.1:9/1",
        pagerduty_routing_key="routing-key-123456",
        pagerduty_events_url="http://127.0.0.1:9/v2/enqueue",
        slack_webhook_url="http://127.0.0.1:9/services/T/B/slacktoken123",
    )
    tried: list[str] = []

    def send(request: Any, _policy: DeliveryPolicy) -> DeliveryResult:
        tried.append(request.url)
        return DeliveryResult("pending", 3, "ConnectionError")

    failure = RunFailure("run-3", "backup_job", "x", (FailedStep("backup", "OSError", "disk"),))
    outcomes = send_failure_alerts(failure, settings, DeliveryPolicy(), send=send)
    assert [o.channel for o in outcomes] == ["sentry", "pagerduty", "slack"]
    assert len(tried) == 3


def test_a_webhook_path_stays_out_of_urllib3_debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    """urllib3 logs each request's path at DEBUG; a Slack webhook's path is its token."""
    import logging

    from spotify_agent_assets.activation.alert_channels import HttpRequest, deliver
    from spotify_agent_assets_tests.activation.alert_receivers import receiver

    caplog.set_level(logging.DEBUG)
    with receiver(200) as slack:
        url = f"{slack.url}/services/T0/B0/{SLACK_TOKEN}"
        result = deliver(HttpRequest(url, {}, b"{}", secret_path=True), DeliveryPolicy())
    assert result.status == "delivered"
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("urllib3")]
    assert any('"POST <redacted> HTTP/1.1" 200' in m for m in messages), messages
    assert not any(SLACK_TOKEN in m for m in messages)
    # Ours is removed afterwards, so other requests' paths are logged as before (other
    # libraries may have filters of their own there: MLflow adds one when imported).
    remaining = logging.getLogger("urllib3.connectionpool").filters
    assert not [f for f in remaining if type(f).__module__ == deliver.__module__], remaining


def test_a_failed_sensor_tick_is_alerted_by_the_tick_reporter_through_the_daemon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sensor daemon's own iteration evaluates a sensor that fails and the reporter; the
    failure reaches every channel, one issue per sensor, its secret and listener id scrubbed."""
    import logging
    import sys
    import time

    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.test_utils import InProcessTestWorkspaceLoadTarget, freeze_time
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._daemon.sensor import execute_sensor_iteration

    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(
            executable_path=sys.executable,
            module_name="spotify_agent_assets_tests.observability.run_failure_location",
            attribute="defs",
            working_directory=str(Path(__file__).parents[2]),
        ),
        location_name="tick_test_location",
    )
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance, three_receivers() as rx:
        for name, value in {
            **channel_config(rx),
            "AWS_SECRET_ACCESS_KEY": PLANTED,
        }.items():
            if isinstance(value, str):
                monkeypatch.setenv(name.upper(), value)
        # Two daemon iterations a minute apart (the daemon's order of sensors is its own, so
        # the reporter sees the first failure in the first iteration or in the second).
        with WorkspaceProcessContext(instance, InProcessTestWorkspaceLoadTarget(origin)) as ctx:
            start = time.time()
            for offset in (0, 61):
                with freeze_time(start + offset):
                    list(execute_sensor_iteration(ctx, logging.getLogger("test"), None, None))
        events = rx["sentry"].sentry_events()
        assert 1 <= len(events) <= 2
        assert all(e["fingerprint"] == events[0]["fingerprint"] for e in events)
        event = events[0]
        (page, *_) = rx["pagerduty"].json_bodies()
        (slack, *_) = rx["slack"].json_bodies()
        bodies = b"".join(r.body for receiver in rx.values() for r in receiver.accepted())
    assert event["fingerprint"] == ["tick_failure_alerts", "sensor", "broken_landing_sensor"]
    assert event["tags"]["error_class"] == "OSError"
    assert event["message"].startswith("sensor broken_landing_sensor failed: OSError: cannot list")
    assert page["dedup_key"] == "tick_failure:sensor:broken_landing_sensor"
    assert "sensor broken_landing_sensor failed" in slack["text"]
    assert PLANTED.encode() not in bodies and b"raw-listener-77" not in bodies
    # The reporter runs by default beside the run-failure sensor.
    assert failed_tick_alert_sensor in RUN_FAILURE_SENSORS
    assert failed_tick_alert_sensor.default_status == dg.DefaultSensorStatus.RUNNING
