"""A local OpenAI-compatible chat completions server for tests: each request is kept, and the
answer is decided by a function of the request's messages (or a queue of failures first)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY = "sk-fake-content-key-3f9a1c0e7b2d4a68"


@dataclass
class FakeLlm:
    answer: Callable[[list[dict[str, str]]], str]
    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


@contextmanager
def fake_llm(
    answer: Callable[[list[dict[str, str]]], str],
    failures: list[tuple[int, dict[str, str]]] | None = None,
) -> Iterator[FakeLlm]:
    state = FakeLlm(answer=answer, failures=list(failures or []))
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            body = json.loads(raw)
            with lock:
                state.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body, "raw": raw}
                )
                failure = state.failures.pop(0) if state.failures else None
            if self.path != "/v1/chat/completions":
                status, headers, payload = 404, {}, {"error": {"message": "not found"}}
            elif self.headers.get("authorization") != f"Bearer {API_KEY}":
                status, headers, payload = 401, {}, {"error": {"message": "bad key"}}
            elif failure is not None:
                status, headers = failure
                payload = {"error": {"message": "try later"}}
            else:
                text = state.answer(body["messages"])
                status, headers = 200, {}
                payload = {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                        }
                    ],
                }
            data = json.dumps(payload).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def facts_in(messages: list[dict[str, str]]) -> dict[str, str]:
    """The ``- name: value`` lines of the prompt's user message."""
    lines = messages[-1]["content"].splitlines()
    return dict(line[2:].split(": ", 1) for line in lines if line.startswith("- "))
