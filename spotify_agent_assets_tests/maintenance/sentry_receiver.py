"""A real HTTP server standing in for Sentry: it accepts envelopes and keeps them for tests."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from spotify_agent_assets_tests.http_receiver import Request, Response, serve_http

PUBLIC_KEY = "testpublickey0123456789abcdef"


@dataclass
class SentryReceiver:
    port: int
    bodies: list[bytes] = field(default_factory=list)
    auth_headers: list[str] = field(default_factory=list)

    @property
    def dsn(self) -> str:
        return f"http://{PUBLIC_KEY}@127.0.0.1:{self.port}/1"

    @property
    def raw(self) -> bytes:
        """Everything received, decompressed, as one byte string (for leak searches)."""
        return b"\n".join(self.bodies)

    def events(self) -> list[dict[str, Any]]:
        """The ``event`` items of every envelope (an envelope is JSON lines: a header, then
        item header and payload pairs)."""
        found = []
        for body in self.bodies:
            lines = body.split(b"\n")
            index = 1
            while index + 1 < len(lines):
                item_header = json.loads(lines[index])
                if item_header.get("type") == "event":
                    found.append(json.loads(lines[index + 1]))
                index += 2
        return found


@contextmanager
def sentry_receiver() -> Iterator[SentryReceiver]:
    receiver = SentryReceiver(port=0)

    def respond(request: Request) -> Response:
        body = request.body
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        receiver.bodies.append(body)
        receiver.auth_headers.append(request.headers.get("x-sentry-auth", ""))
        return Response(200, [("content-type", "application/json")], b"{}")

    with serve_http(respond) as port:
        receiver.port = port
        yield receiver
