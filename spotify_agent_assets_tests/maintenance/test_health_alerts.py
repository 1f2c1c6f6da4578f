"""Sentry alerts of failed health checks, received by a real local HTTP server."""

from __future__ import annotations

import pytest

from spotify_agent_assets.maintenance.alerts import scrub_event, send_alerts, validate_dsn
from spotify_agent_assets.maintenance.health_results import CheckResult, Severity
from spotify_agent_assets_tests.maintenance.sentry_receiver import PUBLIC_KEY, sentry_receiver

SECRET = "sentinel-secret-9f3a"
PSEUDONYM = "ab" * 32


def _results() -> list[CheckResult]:
    return [
        CheckResult("spotify_api", False, Severity.ERROR, f"rejected secret {SECRET}"),
        CheckResult("lake_writable", True, Severity.ERROR, "wrote a probe"),
        CheckResult(
            "freshness:stream_events",
            False,
            Severity.ERROR,
            f'stale; "listener_id": "alice@example.com" pseudonym {PSEUDONYM}',
            asset="stream_events",
        ),
        CheckResult("daemon_heartbeat", False, Severity.WARN, "no daemon heartbeat"),
        CheckResult("warehouse", True, Severity.ERROR, "37/37 relations answer"),
    ]


def test_one_event_per_failed_check_and_none_for_passing_ones() -> None:
    with sentry_receiver() as receiver:
        outcome = send_alerts(receiver.dsn, _results(), secrets=[SECRET], run_id="run-1")
        events = receiver.events()
    assert outcome.enabled and len(outcome.event_ids) == 3
    by_check = {event["tags"]["health_check"]: event for event in events}
    assert sorted(by_check) == ["daemon_heartbeat", "freshness:stream_events", "spotify_api"]
    assert {event["event_id"] for event in events} == set(outcome.event_ids)
    spotify = by_check["spotify_api"]
    assert spotify["fingerprint"] == ["health_check_job", "spotify_api"]
    assert spotify["level"] == "error" and by_check["daemon_heartbeat"]["level"] == "warning"
    assert spotify["extra"]["dagster_run_id"] == "run-1"
    assert by_check["freshness:stream_events"]["tags"]["asset"] == "stream_events"
    # Authenticated with the DSN's key, in the header only.
    assert all(f"sentry_key={PUBLIC_KEY}" in header for header in receiver.auth_headers)


def test_nothing_secret_leaves() -> None:
    with sentry_receiver() as receiver:
        send_alerts(receiver.dsn, _results(), secrets=[SECRET])
        payload = receiver.raw
    assert payload  # something was sent, so the searches below mean something
    for leak in (SECRET, "alice@example.com", PSEUDONYM, PUBLIC_KEY):
        assert leak.encode() not in payload, leak
    assert b"<redacted>" in payload


def test_repeats_of_a_check_share_a_fingerprint() -> None:
    first = [CheckResult("free_disk", False, Severity.ERROR, "1.2 GiB free", observed="1.2 GiB")]
    second = [CheckResult("free_disk", False, Severity.ERROR, "0.9 GiB free", observed="0.9 GiB")]
    with sentry_receiver() as receiver:
        send_alerts(receiver.dsn, first)
        send_alerts(receiver.dsn, second)
        events = receiver.events()
    assert len(events) == 2
    assert events[0]["fingerprint"] == events[1]["fingerprint"] == ["health_check_job", "free_disk"]


def test_without_a_dsn_alerting_is_off_and_says_so() -> None:
    outcome = send_alerts(None, _results())
    assert not outcome.enabled and outcome.event_ids == ()
    assert outcome.detail == "alerting is off: SENTRY_DSN is not set"


def test_all_passing_sends_nothing() -> None:
    passing = [result for result in _results() if result.ok]
    with sentry_receiver() as receiver:
        outcome = send_alerts(receiver.dsn, passing)
        assert receiver.bodies == []
    assert outcome.enabled and outcome.detail == "no failed check, no alert"


def test_a_malformed_dsn_is_refused_without_repeating_it() -> None:
    with pytest.raises(ValueError, match="SENTRY_DSN is not a Sentry DSN") as error:
        validate_dsn("not-a-dsn-with-secret-key")
    assert "secret-key" not in str(error.value)


def test_scrubber_walks_nested_values() -> None:
    event = {"extra": {"list": [f"x {SECRET} y", {"deep": f"postgresql://u:{SECRET}2@h/db"}]}}
    scrubbed = scrub_event(event, [SECRET])
    assert SECRET not in str(scrubbed)
