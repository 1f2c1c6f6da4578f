"""Alerts for failed runs: one Sentry event per failing step, PagerDuty and Slack beside it.

A failed run becomes one alert per step that failed (or one for the run when no step did: a
run worker killed, a run that could not start), fingerprinted by job and step so the same step
failing every night groups into one Sentry issue and one open PagerDuty incident (the dedup
key), whatever its run id or message. The message is the error's first line, scrubbed by the
project's one scrubber (``maintenance.alerts.scrub_event``) of every secret the process knows,
listener fields and pseudonyms; no stack trace leaves (its frames quote code and values).

Each request goes through the artist alerts' sender (``activation.alert_channels.deliver``:
bounded retries, Retry-After honoured) and :func:`raise_if_undelivered` turns any delivery not
accepted into an error naming the run, channel and error class, so a lost alert is a failed
sensor tick the operator sees, never a silent drop.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from spotify_agent_assets.activation.alert_channels import (
    ChannelSettings,
    DeliveryPolicy,
    DeliveryResult,
    HttpRequest,
    deliver,
    sentry_event_request,
)
from spotify_agent_assets.maintenance.alerts import scrub_event
from spotify_agent_assets.maintenance.health_results import redact

LOGGER_NAME = "run_failure_alerts"
TICK_LOGGER_NAME = "tick_failure_alerts"
SOURCE = "spotify_agent_assets.run_failure_alerts"
MAX_MESSAGE_CHARS = 500
RUN_LEVEL = "(run)"
"""The step name of an alert for a run that failed outside any step."""


class AlertDeliveryError(RuntimeError):
    """A failure alert that no configured channel accepted in this try."""


@dataclass(frozen=True)
class FailedStep:
    """A step that failed: its key, the class of the error that made it fail (the user's
    error, not Dagster's wrapper) and that error's message."""

    step_key: str
    error_class: str
    message: str


@dataclass(frozen=True)
class RunFailure:
    """What a run failure sensor knows about the failed run; or, with ``kind`` ``sensor`` or
    ``schedule``, a failed tick of that instigator (``job_name`` its name, ``run_id`` the
    tick's id)."""

    run_id: str
    job_name: str
    message: str
    steps: tuple[FailedStep, ...] = ()
    partition: str | None = None
    kind: str = "run"


@dataclass(frozen=True)
class FailureAlert:
    """One alert: a failing step of a run (or the run itself), scrubbed and ready to send."""

    run_id: str
    job_name: str
    step_key: str
    error_class: str
    message: str
    partition: str | None
    kind: str = "run"

    @property
    def fingerprint(self) -> list[str]:
        if self.kind != "run":  # one issue per sensor or schedule, whatever its tick
            return [TICK_LOGGER_NAME, self.kind, self.job_name]
        return [LOGGER_NAME, self.job_name, self.step_key]

    @property
    def dedup_key(self) -> str:
        if self.kind != "run":
            return f"tick_failure:{self.kind}:{self.job_name}"
        return f"run_failure:{self.job_name}:{self.step_key}"

    @property
    def summary(self) -> str:
        if self.kind != "run":
            return f"{self.kind} {self.job_name} failed: {self.error_class}: {self.message}"
        where = "" if self.step_key == RUN_LEVEL else f" at step {self.step_key}"
        return f"run of {self.job_name} failed{where}: {self.error_class}: {self.message}"


@dataclass(frozen=True)
class ChannelOutcome:
    channel: str
    step_key: str
    result: DeliveryResult


def first_line(text: str) -> str:
    """The first non-empty line of ``text`` (errors append pages of context after it)."""
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    return lines[0] if lines else "no message"


def failure_alerts(failure: RunFailure, secrets: Sequence[str]) -> list[FailureAlert]:
    """One alert per failing step, or one for the run; every text scrubbed of ``secrets``,
    listener fields and pseudonyms (the same scrubber Sentry's ``before_send`` uses)."""

    def clean(text: str) -> str:
        return scrub_event({"text": redact(first_line(text), secrets)}, secrets)["text"][
            :MAX_MESSAGE_CHARS
        ]

    steps = failure.steps or (FailedStep(RUN_LEVEL, "RunFailure", failure.message),)
    return [
        FailureAlert(
            run_id=failure.run_id,
            job_name=failure.job_name,
            step_key=step.step_key,
            error_class=step.error_class,
            message=clean(step.message),
            partition=failure.partition,
            kind=failure.kind,
        )
        for step in steps
    ]


def sentry_event(alert: FailureAlert) -> dict[str, object]:
    """The Sentry event of ``alert``: fingerprinted by job and step, tagged with the run id
    and error class, no stack trace."""
    if alert.kind == "run":
        tags = {"job": alert.job_name, "step": alert.step_key, "dagster_run_id": alert.run_id}
    else:
        tags = {alert.kind: alert.job_name, "dagster_tick_id": alert.run_id}
    tags["error_class"] = alert.error_class
    if alert.partition:
        tags["partition"] = alert.partition
    return {
        "message": alert.summary,
        "level": "error",
        "logger": alert.fingerprint[0],
        "fingerprint": alert.fingerprint,
        "tags": tags,
        "extra": {"error_message": alert.message},
    }


def failure_requests(
    failure: RunFailure, settings: ChannelSettings, secrets: Sequence[str] = ()
) -> list[tuple[str, str, HttpRequest]]:
    """``(channel, step_key, request)`` for every alert of ``failure`` and every configured
    channel; the channel settings' own secrets are scrubbed too."""
    secrets = [*settings.secrets(), *secrets]
    enabled = settings.enabled()
    requests: list[tuple[str, str, HttpRequest]] = []
    for alert in failure_alerts(failure, secrets):
        if enabled["sentry"]:
            request = sentry_event_request(sentry_event(alert), settings, secrets=secrets)
            requests.append(("sentry", alert.step_key, request))
        if enabled["pagerduty"]:
            body = {
                "routing_key": settings.pagerduty_routing_key,
                "event_action": "trigger",
                "dedup_key": alert.dedup_key,
                "payload": {
                    "summary": alert.summary[:1024],
                    "source": SOURCE,
                    "severity": "error",
                    "component": alert.job_name,
                    "group": "dagster_runs",
                    "class": alert.error_class,
                    "custom_details": {
                        "run_id" if alert.kind == "run" else "tick_id": alert.run_id,
                        "step": alert.step_key,
                        "partition": alert.partition,
                    },
                },
            }
            requests.append(("pagerduty", alert.step_key, _json_request(settings, body)))
        if enabled["slack"]:
            text = f"[error] {alert.summary} ({_subject(alert.kind)} {alert.run_id})"
            request = HttpRequest(
                str(settings.slack_webhook_url),
                {"Content-Type": "application/json"},
                json.dumps({"text": text}).encode(),
                secret_path=True,
            )
            requests.append(("slack", alert.step_key, request))
    return requests


def _json_request(settings: ChannelSettings, body: dict[str, object]) -> HttpRequest:
    return HttpRequest(
        settings.pagerduty_events_url,
        {"Content-Type": "application/json"},
        json.dumps(body).encode(),
    )


def send_failure_alerts(
    failure: RunFailure,
    settings: ChannelSettings,
    policy: DeliveryPolicy,
    *,
    secrets: Sequence[str] = (),
    send: Callable[[HttpRequest, DeliveryPolicy], DeliveryResult] = deliver,
) -> list[ChannelOutcome]:
    """Every request of ``failure`` sent with bounded retries; each one's outcome (a
    delivery that fails does not stop the others: the other channels still hear of it)."""
    settings.validate()
    return [
        ChannelOutcome(channel, step_key, send(request, policy))
        for channel, step_key, request in failure_requests(failure, settings, secrets)
    ]


def raise_if_undelivered(failure: RunFailure, outcomes: Sequence[ChannelOutcome]) -> None:
    """Raise :class:`AlertDeliveryError` naming the run, every undelivered channel and step and
    the last error's class (never a URL or a key) when any delivery was not accepted."""
    lost = [o for o in outcomes if o.result.status != "delivered"]
    if lost:
        detail = "; ".join(
            f"{o.channel} for step {o.step_key}: {o.result.status} after {o.result.attempts} "
            f"attempt(s) ({o.result.error_class})"
            for o in lost
        )
        raise AlertDeliveryError(
            f"the failure alert of {_subject(failure.kind)} {failure.run_id} ({failure.job_name}) "
            f"was not delivered: "
            f"{detail}"
        )


def _subject(kind: str) -> str:
    return "run" if kind == "run" else "tick"
