"""Typed, retrying read client for the Spotify catalogue, built on spotipy.

spotipy builds the requests (URLs, id handling, query parameters); this class owns everything
around them: batching, pagination, retries, re-authentication and counters. spotipy is given a
plain `requests.Session`, so it mounts no urllib3 `Retry` adapter and every retry decision is
made by `RetryLoop` (see retry.py for why). spotipy raises `SpotifyException` (with
`http_status` and response `headers`) for HTTP errors and lets `requests.Timeout` /
`requests.ConnectionError` propagate, which is what the loop expects.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import requests
import spotipy

from spotify_agent_assets.observability.http_trace import traced_session
from spotify_agent_assets.spotify.auth import ClientCredentialsAuth
from spotify_agent_assets.spotify.errors import SpotifyPaginationError, SpotifyParseError
from spotify_agent_assets.spotify.ids import normalize_spotify_id
from spotify_agent_assets.spotify.parsing import parse_paging, unwrap_batch
from spotify_agent_assets.spotify.retry import ClientStats, HttpFailure, RetryLoop, RetrySettings

__all__ = [
    "ALBUM_BATCH_SIZE",
    "ARTIST_BATCH_SIZE",
    "DEFAULT_ACCOUNTS_URL",
    "DEFAULT_API_BASE_URL",
    "PLAYLIST_META_FIELDS",
    "TRACK_BATCH_SIZE",
    "ClientStats",
    "RetrySettings",
    "SpotifyCatalogClient",
]

DEFAULT_API_BASE_URL = "https://api.spotify.com/v1/"
DEFAULT_ACCOUNTS_URL = "https://accounts.spotify.com/api/token"
# Spotify's documented maxima for the batch endpoints.
ARTIST_BATCH_SIZE = 50
TRACK_BATCH_SIZE = 50
ALBUM_BATCH_SIZE = 20
PAGE_LIMIT = 50
PLAYLIST_PAGE_LIMIT = 100
# Playlist metadata without the (possibly huge) first page of items. Both `tracks(total)` and
# `items(total)` are asked for because Spotify renamed the field in 2025.
PLAYLIST_META_FIELDS = (
    "id,name,description,public,collaborative,snapshot_id,uri,href,"
    "owner(id,display_name),followers(total),images,external_urls,tracks(total),items(total)"
)
DEFAULT_RETRY = RetrySettings()
DEFAULT_INCLUDE_GROUPS: tuple[str, ...] = ("album", "single", "compilation", "appears_on")

_BEARER = re.compile(r"Bearer [^'\"\s,}]+")


class _SpotipyLogScrubber(logging.Filter):
    """Keeps access tokens out of spotipy's DEBUG logs and demotes its per-attempt ERRORs.

    spotipy logs every request's headers (the bearer token) at DEBUG and every non-2xx answer at
    ERROR, including the 429s and 503s our retry loop handles; the loop reports real failures.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "Bearer " in message:
            record.msg = _BEARER.sub("Bearer <redacted>", message)
            record.args = None
        if record.levelno == logging.ERROR and message.startswith("HTTP Error for"):
            record.levelno = logging.DEBUG
            record.levelname = logging.getLevelName(logging.DEBUG)
        return True


def spotipy_client(
    auth: Any, session: requests.Session, retry: RetrySettings, api_base_url: str
) -> spotipy.Spotify:
    """A spotipy client on our session and auth, at ``api_base_url``, with spotipy's own retries
    off: every retry goes through our RetryLoop, which honours Retry-After."""
    client = spotipy.Spotify(
        auth_manager=auth,
        requests_session=session,
        requests_timeout=retry.timeout_s,
        retries=0,
        status_retries=0,
    )
    # spotipy 2.26 hard-codes the prefix in __init__; it is a plain attribute afterwards.
    client.prefix = api_base_url if api_base_url.endswith("/") else api_base_url + "/"
    return client


def install_spotipy_log_scrubber() -> None:
    spotipy_logger = logging.getLogger("spotipy.client")
    if not any(isinstance(f, _SpotipyLogScrubber) for f in spotipy_logger.filters):
        spotipy_logger.addFilter(_SpotipyLogScrubber())


class SpotifyCatalogClient:
    """Read-only Spotify Web API client for catalogue data (client-credentials auth)."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        api_base_url: str = DEFAULT_API_BASE_URL,
        accounts_url: str = DEFAULT_ACCOUNTS_URL,
        market: str | None = None,
        retry: RetrySettings = DEFAULT_RETRY,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        install_spotipy_log_scrubber()
        self.api_base_url = api_base_url if api_base_url.endswith("/") else api_base_url + "/"
        self.accounts_url = accounts_url
        self.market = market
        self.retry = retry
        self._owns_session = session is None
        self._session = session if session is not None else traced_session()
        self._stats = ClientStats()
        self._loop = RetryLoop(retry, self._stats, sleep=sleep, rng=rng)
        self._auth = ClientCredentialsAuth(
            client_id,
            client_secret,
            accounts_url,
            self._session,
            retry.timeout_s,
            retry_loop=self._loop,
        )
        self._spotify = spotipy_client(self._auth, self._session, retry, self.api_base_url)

    def __repr__(self) -> str:
        return (
            f"SpotifyCatalogClient(api_base_url={self.api_base_url!r}, "
            f"accounts_url={self.accounts_url!r}, market={self.market!r}, auth={self._auth!r})"
        )

    def __enter__(self) -> SpotifyCatalogClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session if this client created it."""
        if self._owns_session:
            self._session.close()

    @property
    def stats(self) -> ClientStats:
        """A snapshot of the request counters so far."""
        return self._stats.snapshot()

    def get_artists(self, ids: Sequence[str]) -> list[Any]:
        """Full artist objects for `ids` (deduplicated, order kept); None where Spotify has none.

        A slot holds whatever Spotify sent there; the sync checks that it is an object.
        """
        return self._get_batched(
            ids, "artist", "artists", ARTIST_BATCH_SIZE, self._spotify.artists, market=False
        )

    def get_tracks(self, ids: Sequence[str]) -> list[Any]:
        """Full track objects for `ids` (deduplicated, order kept); None where Spotify has none."""
        return self._get_batched(ids, "track", "tracks", TRACK_BATCH_SIZE, self._spotify.tracks)

    def get_albums(self, ids: Sequence[str]) -> list[Any]:
        """Full album objects for `ids` (deduplicated, order kept); None where Spotify has none."""
        return self._get_batched(ids, "album", "albums", ALBUM_BATCH_SIZE, self._spotify.albums)

    def get_artist_albums(
        self, artist_id: str, include_groups: Sequence[str] = DEFAULT_INCLUDE_GROUPS
    ) -> list[dict[str, Any]]:
        """Every simplified album of an artist in the given groups, all pages."""
        artist = normalize_spotify_id(artist_id, "artist")
        groups = ",".join(include_groups)
        first = self._call(
            "artist_albums",
            lambda: self._spotify.artist_albums(artist, include_groups=groups, limit=PAGE_LIMIT),
        )
        return self._collect_pages("artist_albums", first)

    def get_album_tracks(self, album_id: str) -> list[dict[str, Any]]:
        """Every simplified track of an album, all pages."""
        album = normalize_spotify_id(album_id, "album")
        first = self._call(
            "album_tracks",
            lambda: self._spotify.album_tracks(album, limit=PAGE_LIMIT, market=self.market),
        )
        return self._collect_pages("album_tracks", first)

    def get_album_tracks_from(self, album: dict[str, Any]) -> list[dict[str, Any]]:
        """Every track of a full album object, fetching only the pages not embedded in it.

        A full album carries its first page of tracks, so albums with up to 50 tracks cost
        no extra request.
        """
        embedded = album.get("tracks") if isinstance(album, dict) else None
        if not isinstance(embedded, dict):
            album_id = album.get("id") if isinstance(album, dict) else None
            if not isinstance(album_id, str):
                raise SpotifyParseError(
                    "album object has neither an embedded `tracks` page nor an `id` to fetch one"
                )
            return self.get_album_tracks(album_id)
        return self._collect_pages("album_tracks", embedded)

    def get_playlist(
        self, playlist_id: str, fields: str | None = PLAYLIST_META_FIELDS
    ) -> dict[str, Any]:
        """Playlist metadata (incl. snapshot_id); without items unless `fields` asks for them."""
        playlist = normalize_spotify_id(playlist_id, "playlist")
        return self._call(
            "playlist",
            lambda: self._spotify.playlist(
                playlist,
                fields=fields,
                market=self.market,
                additional_types=("track", "episode"),
            ),
        )

    def get_playlist_items(self, playlist_id: str) -> list[dict[str, Any]]:
        """Every item (tracks and episodes) of a playlist, all pages, in playlist order."""
        playlist = normalize_spotify_id(playlist_id, "playlist")
        first = self._call(
            "playlist_items",
            lambda: self._spotify.playlist_items(
                playlist,
                limit=PLAYLIST_PAGE_LIMIT,
                market=self.market,
                additional_types=("track", "episode"),
            ),
        )
        return self._collect_pages("playlist_items", first)

    def search(
        self, query: str, types: Sequence[str] = ("artist",), limit: int = 20
    ) -> dict[str, Any]:
        """Raw search response: one paging object per requested type."""
        if not query.strip():
            raise ValueError("search query must not be empty")
        if limit < 1:
            raise ValueError(f"search limit must be >= 1, got {limit}")
        return self._call(
            "search",
            lambda: self._spotify.search(
                q=query, limit=limit, type=",".join(types), market=self.market
            ),
        )

    def _get_batched(
        self,
        ids: Sequence[str],
        kind: str,
        endpoint: str,
        batch_size: int,
        fetch: Callable[..., Any],
        *,
        market: bool = True,
    ) -> list[Any]:
        if isinstance(ids, str):
            raise TypeError(f"{endpoint}: expected a sequence of ids, got a single string")
        unique = list(dict.fromkeys(normalize_spotify_id(value, kind) for value in ids))
        results: list[Any] = []
        for batch in _chunks(unique, batch_size):
            if market:
                payload = self._call(endpoint, lambda b=batch: fetch(b, market=self.market))
            else:
                payload = self._call(endpoint, lambda b=batch: fetch(b))
            objects = unwrap_batch(payload, endpoint)
            if len(objects) != len(batch):
                raise SpotifyParseError(
                    f"{endpoint} batch response has {len(objects)} objects for "
                    f"{len(batch)} requested ids; expected one (or null) per id"
                )
            results.extend(objects)
        return results

    def _collect_pages(self, endpoint: str, first_page: dict[str, Any]) -> list[dict[str, Any]]:
        items, next_url, _total = parse_paging(first_page)
        collected: list[dict[str, Any]] = list(items)
        seen: set[str] = set()
        while next_url:
            if next_url in seen:
                raise SpotifyPaginationError(
                    f"{endpoint}: page {next_url} was already read; the paging `next` links "
                    "form a loop"
                )
            seen.add(next_url)
            page = self._call(endpoint, lambda url=next_url: self._spotify.next({"next": url}))
            items, next_url, _total = parse_paging(page)
            collected.extend(items)
        return collected

    def _call(self, endpoint: str, request: Callable[[], Any]) -> dict[str, Any]:
        """One logical call (a page or a batch) through the retry loop."""
        self._stats.by_endpoint[endpoint] = self._stats.by_endpoint.get(endpoint, 0) + 1

        def attempt() -> Any:
            try:
                return request()
            except spotipy.SpotifyException as error:
                raise HttpFailure(
                    error.http_status, error.headers, spotify_message(error)
                ) from None

        result = self._loop.run(
            endpoint,
            attempt,
            on_attempt=self._count_request,
            reauthenticate=self._auth.invalidate,
        )
        if not isinstance(result, dict):
            raise SpotifyParseError(
                f"Spotify {endpoint} answered with {type(result).__name__} instead of a JSON object"
            )
        return result

    def _count_request(self) -> None:
        self._stats.requests_sent += 1


def _chunks(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def spotify_message(error: spotipy.SpotifyException) -> str | None:
    # spotipy formats msg as "<url>:\n <Spotify's error message>"; keep only Spotify's part.
    message = str(error.msg or "")
    _url, separator, tail = message.partition(":\n ")
    text = (tail if separator else message).strip()
    return None if text in ("", "None") else text
