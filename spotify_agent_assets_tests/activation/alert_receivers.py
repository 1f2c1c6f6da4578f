"""Real local HTTP servers standing in for Sentry, PagerDuty's Events API and a Slack webhook.

Each keeps every request it got (path, headers, body) and can be told to fail its first
requests (a status, optionally with headers such as Retry-After) before it accepts.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from spotify_agent_assets_tests.http_receiver import Request, Response, serve_http

SENTRY_KEY = "sentrypublickey5a1b2c3d4e5f6a7b"
ROUTING_KEY = "pdroutingkey0f9e8d7c6b5a4f3e2d1c"
SLACK_TOKEN = "slackwebhooktoken7d6c5b4a3f2e1d0c"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    ok_status: int
    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def accepted(self) -> list[Received]:
        return [r for r in self.received if r.status == self.ok_status]

    def json_bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.accepted()]

    def sentry_events(self) -> list[dict[str, Any]]:
        """The ``event`` items of the accepted envelopes (JSON lines: header, item pairs)."""
        events = []
        for r in self.accepted():
            lines = r.body.split(b"\n")
            for index in range(1, len(lines) - 1, 2):
                if json.loads(lines[index]).get("type") == "event":
                    events.append(json.loads(lines[index + 1]))
        return events


@contextmanager
def receiver(ok_status: int = 200, failures: list[tuple[int, dict[str, str]]] | None = None):
    state = Receiver(ok_status=ok_status, failures=list(failures or []))

    def respond(request: Request) -> Response:
        # Not record_and_take: the record carries the status the plan picked.
        with state.lock:
            status, headers = state.failures.pop(0) if state.failures else (ok_status, {})
            state.received.append(
                Received(request.path, dict(request.headers), request.body, status)
            )
        return Response(
            status,
            [*headers.items(), ("content-type", "application/json")],
            b'{"status": "success"}' if status < 300 else b'{"error": "x"}',
        )

    with serve_http(respond) as port:
        state.port = port
        yield state


def dead_url() -> str:
    """A local URL nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@contextmanager
def three_receivers(**failures: list[tuple[int, dict[str, str]]]) -> Iterator[dict[str, Receiver]]:
    with (
        receiver(200, failures.get("sentry")) as sentry,
        receiver(202, failures.get("pagerduty")) as pagerduty,
        receiver(200, failures.get("slack")) as slack,
    ):
        yield {"sentry": sentry, "pagerduty": pagerduty, "slack": slack}


def channel_config(receivers: dict[str, Receiver], slack_url: str | None = None) -> dict[str, Any]:
    """AlertChannelsResource fields pointing at the receivers (no backoff sleeps)."""
    return {
        "sentry_dsn": f"http://{SENTRY_KEY}@127.0.0.1:{receivers['sentry'].port}/42",
        "pagerduty_routing_key": ROUTING_KEY,
        "pagerduty_events_url": f"{receivers['pagerduty'].url}/v2/enqueue",
        "slack_webhook_url": f"{slack_url or receivers['slack'].url}/services/T0/B0/{SLACK_TOKEN}",
        "base_delay_s": 0.0,
        "max_attempts": 3,
    }
