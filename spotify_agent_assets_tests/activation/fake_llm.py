"""A local OpenAI-compatible chat completions server for tests: each request is kept, and the
answer is decided by a function of the request's messages (or a queue of failures first)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from spotify_agent_assets_tests.http_receiver import Request, Response, record_and_take, serve_http

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

    def respond(request: Request) -> Response:
        raw = request.body
        body = json.loads(raw)
        entry = {"path": request.path, "headers": dict(request.headers), "body": body, "raw": raw}
        failure = record_and_take(lock, state.requests, entry, state.failures)
        if request.path != "/v1/chat/completions":
            status, headers, payload = 404, {}, {"error": {"message": "not found"}}
        elif request.headers.get("authorization") != f"Bearer {API_KEY}":
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
        return Response(
            status,
            [
                *headers.items(),
                ("content-type", "application/json"),
                ("content-length", str(len(data))),
            ],
            data,
        )

    with serve_http(respond) as port:
        state.port = port
        yield state


def facts_in(messages: list[dict[str, str]]) -> dict[str, str]:
    """The ``- name: value`` lines of the prompt's user message."""
    lines = messages[-1]["content"].splitlines()
    return dict(line[2:].split(": ", 1) for line in lines if line.startswith("- "))
