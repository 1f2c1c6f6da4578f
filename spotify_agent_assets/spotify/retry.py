"""One retry loop for every HTTP call to Spotify: the Web API and the token endpoint.

spotipy's own retrying (a urllib3 `Retry` adapter) is disabled on purpose: it ignores
`Retry-After: 0`, sleeps for any Retry-After however long, and cannot re-authenticate after a 401.
Keeping the rules here means the API client and the token provider behave identically and the
tests can record every wait through the injected `sleep`.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TypeVar

import requests

from spotify_agent_assets.spotify.errors import (
    SpotifyApiError,
    SpotifyAuthError,
    SpotifyRateLimitedError,
    SpotifyRetriesExhaustedError,
)

T = TypeVar("T")

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES: frozenset[int] = frozenset({500, 502, 503, 504})
# A fresh token that is still rejected twice means the credentials or scopes are wrong.
MAX_CONSECUTIVE_UNAUTHORIZED = 2
# What a whole-step retry minutes later may cure: Spotify or the network was down for longer
# than this loop tried, or asked us to wait longer than we sleep. The loop turns the requests
# errors into SpotifyRetriesExhaustedError; they are listed for calls made outside it.
TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    SpotifyRetriesExhaustedError,
    SpotifyRateLimitedError,
    requests.Timeout,
    requests.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    ConnectionError,
    TimeoutError,
)


@dataclass(frozen=True)
class RetrySettings:
    """How hard to try before giving up on one Spotify call."""

    max_attempts: int = 6
    """Total attempts per request, the first one included."""
    base_delay_s: float = 0.5
    """Exponential backoff base for 5xx, timeouts, connection errors, 429 without Retry-After."""
    max_delay_s: float = 30.0
    """Cap for one backoff sleep (after jitter)."""
    jitter: float = 0.25
    """Backoff sleeps vary by +/- this fraction so parallel runs do not retry in lockstep."""
    timeout_s: float = 10.0
    """Per-request timeout (connect and read)."""
    max_retry_after_s: float = 300.0
    """A longer Retry-After fails fast instead of holding a run slot asleep for hours."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {self.jitter}")
        if self.base_delay_s < 0 or self.max_delay_s < 0 or self.timeout_s <= 0:
            raise ValueError(
                "base_delay_s and max_delay_s must be >= 0 and timeout_s > 0, got "
                f"{self.base_delay_s}, {self.max_delay_s}, {self.timeout_s}"
            )


@dataclass
class ClientStats:
    """Counters for one client; assets put them in materialization metadata."""

    requests_sent: int = 0
    """Every HTTP request to the API, retries included (token requests are counted apart)."""
    token_requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    slept_s: float = 0.0
    by_endpoint: dict[str, int] = field(default_factory=dict)
    """Logical calls (one per page or batch, not per attempt) by endpoint label."""

    def snapshot(self) -> ClientStats:
        """An independent copy, so callers cannot disturb the live counters."""
        return replace(self, by_endpoint=dict(self.by_endpoint))


class HttpFailure(Exception):
    """A non-success HTTP answer, normalised from spotipy's or requests' representation."""

    def __init__(self, status: int, headers: Mapping[str, str] | None, message: str | None) -> None:
        self.status = status
        self.headers: Mapping[str, str] = headers or {}
        self.message = message
        super().__init__(f"HTTP {status}: {message or 'no error message'}")


class RetryLoop:
    """Runs one call with Spotify's retry rules; shared by the client and its token provider."""

    def __init__(
        self,
        settings: RetrySettings,
        stats: ClientStats,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.stats = stats
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()  # noqa: S311 -- backoff jitter, not security

    def run(
        self,
        endpoint: str,
        attempt: Callable[[], T],
        *,
        on_attempt: Callable[[], None],
        reauthenticate: Callable[[], None] | None = None,
    ) -> T:
        """Call `attempt` until it succeeds, a failure is final, or attempts run out.

        `attempt` signals HTTP errors by raising `HttpFailure`; `requests.Timeout` and
        `requests.ConnectionError` (and broken chunked bodies) are retried too. Anything else
        propagates untouched.
        `reauthenticate` is called on a 401; without it a 401 is a final `SpotifyAuthError`.
        """
        settings = self.settings
        backoffs = 0
        unauthorized_in_row = 0
        last_failure = "no attempt made"
        for attempt_number in range(1, settings.max_attempts + 1):
            on_attempt()
            try:
                return attempt()
            except HttpFailure as failure:
                last_failure = str(failure)
                if failure.status == 401:
                    unauthorized_in_row += 1
                    if reauthenticate is None or unauthorized_in_row > MAX_CONSECUTIVE_UNAUTHORIZED:
                        raise SpotifyAuthError(
                            f"Spotify rejected the access token for {endpoint!r} "
                            f"{unauthorized_in_row} times in a row ({last_failure}); "
                            "check the client credentials"
                        ) from None
                    reauthenticate()
                    delay = None
                elif failure.status == 429:
                    unauthorized_in_row = 0
                    self.stats.rate_limited += 1
                    delay = retry_after_seconds(failure.headers)
                    if delay is not None and delay > settings.max_retry_after_s:
                        raise SpotifyRateLimitedError(
                            endpoint, delay, settings.max_retry_after_s
                        ) from None
                    if delay is None:
                        delay = self.backoff_delay(backoffs)
                        backoffs += 1
                elif failure.status in RETRYABLE_STATUSES:
                    unauthorized_in_row = 0
                    delay = self.backoff_delay(backoffs)
                    backoffs += 1
                else:
                    raise SpotifyApiError(endpoint, failure.status, failure.message) from None
            # ChunkedEncodingError: the connection broke mid-body, as transient as a reset.
            except (
                requests.Timeout,
                requests.ConnectionError,
                requests.exceptions.ChunkedEncodingError,
            ) as error:
                unauthorized_in_row = 0
                last_failure = f"{type(error).__name__}: {error}"
                delay = self.backoff_delay(backoffs)
                backoffs += 1
            if attempt_number == settings.max_attempts:
                break
            self.stats.retries += 1
            logger.info(
                "Spotify %s attempt %d/%d failed (%s); retrying in %.2fs",
                endpoint,
                attempt_number,
                settings.max_attempts,
                last_failure,
                delay or 0.0,
            )
            if delay is not None:
                self.stats.slept_s += delay
                self._sleep(delay)
        raise SpotifyRetriesExhaustedError(endpoint, settings.max_attempts, last_failure)

    def backoff_delay(self, retry_index: int) -> float:
        """`min(max_delay, base * 2**n)` with +/- jitter, never above `max_delay_s`."""
        settings = self.settings
        raw = min(settings.max_delay_s, settings.base_delay_s * 2**retry_index)
        jittered = raw * (1 + self._rng.uniform(-settings.jitter, settings.jitter))
        return max(0.0, min(settings.max_delay_s, jittered))


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds requested by a Retry-After header (any case; seconds or HTTP date), else None."""
    value = next(
        (str(v).strip() for k, v in headers.items() if str(k).lower() == "retry-after"), None
    )
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)
