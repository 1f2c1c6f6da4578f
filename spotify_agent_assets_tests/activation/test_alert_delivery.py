"""artist_alerts and alert_deliveries through Dagster, on the sample world's inputs, delivered
over real HTTP to local Sentry, PagerDuty and Slack receivers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from spotify_agent_assets.defs.activation.alert_resources import AlertChannelsResource
from spotify_agent_assets.defs.activation.alerts import (
    NOTHING_UNDELIVERED,
    alert_deliveries,
    alert_delivery_sensor,
    artist_alerts,
)
from spotify_agent_assets.defs.lake.io_manager import LakeIOManager
from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.activation.alert_inputs import (
    SPIKE_DAY,
    planted,
    spike_artist,
    write_inputs,
)
from spotify_agent_assets_tests.activation.alert_receivers import (
    ROUTING_KEY,
    SENTRY_KEY,
    SLACK_TOKEN,
    Receiver,
    channel_config,
    dead_url,
    three_receivers,
)

PSEUDONYM = re.compile(rb"\b[0-9a-fA-F]{64}\b")


def _lake(tmp_path: Path) -> LakeResource:
    return LakeResource(lake_root=str(tmp_path / "lake"), warehouse_path=str(tmp_path / "w.duckdb"))


def _run(tmp_path: Path, channels: dict[str, Any]) -> dg.ExecuteInProcessResult:
    lake = _lake(tmp_path)
    return dg.materialize(
        [artist_alerts, alert_deliveries],
        resources={
            "lake": lake,
            "io_manager": LakeIOManager(storage=lake),
            "alert_channels": AlertChannelsResource(**channels),
        },
    )


def _table(tmp_path: Path, asset: str) -> list[dict[str, Any]]:
    return _lake(tmp_path).read_table("activation", asset).to_pylist()


def _expected_ids(world: SampleWorld) -> set[str]:
    """The alerts of the shipped rules: the planted breakout and follower drop."""
    events = planted(world)
    breakout, follower_drop = events["breakout"], events["follower_drop"]
    return {
        f"breakout:{breakout[0]}:{breakout[1]}",
        f"follower_drop:{follower_drop[0]}:{follower_drop[1]}",
    }


def _spike_alert_id(world: SampleWorld) -> str:
    return f"streaming_anomaly:{spike_artist(world)}:{SPIKE_DAY}"


def _rules_with(tmp_path: Path, **streaming_anomaly: Any) -> Path:
    """The shipped rules file with these streaming_anomaly fields changed, written to tmp_path."""
    import yaml

    rules = yaml.safe_load(Path("config/alerts.yaml").read_text())
    rules["streaming_anomaly"].update(streaming_anomaly)
    path = tmp_path / "alerts.yaml"
    path.write_text(yaml.safe_dump(rules))
    return path


def _check_passed(result: dg.ExecuteInProcessResult) -> bool:
    (evaluation,) = [
        e for e in result.get_asset_check_evaluations() if e.check_name == NOTHING_UNDELIVERED
    ]
    return evaluation.passed


def test_each_planted_event_is_alerted_once_per_channel_and_never_again(
    tmp_path: Path, world: SampleWorld
) -> None:
    write_inputs(tmp_path / "lake", world)
    with three_receivers() as receivers:
        first = _run(tmp_path, channel_config(receivers))
        assert first.success and _check_passed(first)
        alerts = _table(tmp_path, "artist_alerts")
        # The breakout (its popularity jumps and level shift folded in) and the follower drop;
        # no other artist, not the taken-down track, and not the planted streaming spike, which
        # the incidents hold but the shipped rules do not alert on (spike is opt-in).
        assert {a["alert_id"] for a in alerts} == _expected_ids(world)
        incidents = _lake(tmp_path).read_table("analytics", "streaming_anomalies").to_pylist()
        assert {
            (i["level"], i["entity_id"], i["date"], i["kind"], i["direction"]) for i in incidents
        } >= {("artist", spike_artist(world), SPIKE_DAY, "spike", "up")}
        for channel, rx in receivers.items():
            assert len(rx.accepted()) == 2, channel
        dedup = sorted(body["dedup_key"] for body in receivers["pagerduty"].json_bodies())
        assert dedup == sorted(_expected_ids(world))
        fingerprints = sorted(e["fingerprint"][1] for e in receivers["sentry"].sentry_events())
        assert fingerprints == dedup
        deliveries = _table(tmp_path, "alert_deliveries")
        assert {(d["status"], d["attempts"]) for d in deliveries} == {("delivered", 1)}

        before = {rx_name: len(rx.received) for rx_name, rx in receivers.items()}
        second = _run(tmp_path, channel_config(receivers))
        assert second.success
        assert {n: len(rx.received) for n, rx in receivers.items()} == before
        assert _table(tmp_path, "artist_alerts") == alerts
        assert _table(tmp_path, "alert_deliveries") == deliveries
        _assert_clean_payloads(receivers)


def _assert_clean_payloads(receivers: dict[str, Receiver]) -> None:
    """No secret and nothing like a listener id in any body; PagerDuty's routing key only in
    the field its protocol requires."""
    bodies = []
    for name, rx in receivers.items():
        for request in rx.received:
            body = request.body
            if name == "pagerduty":
                doc = json.loads(body)
                assert doc.pop("routing_key") == ROUTING_KEY
                body = json.dumps(doc).encode()
            bodies.append(body)
    assert bodies
    for body in bodies:
        for secret in (SENTRY_KEY, ROUTING_KEY, SLACK_TOKEN, "/services/"):
            assert secret.encode() not in body
        assert not PSEUDONYM.search(body)
        assert b"listener" not in body.lower()


def test_a_receiver_failing_twice_gets_the_alert_once(tmp_path: Path, world: SampleWorld) -> None:
    write_inputs(tmp_path / "lake", world)
    failures = {
        "pagerduty": [(503, {}), (500, {})],
        "slack": [(429, {"Retry-After": "0"}), (502, {})],
    }
    with three_receivers(**failures) as receivers:
        assert _run(tmp_path, channel_config(receivers)).success
        for channel in ("pagerduty", "slack"):
            rx = receivers[channel]
            assert len(rx.received) == 4  # 2 refused, then 2 accepted
            bodies = [r.body for r in rx.accepted()]
            assert len(bodies) == len(set(bodies)) == 2
        rows = {(d["alert_id"], d["channel"]): d for d in _table(tmp_path, "alert_deliveries")}
        assert {d["status"] for d in rows.values()} == {"delivered"}
        first = min(_expected_ids(world))
        assert rows[(first, "pagerduty")]["attempts"] == 3
        assert rows[(first, "slack")]["last_error_class"] is None


def test_a_receiver_down_the_whole_run_gets_the_alert_on_the_next_run(
    tmp_path: Path, world: SampleWorld
) -> None:
    write_inputs(tmp_path / "lake", world)
    with three_receivers() as receivers:
        down = channel_config(receivers, slack_url=dead_url())
        result = _run(tmp_path, down)
        assert result.success and not _check_passed(result)
        slack_rows = [d for d in _table(tmp_path, "alert_deliveries") if d["channel"] == "slack"]
        assert {(d["status"], d["attempts"], d["last_error_class"]) for d in slack_rows} == {
            ("pending", 3, "ConnectionError")
        }
        assert len(receivers["pagerduty"].accepted()) == 2

        lake = _lake(tmp_path)
        with dg.build_sensor_context(
            resources={"lake": lake, "alert_channels": AlertChannelsResource(**down)}
        ) as context:
            request = alert_delivery_sensor(context)
        assert isinstance(request, dg.RunRequest)

        again = _run(tmp_path, channel_config(receivers))
        assert again.success and _check_passed(again)
        assert len(receivers["slack"].accepted()) == 2
        assert len(receivers["pagerduty"].received) == 2  # nothing sent twice
        statuses = {d["status"] for d in _table(tmp_path, "alert_deliveries")}
        assert statuses == {"delivered"}
        _run(tmp_path, channel_config(receivers))
        assert len(receivers["slack"].received) == 2
        with dg.build_sensor_context(
            resources={"lake": lake, "alert_channels": AlertChannelsResource(**down)}
        ) as context:
            assert isinstance(alert_delivery_sensor(context), dg.SkipReason)


def test_without_channels_alerts_are_stored_and_marked_channel_off(
    tmp_path: Path, world: SampleWorld
) -> None:
    write_inputs(tmp_path / "lake", world)
    result = _run(tmp_path, {})
    assert result.success
    (materialization,) = [
        m
        for m in result.get_asset_materialization_events()
        if m.asset_key == dg.AssetKey("alert_deliveries")
    ]
    channels = materialization.materialization.metadata["channels"].value
    assert channels == {
        "sentry": "off: SENTRY_DSN is not set",
        "pagerduty": "off: PAGERDUTY_ROUTING_KEY is not set",
        "slack": "off: SLACK_WEBHOOK_URL is not set",
    }
    deliveries = _table(tmp_path, "alert_deliveries")
    assert len(deliveries) == 6 and {d["status"] for d in deliveries} == {"channel_off"}


def test_spike_alerts_are_raised_when_the_rules_opt_in(tmp_path: Path, world: SampleWorld) -> None:
    """With spike among streaming_anomaly.kinds the planted streaming spike is alerted too."""
    rules = _rules_with(tmp_path, kinds=["spike", "drop", "level_shift"])
    write_inputs(tmp_path / "lake", world)
    assert _run(tmp_path, {"rules_path": str(rules)}).success
    alerts = {a["alert_id"]: a for a in _table(tmp_path, "artist_alerts")}
    assert set(alerts) == {*_expected_ids(world), _spike_alert_id(world)}
    spike = alerts[_spike_alert_id(world)]
    assert (spike["rule"], spike["artist_id"]) == ("streaming_anomaly", spike_artist(world))


@pytest.mark.parametrize(
    ("yaml_text", "field"),
    [
        (
            "follower_drop: {min_drop_pct: five, min_followers_lost: 100}",
            "follower_drop.min_drop_pct",
        ),
        (
            "streaming_anomaly: {levels: [planet], kinds: [spike], max_q_value: 0.01}",
            "streaming_anomaly.levels",
        ),
    ],
)
def test_bad_rules_fail_the_run_naming_the_field(
    tmp_path: Path, world: SampleWorld, yaml_text: str, field: str
) -> None:
    import yaml

    good = yaml.safe_load(Path("config/alerts.yaml").read_text())
    good.update(yaml.safe_load(yaml_text))
    rules = tmp_path / "alerts.yaml"
    rules.write_text(yaml.safe_dump(good))
    write_inputs(tmp_path / "lake", world)
    lake = _lake(tmp_path)
    with pytest.raises(dg.Failure, match=re.escape(field)):
        dg.materialize(
            [artist_alerts],
            resources={
                "lake": lake,
                "io_manager": LakeIOManager(storage=lake),
                "alert_channels": AlertChannelsResource(rules_path=str(rules)),
            },
        )


def test_every_channel_scrubs_secrets_and_listener_data_from_what_it_sends() -> None:
    """An alert whose text carries a secret, a pseudonym and a listener field (as a bad input
    might) leaves without them on every channel."""
    from spotify_agent_assets.activation.alert_channels import ChannelSettings, build_request

    settings = ChannelSettings(
        sentry_dsn=f"http://{SENTRY_KEY}@127.0.0.1:9/42",
        pagerduty_routing_key=ROUTING_KEY,
        pagerduty_events_url="http://127.0.0.1:9/v2/enqueue",
        slack_webhook_url=f"http://127.0.0.1:9/services/T0/B0/{SLACK_TOKEN}",
    )
    pseudonym = "ab" * 32
    alert = {
        "alert_id": "follower_drop:a1:2026-10-25",
        "rule": "follower_drop",
        "severity": "error",
        "artist_id": "a1",
        "artist_name": "A",
        "cause_day": "2026-10-25",
        "summary": f'lost {SLACK_TOKEN} {pseudonym} "listener_id": "alice@example.com"',
        "metric": "followers",
        "value": 1.0,
        "baseline": 2.0,
        "threshold": 5.0,
        "signals": ["follower_drop@2026-10-25"],
    }
    for channel in ("sentry", "pagerduty", "slack"):
        request = build_request(channel, alert, settings)
        body = request.body
        if channel == "pagerduty":
            doc = json.loads(body)
            assert doc.pop("routing_key") == ROUTING_KEY and doc["dedup_key"] == alert["alert_id"]
            body = json.dumps(doc).encode()
        for leaked in (SENTRY_KEY, ROUTING_KEY, SLACK_TOKEN, pseudonym, "alice@example.com"):
            assert leaked.encode() not in body, (channel, leaked)
        if channel == "sentry":
            assert request.url == "http://127.0.0.1:9/api/42/envelope/"
            assert f"sentry_key={SENTRY_KEY}" in request.headers["X-Sentry-Auth"]


def test_a_run_killed_mid_way_has_stored_what_it_sent() -> None:
    """Each delivery is stored as it succeeds: the next run sends only what was left."""
    import datetime as dt

    from spotify_agent_assets.activation.alert_channels import (
        ChannelSettings,
        DeliveryPolicy,
        DeliveryResult,
    )
    from spotify_agent_assets.activation.alert_outbox import queue_alerts, send_pending

    settings = ChannelSettings(slack_webhook_url="http://127.0.0.1:9/services/T0/B0/tokentoken")
    alerts = [
        {
            "alert_id": f"follower_drop:a{i}:2026-10-25",
            "rule": "follower_drop",
            "severity": "error",
            "artist_id": f"a{i}",
            "artist_name": f"A{i}",
            "cause_day": "2026-10-25",
            "summary": "lost followers",
            "metric": "followers",
            "value": 1.0,
            "baseline": 2.0,
            "threshold": 5.0,
            "signals": [],
        }
        for i in range(3)
    ]
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    rows = queue_alerts(alerts, [], settings.enabled(), now)
    sent: list[bytes] = []
    stored: list[list[dict[str, Any]]] = []

    def dies_on_the_second(request: Any, _policy: DeliveryPolicy) -> DeliveryResult:
        if len(sent) == 1:
            raise KeyboardInterrupt  # the run is killed
        sent.append(request.body)
        return DeliveryResult("delivered", 1, None)

    with pytest.raises(KeyboardInterrupt):
        send_pending(
            rows,
            alerts,
            settings,
            DeliveryPolicy(),
            send=dies_on_the_second,
            checkpoint=lambda current: stored.append([dict(r) for r in current]),
        )
    assert len(sent) == 1 and len(stored) == 1

    def delivers(request: Any, _policy: DeliveryPolicy) -> DeliveryResult:
        sent.append(request.body)
        return DeliveryResult("delivered", 1, None)

    final, done = send_pending(stored[-1], alerts, settings, DeliveryPolicy(), send=delivers)
    assert done["sent"] == 2 and len(sent) == len(set(sent)) == 3
    assert {r["status"] for r in final if r["channel"] == "slack"} == {"delivered"}


def test_a_malformed_channel_setting_fails_naming_the_variable(
    tmp_path: Path, world: SampleWorld
) -> None:
    write_inputs(tmp_path / "lake", world)
    with pytest.raises(dg.Failure, match="SLACK_WEBHOOK_URL is not an http"):
        _run(tmp_path, {"slack_webhook_url": "hooks.example/services/x"})
    with pytest.raises(dg.Failure, match="SENTRY_DSN is not a Sentry DSN"):
        _run(tmp_path, {"sentry_dsn": "not-a-dsn"})


def test_retry_after_is_respected_and_refusals_are_final() -> None:
    from spotify_agent_assets.activation.alert_channels import DeliveryPolicy, HttpRequest, deliver
    from spotify_agent_assets_tests.activation.alert_receivers import receiver

    policy = DeliveryPolicy(max_attempts=3, base_delay_s=0.5, max_retry_after_s=60)
    sleeps: list[float] = []
    plan = [(429, {"Retry-After": "2"}), (503, {})]
    with receiver(202, plan) as rx:
        request = HttpRequest(f"{rx.url}/v2/enqueue", {}, b"{}")
        result = deliver(request, policy, sleep=sleeps.append)
        assert (result.status, result.attempts) == ("delivered", 3)
        assert sleeps[0] == 2.0 and 0.375 <= sleeps[1] <= 0.625
    with receiver(202, [(429, {"Retry-After": "120"})]) as rx:
        result = deliver(HttpRequest(rx.url, {}, b"{}"), policy, sleep=sleeps.append)
        # Longer than this run waits: left pending for the next run, not slept through.
        assert (result.status, result.attempts, result.error_class) == (
            "pending",
            1,
            "HttpStatus429",
        )
    with receiver(202, [(400, {})]) as rx:
        result = deliver(HttpRequest(rx.url, {}, b"{}"), policy, sleep=sleeps.append)
        assert (result.status, len(rx.received)) == ("failed_permanently", 1)
