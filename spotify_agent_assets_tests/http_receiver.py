"""The scaffold the tests' local HTTP receivers share: a real server for the length of a block.

The OTLP, Sentry, PagerDuty/Slack, fake LLM and social API stand-ins differ only in how they
answer a request and what they keep of it; each hands ``serve_http`` one function from
``Request`` to ``Response``. The server is a ``ThreadingHTTPServer`` on 127.0.0.1, port 0 (the
OS picks a free one, so tests running side by side never collide), served from a daemon thread
and shut down when the block ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

Entry = TypeVar("Entry")
Scripted = TypeVar("Scripted")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Message  # as sent; ``get`` ignores case
    body: bytes


@dataclass(frozen=True)
class Response:
    status: int
    # Sent in this order, and only these: each receiver keeps its own wire format.
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def record_and_take(
    lock: threading.Lock, log: list[Entry], entry: Entry, plan: list[Scripted]
) -> Scripted | None:
    """Keep ``entry`` and take the plan's next scripted answer (None once it is used up).

    One step under the lock, so concurrent requests each get their own scripted answer and the
    log's order is the order they took them in.
    """
    with lock:
        log.append(entry)
        return plan.pop(0) if plan else None


@contextmanager
def serve_http(
    respond: Callable[[Request], Response], methods: Sequence[str] = ("POST",)
) -> Iterator[int]:
    """Serve ``respond`` for the given HTTP methods until the block ends; yields the port."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            response = respond(Request(self.command, self.path, self.headers, body))
            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # no access-log line on stderr for every request a test makes

    # Any other method keeps the standard library's 501 answer.
    for method in methods:
        setattr(Handler, f"do_{method}", Handler._answer)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
