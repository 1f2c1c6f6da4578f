"""Client-credentials access tokens for the Spotify Web API.

We do not use spotipy's `SpotifyClientCredentials`: its oauth2 module logs the Basic auth header
(base64 of `id:secret`) at DEBUG level and hard-codes the token URL, which rules out both secret
hygiene and pointing the code at the local emulator. This provider implements the part of
spotipy's auth-manager protocol that `spotipy.Spotify` uses (`get_access_token`).
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, overload

import requests

from spotify_agent_assets.spotify.errors import SpotifyAuthError
from spotify_agent_assets.spotify.retry import (
    ClientStats,
    HttpFailure,
    RetryLoop,
    RetrySettings,
)

# Refresh this long before Spotify's expiry so a token never dies between our check and its use.
REFRESH_MARGIN_S = 60.0
DEFAULT_EXPIRES_IN_S = 3600.0


class ClientCredentialsAuth:
    """Fetches and caches an app access token with the OAuth client-credentials grant.

    The secret is kept in a private attribute and never appears in logs, errors, `repr` or `str`.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        token_url: str,
        session: requests.Session,
        timeout: float,
        *,
        retry_loop: RetryLoop | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not client_id or not client_secret:
            raise SpotifyAuthError(
                "Spotify client id and client secret must both be set "
                "(SPOTIFY_CLIENT_ID / SPOTIFY_CLIENT_SECRET)"
            )
        self.client_id = client_id
        self._client_secret = client_secret
        self.token_url = token_url
        self._session = session
        self._timeout = timeout
        self._retry_loop = retry_loop or RetryLoop(RetrySettings(), ClientStats())
        self._clock = clock
        self._lock = threading.Lock()
        self._access_token: str | None = None
        self._refresh_at = 0.0
        self._expires_at = 0.0

    def __repr__(self) -> str:
        return (
            f"ClientCredentialsAuth(client_id={self.client_id!r}, "
            f"client_secret='<redacted>', token_url={self.token_url!r})"
        )

    __str__ = __repr__

    @overload
    def get_access_token(self, as_dict: Literal[False] = False) -> str: ...

    @overload
    def get_access_token(self, as_dict: Literal[True]) -> dict[str, Any]: ...

    def get_access_token(self, as_dict: bool = False) -> str | dict[str, Any]:
        """A valid access token; the token endpoint is called only when the cached one is stale."""
        with self._lock:
            if self._access_token is None or self._clock() >= self._refresh_at:
                self._fetch_token()
            token = self._access_token
            assert token is not None  # noqa: S101 -- type narrowing: _fetch_token sets it or raises
            if as_dict:
                remaining = max(0.0, self._expires_at - self._clock())
                return {
                    "access_token": token,
                    "token_type": "Bearer",
                    "expires_in": int(remaining),
                    "expires_at": int(time.time() + remaining),
                }
            return token

    def invalidate(self) -> None:
        """Forget the cached token; the next `get_access_token` fetches a new one."""
        with self._lock:
            self._access_token = None
            self._refresh_at = 0.0

    def _fetch_token(self) -> None:
        stats = self._retry_loop.stats
        payload = self._retry_loop.run(
            "token",
            self._request_token,
            on_attempt=lambda: setattr(stats, "token_requests", stats.token_requests + 1),
        )
        token = payload.get("access_token")
        if not isinstance(token, str) or not token:
            raise SpotifyAuthError(
                f"token endpoint {self.token_url} answered without an access_token"
            )
        expires_in = payload.get("expires_in")
        lifetime = (
            float(expires_in)
            if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool)
            else DEFAULT_EXPIRES_IN_S
        )
        now = self._clock()
        self._access_token = token
        self._expires_at = now + lifetime
        # Short-lived tokens (tests, emulators) refresh at half-life rather than never.
        self._refresh_at = now + max(0.0, lifetime - min(REFRESH_MARGIN_S, lifetime / 2))

    def _request_token(self) -> dict[str, Any]:
        response = self._session.post(
            self.token_url,
            data={"grant_type": "client_credentials"},
            auth=(self.client_id, self._client_secret),
            timeout=self._timeout,
        )
        body = json_or_none(response)
        if response.status_code == 429 or response.status_code >= 500:
            raise HttpFailure(response.status_code, response.headers, self._redact(response.text))
        if response.status_code != 200:
            error = body.get("error") if isinstance(body, dict) else None
            if error == "invalid_client":
                raise SpotifyAuthError(
                    f"Spotify rejected the client credentials (invalid_client) at {self.token_url}"
                )
            description = body.get("error_description") if isinstance(body, dict) else None
            detail = self._redact(str(description or error or response.text or "no body"))
            raise SpotifyAuthError(
                f"token endpoint {self.token_url} answered HTTP {response.status_code}: {detail}"
            )
        if not isinstance(body, dict):
            raise SpotifyAuthError(f"token endpoint {self.token_url} answered with non-JSON body")
        return body

    def _redact(self, text: str) -> str:
        # Belt and braces: a misbehaving proxy could echo the credentials back at us.
        basic = base64.b64encode(f"{self.client_id}:{self._client_secret}".encode()).decode()
        return text.replace(self._client_secret, "<redacted>").replace(basic, "<redacted>")


def json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
