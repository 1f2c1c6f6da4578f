"""Where artist alerts go: Sentry, PagerDuty Events API v2, a Slack-compatible webhook.

Each channel turns an alert row into one HTTP request; ``deliver`` sends it with bounded
retries and says what happened, so the outbox (``alert_outbox``) records it. Every payload is
scrubbed (``maintenance.alerts.scrub_event``) of the channels' secrets, listener ids and
pseudonyms before it leaves; the only secret a request carries is the one its protocol needs
where it needs it (PagerDuty's ``routing_key`` field, Sentry's auth header, Slack's URL).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from spotify_agent_assets.maintenance.alerts import scrub_event, sentry_client, validate_dsn
from spotify_agent_assets.maintenance.health_results import REDACTED
from spotify_agent_assets.observability.http_trace import traced_session
from spotify_agent_assets.spotify.retry import retry_after_seconds

CHANNELS = ("sentry", "pagerduty", "slack")
DEFAULT_PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
# Retried within a run: the receiver or the network may be back in a moment.
RETRYABLE_STATUSES = frozenset({408, 500, 502, 503, 504})
PAGERDUTY_SEVERITY = {"info": "info", "warning": "warning", "error": "error"}


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard one run tries one delivery before leaving it pending for the next run."""

    max_attempts: int = 3
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    max_retry_after_s: float = 60.0
    """A longer Retry-After ends this run's tries (the delivery stays pending)."""
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.timeout_s <= 0 or self.base_delay_s < 0:
            raise ValueError(
                "max_attempts must be >= 1, timeout_s > 0 and base_delay_s >= 0, got "
                f"{self.max_attempts}, {self.timeout_s}, {self.base_delay_s}"
            )


@dataclass(frozen=True)
class ChannelSettings:
    """The channels' configuration (secrets included: never log or store this object)."""

    sentry_dsn: str | None = None
    pagerduty_routing_key: str | None = None
    pagerduty_events_url: str = DEFAULT_PAGERDUTY_EVENTS_URL
    slack_webhook_url: str | None = None
    environment: str = "local"

    def enabled(self) -> dict[str, bool]:
        return {
            "sentry": bool(self.sentry_dsn),
            "pagerduty": bool(self.pagerduty_routing_key),
            "slack": bool(self.slack_webhook_url),
        }

    def off_reasons(self) -> dict[str, str]:
        """Why each disabled channel is off (the variable to set), for metadata."""
        variables = {
            "sentry": "SENTRY_DSN",
            "pagerduty": "PAGERDUTY_ROUTING_KEY",
            "slack": "SLACK_WEBHOOK_URL",
        }
        return {c: f"off: {variables[c]} is not set" for c, on in self.enabled().items() if not on}

    def validate(self) -> None:
        """Each configured channel's setting has the expected form; the error names the
        variable, never its value."""
        if self.sentry_dsn:
            validate_dsn(self.sentry_dsn)
        for variable, url in (
            (
                "PAGERDUTY_EVENTS_URL",
                self.pagerduty_events_url if self.pagerduty_routing_key else "",
            ),
            ("SLACK_WEBHOOK_URL", self.slack_webhook_url or ""),
        ):
            if url and not url.startswith(("https://", "http://")):
                raise ValueError(f"{variable} is not an http(s) URL; expected https://host/path")

    def secrets(self) -> list[str]:
        """Every secret value and its telling parts: the DSN's key, the webhook URL's path
        and its last segment (the token), which text may quote without the rest."""
        from urllib.parse import urlsplit

        values = [self.sentry_dsn, self.pagerduty_routing_key, self.slack_webhook_url]
        if self.sentry_dsn:
            values.append(urlsplit(self.sentry_dsn).username)
        if self.slack_webhook_url:
            path = urlsplit(self.slack_webhook_url).path
            values += [path, path.rstrip("/").rsplit("/", 1)[-1]]
        return [value for value in values if value and len(value) >= 8]


@dataclass(frozen=True)
class HttpRequest:
    url: str
    headers: Mapping[str, str]
    body: bytes
    secret_path: bool = False
    """The URL's path is a credential (a Slack webhook): kept out of urllib3's DEBUG log."""


class _UrlPathScrubber(logging.Filter):
    """urllib3 logs every request's path at DEBUG; for a webhook that path is the secret."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.path in message:
            record.msg = message.replace(self.path, REDACTED)
            record.args = None
        return True


@dataclass(frozen=True)
class DeliveryResult:
    status: str  # delivered | pending | failed_permanently
    attempts: int
    error_class: str | None


def alert_event(alert: Mapping[str, Any]) -> dict[str, Any]:
    """The neutral content every channel sends: no listener data exists in an alert, and the
    scrubber below removes anything that looks like it all the same."""
    return {
        "alert_id": alert["alert_id"],
        "rule": alert["rule"],
        "severity": alert["severity"],
        "artist_id": alert["artist_id"],
        "artist_name": alert["artist_name"],
        "cause_day": str(alert["cause_day"]),
        "summary": alert["summary"],
        "metric": alert["metric"],
        "value": alert["value"],
        "baseline": alert["baseline"],
        "threshold": alert["threshold"],
        "signals": list(alert["signals"]),
    }


def build_request(channel: str, alert: Mapping[str, Any], settings: ChannelSettings) -> HttpRequest:
    """The HTTP request that delivers ``alert`` to ``channel``."""
    secrets = settings.secrets()
    event = scrub_event(alert_event(alert), secrets)
    if channel == "pagerduty":
        body = {
            "routing_key": settings.pagerduty_routing_key,
            "event_action": "trigger",
            # PagerDuty folds a repeated trigger with the same key into the open incident.
            "dedup_key": event["alert_id"],
            "payload": {
                "summary": event["summary"][:1024],
                "source": "spotify_agent_assets.artist_alerts",
                "severity": PAGERDUTY_SEVERITY[alert["severity"]],
                "component": event["artist_name"],
                "group": "artist_monitoring",
                "class": event["rule"],
                "custom_details": event,
            },
        }
        return HttpRequest(
            settings.pagerduty_events_url,
            {"Content-Type": "application/json"},
            json.dumps(body).encode(),
        )
    if channel == "slack":
        text = f"[{event['severity']}] {event['summary']} (alert {event['alert_id']})"
        body = {"text": text}
        return HttpRequest(
            str(settings.slack_webhook_url),
            {"Content-Type": "application/json"},
            json.dumps(body).encode(),
            secret_path=True,
        )
    if channel == "sentry":
        return _sentry_request(alert, event, settings)
    raise ValueError(f"unknown alert channel {channel!r}; expected one of {', '.join(CHANNELS)}")


def _sentry_request(
    alert: Mapping[str, Any], event: Mapping[str, Any], settings: ChannelSettings
) -> HttpRequest:
    """The alert as a Sentry event, one issue per alert."""
    return sentry_event_request(
        {
            "message": event["summary"],
            "level": alert["severity"],
            "logger": "artist_alerts",
            # One Sentry issue per alert, however often it is sent.
            "fingerprint": ["artist_alert", event["alert_id"]],
            "tags": {k: event[k] for k in ("alert_id", "rule", "severity", "artist_id")},
            # The SDK trims a mapping past 10 keys: the rest of the alert, in 7.
            "extra": {
                k: event[k]
                for k in (
                    "artist_name",
                    "cause_day",
                    "metric",
                    "value",
                    "baseline",
                    "threshold",
                    "signals",
                )
            },
        },
        settings,
    )


def sentry_event_request(
    event: Mapping[str, Any], settings: ChannelSettings, *, secrets: Sequence[str] = ()
) -> HttpRequest:
    """The envelope sentry-sdk builds for ``event`` (scrubbed of the channels' secrets and
    ``secrets``), captured from a transport that keeps it instead of sending it in the SDK's
    background thread, where a refused or lost envelope would go unnoticed."""
    from sentry_sdk.transport import Transport
    from sentry_sdk.utils import Dsn

    dsn = validate_dsn(str(settings.sentry_dsn))

    class KeptEnvelopes(Transport):
        def __init__(self, options: Any = None) -> None:
            super().__init__(options)
            self.envelopes: list[Any] = []

        def capture_envelope(self, envelope: Any) -> None:
            self.envelopes.append(envelope)

    kept = KeptEnvelopes({"dsn": dsn})
    client = sentry_client(
        dsn,
        secrets=[*settings.secrets(), *secrets],
        environment=settings.environment,
        transport=kept,
    )
    try:
        client.capture_event(dict(event))
    finally:
        client.close(timeout=0)
    if len(kept.envelopes) != 1:
        raise RuntimeError(f"sentry-sdk made {len(kept.envelopes)} envelopes for one event")
    auth = Dsn(dsn).to_auth(client="spotify-agent-assets/1")
    return HttpRequest(
        auth.get_api_url(),
        {"Content-Type": "application/x-sentry-envelope", "X-Sentry-Auth": auth.to_header()},
        kept.envelopes[0].serialize(),
    )


def deliver(
    request: HttpRequest,
    policy: DeliveryPolicy,
    *,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> DeliveryResult:
    """Send ``request`` until it is accepted (2xx), refused for good (4xx other than 408 and
    429), or this run's attempts run out (pending: the next run tries again)."""
    scrubber = _UrlPathScrubber(urlsplit(request.url).path) if request.secret_path else None
    if scrubber is not None:
        logging.getLogger("urllib3.connectionpool").addFilter(scrubber)
    try:
        return _deliver(
            request,
            policy,
            session or traced_session(),
            sleep,
            rng or random.Random(),  # noqa: S311 -- backoff jitter, not security
        )
    finally:
        if scrubber is not None:
            logging.getLogger("urllib3.connectionpool").removeFilter(scrubber)


def _deliver(
    request: HttpRequest,
    policy: DeliveryPolicy,
    session: requests.Session,
    sleep: Callable[[float], None],
    rng: random.Random,
) -> DeliveryResult:
    error_class: str | None = None
    backoffs = 0  # a Retry-After wait is the receiver's, not a step of our backoff
    for attempt in range(1, policy.max_attempts + 1):
        delay: float | None = None
        try:
            response = session.post(
                request.url,
                data=request.body,
                headers=dict(request.headers),
                timeout=policy.timeout_s,
                allow_redirects=False,
            )
        except (requests.ConnectionError, requests.Timeout) as error:
            error_class = type(error).__name__
        else:
            if 200 <= response.status_code < 300:
                return DeliveryResult("delivered", attempt, None)
            error_class = f"HttpStatus{response.status_code}"
            if response.status_code == 429:
                delay = retry_after_seconds(response.headers)
                if delay is not None and delay > policy.max_retry_after_s:
                    return DeliveryResult("pending", attempt, error_class)
            elif response.status_code not in RETRYABLE_STATUSES:
                return DeliveryResult("failed_permanently", attempt, error_class)
        if attempt == policy.max_attempts:
            break
        if delay is None:
            delay = min(policy.max_delay_s, policy.base_delay_s * 2**backoffs)
            delay *= 1 + rng.uniform(-0.25, 0.25)
            backoffs += 1
        sleep(delay)
    return DeliveryResult("pending", policy.max_attempts, error_class)
