"""Sentry for the code location: ``sentry_sdk.init`` once per process, every payload scrubbed.

``definitions.py`` calls :func:`init_sentry` when the code location loads, which is the one
place every process of ours passes through: the code server (sensors, schedules), the run
worker and each step's subprocess. Without ``SENTRY_DSN`` nothing is initialised.

What leaves is cut to what an operator needs: no user data, no local variables of stack frames,
no HTTP bodies, headers or query strings, no command line (``dagster api execute_step`` carries
run config), and every event and breadcrumb passes the project's one scrubber
(``maintenance.alerts.scrub_event``): the value of every secret variable the project reads and
its telling forms (the DSN's key, a webhook's token, HTTP Basic of the Spotify client, URL
encodings), raw listener fields and 64-hex pseudonyms. Logs become breadcrumbs, neither events
nor Sentry Logs (sentry-sdk 3 would otherwise ship every INFO record as a log item, which
``before_send`` never sees): Dagster logs each step failure once per logger, so failure events
come from the run-failure sensor (``observability.run_failure_alerts``), one per failing step,
fingerprinted.
"""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from spotify_agent_assets.maintenance.alerts import scrub_event, validate_dsn

DSN_VAR = "SENTRY_DSN"
# Every variable whose value is a credential (grep for dg.EnvVar and dagster.yaml's `env:`).
# MLFLOW_TRACKING_URI and AWS_ACCESS_KEY_ID are not secrets as a whole, but their telling
# parts are taken below (a URI's password; the key id travels with its secret).
SECRET_ENV_VARS = (
    "SPOTIFY_CLIENT_SECRET",
    "SPOTIFY_REFRESH_TOKEN",
    "SPOTIFY_AGENT_PSEUDONYM_KEY",
    "SPOTIFY_AGENT_BACKUP_KEY",
    "SENTRY_DSN",
    "PAGERDUTY_ROUTING_KEY",
    "SLACK_WEBHOOK_URL",
    "CONTENT_LLM_API_KEY",
    "YOUTUBE_API_KEY",
    "LASTFM_API_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "DAGSTER_PG_PASSWORD",
    # Read by the OpenTelemetry exporter itself: where a collector's token goes.
    "OTEL_EXPORTER_OTLP_HEADERS",
)
# Shorter values are too likely to be ordinary words, and too weak to be real credentials.
MIN_SECRET_CHARS = 8
# What integrations may collect (sentry-sdk 3's `data_collection`): nothing about users,
# requests or frames' variables; the scrubber runs after, on what is left.
PRIVATE_DATA_COLLECTION: dict[str, Any] = {
    "user_info": False,
    "cookies": {"mode": "off"},
    "http_headers": {"request": {"mode": "off"}},
    "http_bodies": [],
    "url_query_params": {"mode": "off"},
    "database_query_data": False,
    "queues": False,
    "gen_ai": {"inputs": False, "outputs": False},
    "stack_frame_variables": False,
}

_initialised_dsn: str | None = None


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """Every secret value of ``environ`` and the forms text may carry it in, longest first
    (so a secret is replaced whole before any part of it)."""
    raw = {name: (environ.get(name) or "").strip() for name in SECRET_ENV_VARS}
    values = [value for value in raw.values() if value]
    if raw["SENTRY_DSN"]:
        values.append(urlsplit(raw["SENTRY_DSN"]).username or "")
    if raw["SLACK_WEBHOOK_URL"]:
        path = urlsplit(raw["SLACK_WEBHOOK_URL"]).path
        values += [path, path.rstrip("/").rsplit("/", 1)[-1]]
    mlflow_password = urlsplit((environ.get("MLFLOW_TRACKING_URI") or "").strip()).password
    values.append(mlflow_password or "")
    client_id = (environ.get("SPOTIFY_CLIENT_ID") or "").strip()
    if client_id and raw["SPOTIFY_CLIENT_SECRET"]:
        # The token request's Authorization: Basic header.
        pair = f"{client_id}:{raw['SPOTIFY_CLIENT_SECRET']}".encode()
        values.append(base64.b64encode(pair).decode())
    values += [quote(value, safe="") for value in values]
    unique = {value for value in values if len(value) >= MIN_SECRET_CHARS}
    return sorted(unique, key=lambda value: (-len(value), value))


def scrubbers(
    secrets: list[str],
) -> tuple[Callable[[Any, Any], Any], Callable[[Any, Any], Any]]:
    """``before_send`` and ``before_breadcrumb`` for sentry-sdk: the same scrubber for both."""

    def before_send(event: Any, _hint: Any) -> Any:
        return scrub_event(event, secrets)

    def before_breadcrumb(crumb: Any, _hint: Any) -> Any:
        return scrub_event(crumb, secrets)

    return before_send, before_breadcrumb


def init_sentry(
    environ: Mapping[str, str] | None = None,
    *,
    environment: str = "local",
    transport: Any = None,
) -> bool:
    """Initialise the process-wide SDK from ``SENTRY_DSN`` (once per process); False when the
    variable is unset. A DSN of the wrong form fails the code location's load, naming it."""
    global _initialised_dsn
    environ = os.environ if environ is None else environ
    dsn = (environ.get(DSN_VAR) or "").strip()
    if not dsn:
        return False
    validate_dsn(dsn)
    if _initialised_dsn == dsn:
        return True
    import sentry_sdk
    from sentry_sdk.integrations.argv import ArgvIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration
    from sentry_sdk.integrations.modules import ModulesIntegration

    before_send, before_breadcrumb = scrubbers(secret_values(environ))
    options: dict[str, Any] = {"transport": transport} if transport is not None else {}
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        before_send=before_send,
        before_breadcrumb=before_breadcrumb,
        data_collection=dict(PRIVATE_DATA_COLLECTION),
        # The SDK's own integrations (excepthook, threading, stdlib breadcrumbs, logging),
        # none of the auto-enabled ones that would hook every library installed.
        auto_enabling_integrations=False,
        disabled_integrations=[ArgvIntegration, ModulesIntegration],
        # sentry-sdk 3 ships log records as Sentry Logs (`level`), past before_send: off.
        # Logs become breadcrumbs only, scrubbed in before_breadcrumb.
        integrations=[
            LoggingIntegration(level=None, event_level=None, breadcrumb_level=logging.INFO)
        ],
        # Should another integration send logs all the same, they pass the scrubber too.
        before_send_log=before_send,
        send_client_reports=False,
        # No sentry-trace/baggage headers on our requests to Spotify and the alert channels:
        # the trace context they carry is OpenTelemetry's (observability/http_trace.py).
        trace_propagation_targets=[],
        **options,
    )
    _initialised_dsn = dsn
    return True
