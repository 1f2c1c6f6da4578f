"""Alerts for failed health checks, sent to Sentry.

One event per failed check, fingerprinted by the check's name so a check failing every day
groups into one issue instead of a new one per run. A private `sentry_sdk.Client` (no
``sentry_sdk.init``) sends them: the process-wide SDK would hook logging and exceptions of the
whole Dagster run and ship them too. Every string of an event passes a scrubber before it
leaves: known secret values, URL credentials, listener fields and pseudonyms (64 hex digits)
are replaced.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from spotify_agent_assets.maintenance.health_results import (
    REDACTED,
    CheckResult,
    Severity,
    redact,
)

LOGGER_NAME = "health_check_job"
FLUSH_TIMEOUT_S = 10.0
# HMAC-SHA256 pseudonyms of listeners are 64 hex digits; no alert needs one.
_PSEUDONYM = re.compile(r"\b[0-9a-fA-F]{64}\b")


@dataclass(frozen=True)
class AlertOutcome:
    """What alerting did: ``enabled`` is false without a DSN (nothing was sent)."""

    enabled: bool
    event_ids: tuple[str, ...]
    detail: str


def validate_dsn(dsn: str) -> str:
    """``dsn`` if it looks like a Sentry DSN (``http(s)://key@host/project``), else an error
    naming the variable (the DSN itself carries the key, so it is not repeated)."""
    parts = urlsplit(dsn)
    if parts.scheme not in ("http", "https") or not parts.username or not parts.path.strip("/"):
        raise ValueError(
            "SENTRY_DSN is not a Sentry DSN; expected https://<public key>@<host>/<project id>"
        )
    return dsn


def scrub_event(event: dict[str, Any], secrets: Iterable[str]) -> dict[str, Any]:
    """``event`` with every string scrubbed of secrets, listener ids and pseudonyms."""
    from spotify_agent_assets.streams.raw_batch import redact_listener_text

    secrets = tuple(secrets)

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            text = redact_listener_text(redact(value, secrets))
            return _PSEUDONYM.sub(REDACTED, text)
        if isinstance(value, dict):
            return {scrub(key): scrub(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [scrub(item) for item in value]
        return value

    return scrub(event)


def sentry_client(
    dsn: str, *, secrets: Sequence[str] = (), environment: str = "local", transport: Any = None
) -> Any:
    """A private ``sentry_sdk.Client`` whose every event is scrubbed (``scrub_event``) of
    ``secrets``, the DSN's key, listener ids and pseudonyms; ``transport`` replaces the SDK's
    background HTTP sender (artist alerts send the envelopes themselves, to learn the answer)."""
    import sentry_sdk

    # The DSN's public key is a credential of the project: keep it out of every payload.
    all_secrets = (*secrets, *(value for value in [urlsplit(dsn).username] if value))
    options: dict[str, Any] = {"transport": transport} if transport is not None else {}
    return sentry_sdk.Client(
        dsn,
        default_integrations=False,
        auto_enabling_integrations=False,
        send_client_reports=False,
        # A stack trace of this function would carry its local variables (the DSN among them).
        attach_stacktrace=False,
        environment=environment,
        before_send=lambda event, _hint: scrub_event(event, all_secrets),
        **options,
    )


def send_alerts(
    dsn: str | None,
    results: Sequence[CheckResult],
    *,
    secrets: Sequence[str] = (),
    environment: str = "local",
    run_id: str | None = None,
) -> AlertOutcome:
    """One Sentry event per failed result (none for passing ones); without a DSN nothing is
    sent and the outcome says alerting is off."""
    failed = [result for result in results if not result.ok]
    if not dsn:
        return AlertOutcome(False, (), "alerting is off: SENTRY_DSN is not set")
    validate_dsn(dsn)
    if not failed:
        return AlertOutcome(True, (), "no failed check, no alert")
    client = sentry_client(dsn, secrets=secrets, environment=environment)
    event_ids: list[str] = []
    try:
        for result in failed:
            event_id = client.capture_event(_event(result, run_id))
            if event_id is None:
                raise RuntimeError(f"Sentry client dropped the alert for {result.name}")
            event_ids.append(event_id)
        client.flush(timeout=FLUSH_TIMEOUT_S)
    finally:
        client.close(timeout=FLUSH_TIMEOUT_S)
    return AlertOutcome(True, tuple(event_ids), f"{len(event_ids)} alert(s) sent to Sentry")


def _event(result: CheckResult, run_id: str | None) -> dict[str, Any]:
    extra = {"observed": result.observed, "threshold": result.threshold, "detail": result.detail}
    if run_id:
        extra["dagster_run_id"] = run_id
    tags = {"health_check": result.name, "severity": result.severity.value}
    if result.asset:
        tags["asset"] = result.asset
    return {
        "message": f"health check {result.name} failed: {result.detail}",
        "level": "error" if result.severity is Severity.ERROR else "warning",
        "logger": LOGGER_NAME,
        # One issue per check, however its detail (ages, counts) changes from run to run.
        "fingerprint": [LOGGER_NAME, result.name],
        "tags": tags,
        "extra": extra,
    }
