"""Local emulators of the two documented social APIs, for the social_media_metrics tests.

``YouTubeEmulator`` answers ``GET /youtube/v3/channels`` as the Data API v3 does (counts as
strings, ``items`` left out when nothing matched, ``subscriberCount`` left out when hidden;
the key in ``X-Goog-Api-Key``); ``LastfmEmulator`` answers ``POST /2.0/`` ``artist.getinfo``
(``stats`` as strings, ``{"error": N, "message"}`` on failure). ``script`` queues answers
served before the normal ones (429 with Retry-After, 500, error 29 ...); every request is kept
for the tests to inspect.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from spotify_agent_assets_tests.http_receiver import Request, Response, record_and_take, serve_http

YOUTUBE_KEY = "yt-key-SECRET-0123456789"
LASTFM_KEY = "lastfm-key-SECRET-9876543210"


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: str


class _Emulator:
    def __init__(self) -> None:
        self.script: list[Answer] = []
        self.requests: list[Seen] = []
        self.lock = threading.Lock()
        self.url = ""

    def answer(self, seen: Seen) -> Answer:
        raise NotImplementedError

    def handle(self, seen: Seen) -> Answer:
        scripted = record_and_take(self.lock, self.requests, seen, self.script)
        return scripted if scripted is not None else self.answer(seen)


class YouTubeEmulator(_Emulator):
    def __init__(self, channels: dict[str, dict[str, Any]]) -> None:
        super().__init__()
        self.channels = channels  # id -> statistics (as the API has them)

    def answer(self, seen: Seen) -> Answer:
        url = urllib.parse.urlsplit(seen.path)
        if url.path != "/youtube/v3/channels":
            return Answer(404, {"error": {"code": 404, "errors": [{"reason": "notFound"}]}})
        if seen.headers.get("x-goog-api-key") != YOUTUBE_KEY:
            return Answer(
                400,
                {
                    "error": {
                        "code": 400,
                        "message": "API key not valid. Please pass a valid API key.",
                        "errors": [{"reason": "keyInvalid"}],
                    }
                },
            )
        query = urllib.parse.parse_qs(url.query)
        ids = query["id"][0].split(",")
        if len(ids) > 50:
            return Answer(400, {"error": {"code": 400, "errors": [{"reason": "invalidFilters"}]}})
        body: dict[str, Any] = {
            "kind": "youtube#channelListResponse",
            "pageInfo": {"totalResults": 0, "resultsPerPage": 5},
        }
        items = [
            {
                "kind": "youtube#channel",
                "id": i,
                "snippet": {"title": f"channel {i}"},
                **({"statistics": self.channels[i]} if self.channels[i] is not None else {}),
            }
            for i in ids
            if i in self.channels
        ]
        if items:  # the API leaves 'items' out when no id matched
            body["items"] = items
            body["pageInfo"]["totalResults"] = len(items)
        return Answer(200, body)


class LastfmEmulator(_Emulator):
    def __init__(self, artists: dict[str, dict[str, Any]]) -> None:
        super().__init__()
        self.artists = artists  # name or mbid -> artist object

    def answer(self, seen: Seen) -> Answer:
        form = {k: v[0] for k, v in urllib.parse.parse_qs(seen.body).items()}
        if form.get("api_key") != LASTFM_KEY:
            return Answer(
                200,
                {
                    "error": 10,
                    "message": "Invalid API key - You must be granted a valid key by last.fm",
                },
            )
        if form.get("method") != "artist.getinfo" or form.get("format") != "json":
            return Answer(200, {"error": 3, "message": "Invalid Method"})
        artist = self.artists.get(form.get("mbid") or form.get("artist") or "")
        if artist is None:
            return Answer(
                200,
                {"error": 6, "message": "The artist you supplied could not be found", "links": []},
            )
        return Answer(200, {"artist": artist})


@contextmanager
def serve(emulator: _Emulator, prefix: str) -> Iterator[_Emulator]:
    def respond(request: Request) -> Response:
        seen = Seen(
            request.method,
            request.path,
            {k.lower(): v for k, v in request.headers.items()},
            request.body.decode(),
        )
        answer = emulator.handle(seen)
        payload = (
            answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
        ).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        return Response(answer.status, [*headers, *answer.headers.items()], payload)

    with serve_http(respond, methods=("GET", "POST")) as port:
        emulator.url = f"http://127.0.0.1:{port}{prefix}"
        yield emulator


def lastfm_artist(name: str, listeners: str, playcount: str, mbid: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "mbid": mbid,
        "url": f"https://example.invalid/{name}",
        "stats": {"listeners": listeners, "playcount": playcount},
    }
