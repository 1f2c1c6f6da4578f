"""sentry-sdk for the code location, in a fresh process as a deployment runs it: loading
``definitions`` initialises it from SENTRY_DSN, and what reaches a local Sentry (an uncaught
error, one in a thread, the breadcrumbs of logs and HTTP calls before them) carries no secret,
listener id, pseudonym or frame variable."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from spotify_agent_assets.observability.sentry_setup import (
    PRIVATE_DATA_COLLECTION,
    SECRET_ENV_VARS,
    init_sentry,
    secret_values,
)
from spotify_agent_assets_tests.maintenance.sentry_receiver import (
    PUBLIC_KEY,
    SentryReceiver,
    sentry_receiver,
)
from spotify_agent_assets_tests.secret_scanner import listener_needles, scan_bytes, secret_needles

PLANTED = {name: f"planted-{name.lower().replace('_', '-')}-77" for name in SECRET_ENV_VARS}
PLANTED["SPOTIFY_AGENT_PSEUDONYM_KEY"] = "cGxhbnRlZC1wc2V1ZG9ueW0ta2V5LTMyLWJ5dGVzLWxvbmc="
CLIENT_ID = "planted-client-id"
RAW_LISTENER = "mara_k1987"
PSEUDONYM = "cd" * 32

# Run in a child: the SDK is process-wide, and this one must not report the test session.
CHILD = textwrap.dedent(
    f"""
    import logging, os, threading, urllib.request
    import sentry_sdk
    import spotify_agent_assets.definitions  # the code location loads: Sentry starts here
    assert sentry_sdk.get_client().is_active(), "definitions did not initialise Sentry"
    secret = os.environ["SPOTIFY_CLIENT_SECRET"]
    logging.getLogger("spotify_agent_assets").warning(
        "retrying with %s for listener_id=%s", secret, {RAW_LISTENER!r}
    )
    try:  # a breadcrumb of an HTTP call whose URL is a credential (a Slack webhook)
        urllib.request.urlopen(os.environ["SLACK_WEBHOOK_URL"], timeout=1)
    except Exception:
        pass

    def worker():
        token = os.environ["SPOTIFY_REFRESH_TOKEN"]  # a frame variable holding a secret
        raise RuntimeError(f"thread failed with {{token}} for {PSEUDONYM}")

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    sentry_sdk.flush(5)
    client_secret = secret  # a local of the module frame too
    raise ValueError(f"uncaught with {{client_secret}} and " + os.environ["SENTRY_DSN"])
    """
)


def _child_environment(tmp_path: Path, receiver: SentryReceiver) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in SECRET_ENV_VARS and not key.startswith(("SPOTIFY_", "SENTRY_"))
    }
    return {
        **environment,
        **PLANTED,
        "SENTRY_DSN": receiver.dsn,
        "SLACK_WEBHOOK_URL": f"http://127.0.0.1:{receiver.port}/services/T0/B0/slacktok3n99",
        "SPOTIFY_CLIENT_ID": CLIENT_ID,
        "SPOTIFY_AGENT_ENV": "local",
        "SPOTIFY_AGENT_DATA_DIR": str(tmp_path / "data"),
    }


def test_the_code_location_reports_errors_scrubbed_of_every_secret_and_listener_id(
    tmp_path: Path,
) -> None:
    with sentry_receiver() as receiver:
        environment = _child_environment(tmp_path, receiver)
        child = subprocess.run(
            [sys.executable, "-c", CHILD],
            env=environment,
            capture_output=True,
            text=True,
            timeout=180,
            cwd=Path(__file__).parents[2],
        )
    assert child.returncode == 1 and "ValueError: uncaught" in child.stderr, child.stderr[-2000:]
    events = receiver.events()
    errors = {
        value["type"]: value["value"]
        for event in events
        for value in event.get("exception", {}).get("values", [])
    }
    # Both the thread's error and the uncaught one arrived, their secrets replaced.
    assert errors["RuntimeError"] == "thread failed with <redacted> for <redacted>"
    assert errors["ValueError"].startswith("uncaught with <redacted> and <redacted>")
    crumbs = [c for e in events for c in e.get("breadcrumbs", {}).get("values", [])]
    assert any(c.get("category") == "spotify_agent_assets" for c in crumbs), crumbs
    assert any(c.get("type") == "http" for c in crumbs), crumbs  # the webhook call, scrubbed
    frames = [
        frame
        for event in events
        for value in event.get("exception", {}).get("values", [])
        for frame in value.get("stacktrace", {}).get("frames", [])
    ]
    assert frames and not any("vars" in frame for frame in frames)
    assert all("user" not in event for event in events)

    needles = [
        *secret_needles(
            {
                **{k: environment[k] for k in (*SECRET_ENV_VARS, "SLACK_WEBHOOK_URL")},
                "SENTRY_DSN key": PUBLIC_KEY,
                "Slack token": "slacktok3n99",
            },
            basic_auth=(CLIENT_ID, PLANTED["SPOTIFY_CLIENT_SECRET"]),
        ),
        *listener_needles([RAW_LISTENER]),
    ]
    assert not scan_bytes(receiver.raw, "Sentry envelopes", needles)
    assert PSEUDONYM.encode() not in receiver.raw


def test_without_a_dsn_nothing_starts_and_a_malformed_one_fails_naming_the_variable() -> None:
    assert init_sentry({}) is False
    with pytest.raises(ValueError, match="SENTRY_DSN is not a Sentry DSN") as raised:
        init_sentry({"SENTRY_DSN": "not-a-dsn-but-a-secret-value"})
    assert "not-a-dsn-but-a-secret-value" not in str(raised.value)


def test_secret_values_cover_every_form_and_part() -> None:
    environ = {
        "SPOTIFY_CLIENT_ID": "cid",
        "SPOTIFY_CLIENT_SECRET": "s3cret/value+1",
        "SENTRY_DSN": "https://publickey123@o1.example/42",
        "SLACK_WEBHOOK_URL": "https://hooks.example/services/T0/B0/webhooktoken42",
        "MLFLOW_TRACKING_URI": "https://user:mlflowpassword@mlflow.example",
        "PAGERDUTY_ROUTING_KEY": "short",  # under 8 characters: not a credential we scrub
    }
    values = secret_values(environ)
    for expected in (
        "s3cret/value+1",
        "s3cret%2Fvalue%2B1",
        "publickey123",
        "webhooktoken42",
        "/services/T0/B0/webhooktoken42",
        "mlflowpassword",
        "Y2lkOnMzY3JldC92YWx1ZSsx",  # base64 of cid:s3cret/value+1
    ):
        assert expected in values
    assert "short" not in values
    assert values == sorted(values, key=lambda v: (-len(v), v))  # longest replaced first
    assert PRIVATE_DATA_COLLECTION["stack_frame_variables"] is False
