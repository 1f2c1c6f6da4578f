"""A spotipy client for the signed-in user's playlists, authorised by a user refresh token.

Reading and writing a user's playlists needs a user token (authorization-code flow): the
refresh token a person granted once (scopes ``playlist-modify-private``/``-public`` and
``playlist-read-private``) is exchanged at the accounts URL for access tokens as they expire.
It is a secret like the client secret: kept private, redacted from any text we raise.

Retries follow ``spotify.retry``, except that a POST (create a playlist, add items) is not
repeated after an answer that leaves it unknown whether Spotify applied it (a 5xx, a timeout,
a dropped connection): repeating could create a second playlist or add the items twice. Such
a failure raises ``AmbiguousWriteError``; the write-back step is then retried whole, and it
plans again from what the playlist holds, which is idempotent. A 429 was not applied, so it is
waited out and retried here, as Retry-After asks.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import requests
import spotipy

from spotify_agent_assets.observability.http_trace import traced_session
from spotify_agent_assets.spotify.auth import ClientCredentialsAuth, json_or_none
from spotify_agent_assets.spotify.client import (
    install_spotipy_log_scrubber,
    spotify_message,
    spotipy_client,
)
from spotify_agent_assets.spotify.errors import SpotifyApiError, SpotifyAuthError, SpotifyError
from spotify_agent_assets.spotify.retry import ClientStats, HttpFailure, RetryLoop, RetrySettings

MAX_ITEMS_PER_CALL = 100
LIST_LIMIT = 50
DEFAULT_RETRY = RetrySettings()


class AmbiguousWriteError(SpotifyError):
    """A POST failed in a way that leaves unknown whether Spotify applied it."""


class RefreshTokenAuth(ClientCredentialsAuth):
    """User access tokens from a refresh token (``grant_type=refresh_token``)."""

    def __init__(self, refresh_token: str, *args: Any, **kwargs: Any) -> None:
        if not refresh_token:
            raise SpotifyAuthError("a user refresh token must be set (SPOTIFY_REFRESH_TOKEN)")
        self._refresh_token = refresh_token
        super().__init__(*args, **kwargs)

    def __repr__(self) -> str:
        return (
            f"RefreshTokenAuth(client_id={self.client_id!r}, client_secret='<redacted>', "
            f"refresh_token='<redacted>', token_url={self.token_url!r})"
        )

    __str__ = __repr__

    def _request_token(self) -> dict[str, Any]:
        response = self._session.post(
            self.token_url,
            data={"grant_type": "refresh_token", "refresh_token": self._refresh_token},
            auth=(self.client_id, self._client_secret),
            timeout=self._timeout,
        )
        body = json_or_none(response)
        if response.status_code == 429 or response.status_code >= 500:
            raise HttpFailure(response.status_code, response.headers, self._redact(response.text))
        if response.status_code != 200 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            raise SpotifyAuthError(
                f"token endpoint {self.token_url} refused the user refresh token "
                f"(HTTP {response.status_code}, {error or 'no error code'}); check "
                "SPOTIFY_REFRESH_TOKEN and the client credentials"
            )
        return body

    def _redact(self, text: str) -> str:
        return super()._redact(text).replace(self._refresh_token, "<redacted>")


class SpotifyPlaylistClient:
    """The calls write-back makes, each counted in ``stats.by_endpoint``."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        api_base_url: str,
        accounts_url: str,
        retry: RetrySettings = DEFAULT_RETRY,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        install_spotipy_log_scrubber()
        self._session = session if session is not None else traced_session()
        self._stats = ClientStats()
        self._loop = RetryLoop(retry, self._stats, sleep=sleep, rng=rng)
        self._auth = RefreshTokenAuth(
            refresh_token,
            client_id,
            client_secret,
            accounts_url,
            self._session,
            retry.timeout_s,
            retry_loop=self._loop,
        )
        self._spotify = spotipy_client(self._auth, self._session, retry, api_base_url)

    def __repr__(self) -> str:
        return f"SpotifyPlaylistClient(prefix={self._spotify.prefix!r}, auth={self._auth!r})"

    @property
    def stats(self) -> ClientStats:
        return self._stats.snapshot()

    def my_playlists(self) -> list[dict[str, Any]]:
        """Every playlist in the user's library (all pages)."""
        page = self._call("me_playlists", lambda: self._spotify.current_user_playlists(LIST_LIMIT))
        found = list(page.get("items") or [])
        while page.get("next"):
            url = page["next"]
            page = self._call("me_playlists", lambda u=url: self._spotify.next({"next": u}))
            found.extend(page.get("items") or [])
        return [p for p in found if isinstance(p, dict)]

    def playlist_state(self, playlist_id: str) -> dict[str, Any] | None:
        """id, name and snapshot_id of a playlist; None when Spotify has no such playlist."""
        try:
            return self._call(
                "playlist",
                lambda: self._spotify.playlist(playlist_id, fields="id,name,snapshot_id"),
            )
        except SpotifyApiError as error:
            if error.status == 404:
                return None
            raise

    def playlist_track_ids(self, playlist_id: str) -> list[str | None]:
        """The ids of every item in order (None for a local file or an episode's gone id)."""
        page = self._call(
            "playlist_items",
            lambda: self._spotify.playlist_items(
                playlist_id, fields="items(track(id,type)),next", limit=MAX_ITEMS_PER_CALL
            ),
        )
        items = list(page.get("items") or [])
        while page.get("next"):
            url = page["next"]
            page = self._call("playlist_items", lambda u=url: self._spotify.next({"next": u}))
            items.extend(page.get("items") or [])
        ids: list[str | None] = []
        for item in items:
            track = item.get("track") if isinstance(item, dict) else None
            ids.append(track.get("id") if isinstance(track, dict) else None)
        return ids

    def create_playlist(self, name: str, description: str, public: bool) -> dict[str, Any]:
        return self._call(
            "create_playlist",
            lambda: self._spotify.current_user_playlist_create(
                name, public=public, description=description
            ),
            applied_on_failure=True,
        )

    def replace_items(self, playlist_id: str, uris: Sequence[str]) -> str:
        _check_batch(uris)
        answer = self._call(
            "replace_items", lambda: self._spotify.playlist_replace_items(playlist_id, list(uris))
        )
        return _snapshot(answer, "replace_items")

    def add_items(self, playlist_id: str, uris: Sequence[str], position: int) -> str:
        _check_batch(uris)
        answer = self._call(
            "add_items",
            lambda: self._spotify.playlist_add_items(playlist_id, list(uris), position=position),
            applied_on_failure=True,
        )
        return _snapshot(answer, "add_items")

    def _call(
        self, endpoint: str, request: Callable[[], Any], *, applied_on_failure: bool = False
    ) -> dict[str, Any]:
        self._stats.by_endpoint[endpoint] = self._stats.by_endpoint.get(endpoint, 0) + 1

        def attempt() -> Any:
            try:
                return request()
            except spotipy.SpotifyException as error:
                if applied_on_failure and error.http_status >= 500:
                    raise AmbiguousWriteError(
                        f"Spotify {endpoint} answered HTTP {error.http_status}; it may have been "
                        "applied, so it is not repeated here (the step re-plans on retry)"
                    ) from None
                raise HttpFailure(
                    error.http_status, error.headers, spotify_message(error)
                ) from None
            except (requests.Timeout, requests.ConnectionError) as error:
                if applied_on_failure:
                    raise AmbiguousWriteError(
                        f"Spotify {endpoint} got no answer ({type(error).__name__}); it may have "
                        "been applied, so it is not repeated here (the step re-plans on retry)"
                    ) from None
                raise

        result = self._loop.run(
            endpoint, attempt, on_attempt=self._count, reauthenticate=self._auth.invalidate
        )
        if not isinstance(result, dict):
            raise SpotifyApiError(endpoint, 200, f"answered {type(result).__name__}, not an object")
        return result

    def _count(self) -> None:
        self._stats.requests_sent += 1


def _check_batch(uris: Sequence[str]) -> None:
    if len(uris) > MAX_ITEMS_PER_CALL:
        raise ValueError(
            f"{len(uris)} URIs in one call; Spotify takes at most {MAX_ITEMS_PER_CALL}"
        )


def _snapshot(answer: dict[str, Any], endpoint: str) -> str:
    snapshot = answer.get("snapshot_id")
    if not isinstance(snapshot, str) or not snapshot:
        raise SpotifyApiError(endpoint, 200, "answered without a snapshot_id")
    return snapshot
