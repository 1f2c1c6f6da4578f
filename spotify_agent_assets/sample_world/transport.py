"""Serve the sample world to a `requests.Session` in-process, without sockets.

In local mode without Spotify credentials the production spotipy client runs unchanged: its
session gets this adapter mounted on `SAMPLE_WORLD_BASE_URL`, and its API prefix and token URL
point there. The answers are the very bytes the HTTP emulator would send.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Mapping
from datetime import timedelta
from http import HTTPStatus
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from spotify_agent_assets.sample_world.api import SampleWorldApi

SAMPLE_WORLD_BASE_URL = "https://sample-world.invalid/"
SAMPLE_WORLD_API_URL = f"{SAMPLE_WORLD_BASE_URL}v1/"
SAMPLE_WORLD_TOKEN_URL = f"{SAMPLE_WORLD_BASE_URL}api/token"


class SampleWorldAdapter(BaseAdapter):
    """A `requests` transport adapter answering from a `SampleWorldApi`."""

    def __init__(self, api: SampleWorldApi) -> None:
        super().__init__()
        self.api = api
        self._count_lock = threading.Lock()
        self.request_count = 0

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | None = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        with self._count_lock:
            self.request_count += 1
        body = request.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif body is not None and not isinstance(body, bytes):
            raise TypeError(
                f"SampleWorldAdapter needs a str or bytes request body, got {type(body).__name__}"
            )
        answer = self.api.handle(
            request.method or "GET", request.url or "", dict(request.headers), body
        )
        response = requests.Response()
        response.status_code = answer.status
        response.headers = CaseInsensitiveDict(answer.headers)
        response.headers["Content-Length"] = str(len(answer.body))
        response._content = answer.body
        response.raw = io.BytesIO(answer.body)
        response.encoding = get_encoding_from_headers(response.headers)
        response.url = request.url or ""
        response.request = request
        response.reason = HTTPStatus(answer.status).phrase
        response.elapsed = timedelta(0)
        response.connection = self
        return response

    def close(self) -> None:
        # Nothing to release: no sockets, no pools.
        pass


def mount_sample_world(
    session: requests.Session, api: SampleWorldApi, base_url: str = SAMPLE_WORLD_BASE_URL
) -> SampleWorldAdapter:
    """Route every request under `base_url` on `session` to `api`; returns the adapter."""
    adapter = SampleWorldAdapter(api)
    session.mount(base_url, adapter)
    return adapter
