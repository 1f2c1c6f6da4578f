"""A real HTTP server standing in for Sentry: it accepts envelopes and keeps them for tests."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            if self.headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            receiver.bodies.append(body)
            receiver.auth_headers.append(self.headers.get("x-sentry-auth", ""))
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
