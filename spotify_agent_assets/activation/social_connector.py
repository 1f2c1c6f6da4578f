"""What every social platform connector shares: the row it yields, the interface, the HTTP
retry rules.

The rules are the Spotify client's (:mod:`spotify_agent_assets.spotify.retry`): a 429 waits
its Retry-After (a longer one than we sleep gives up), 5xx, timeouts and broken connections
back off exponentially with jitter, a bounded number of times. What remains is sorted in
three: one artist's answer that cannot be used is that artist's failure (the others go on);
a platform that stayed unreachable is transient (the step's RetryPolicy may cure it); an
answer that breaks the platform's documented contract, or a key the platform refuses, fails
once and is not retried.

API keys never travel in a URL (YouTube takes a header, Last.fm a form body), so no request
line, log or exception text can carry them; failures are reported by class and status.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol

import requests

from spotify_agent_assets.observability.http_trace import traced_session
from spotify_agent_assets.spotify.retry import (
    RETRYABLE_STATUSES,
    RetrySettings,
    retry_after_seconds,
)

# A social platform answering 429 for longer than this is left for the next run.
SOCIAL_RETRY = RetrySettings(
    max_attempts=4, base_delay_s=0.5, max_delay_s=10.0, max_retry_after_s=60.0
)


@dataclass(frozen=True)
class SocialMetric:
    """One artist's numbers on one platform; None where the platform does not report one."""

    artist_id: str
    platform: str
    source_id: str
    followers: int | None
    views: int | None
    listeners: int | None
    source: str


@dataclass(frozen=True)
class SocialFailure:
    """An artist (or import row) whose numbers could not be used, and why."""

    platform: str
    entity_id: str
    field: str
    reason: str


@dataclass
class ConnectorStats:
    requests_sent: int = 0
    retries: int = 0
    rate_limited: int = 0
    slept_s: float = 0.0


@dataclass
class ConnectorResult:
    platform: str
    metrics: list[SocialMetric] = field(default_factory=list)
    failures: list[SocialFailure] = field(default_factory=list)
    stats: ConnectorStats = field(default_factory=ConnectorStats)


@dataclass(frozen=True)
class ArtistAccount:
    """One roster artist's accounts (from the social accounts YAML)."""

    artist_id: str
    youtube_channel_id: str | None = None
    lastfm_name: str | None = None
    lastfm_mbid: str | None = None


class SocialConnector(Protocol):
    """A platform with a public API: today's numbers of the accounts it knows."""

    platform: str

    def fetch(self, accounts: Sequence[ArtistAccount]) -> ConnectorResult: ...


class SocialContractError(RuntimeError):
    """The platform's answer breaks its documented shape, or it refuses our key: not retried."""


class SocialUnavailableError(RuntimeError):
    """The platform stayed unreachable for every call: transient, a later retry may cure it."""


class RequestFailed(Exception):
    """One call failed for good after the retry rules (a 4xx, retries exhausted)."""

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


class RetryableAnswer(Exception):
    """A 200 answer that says "try again" (Last.fm's error 29 and its service errors)."""

    def __init__(self, reason: str, *, rate_limited: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.rate_limited = rate_limited


@dataclass
class JsonHttp:
    """JSON over HTTP with the retry rules; ``sleep`` and ``rng`` injectable for tests."""

    platform: str
    settings: RetrySettings = SOCIAL_RETRY
    stats: ConnectorStats = field(default_factory=ConnectorStats)
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    session: requests.Session = field(default_factory=traced_session)

    def call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        check: Callable[[Any], None] | None = None,
    ) -> Any:
        """The decoded JSON answer; ``check`` may raise ``RetryableAnswer`` for a 200 that
        asks to try again. Raises ``RequestFailed`` or ``SocialContractError``."""
        backoffs = 0
        last = "no attempt made"
        for attempt in range(1, self.settings.max_attempts + 1):
            self.stats.requests_sent += 1
            delay: float | None
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    data=data,
                    headers=headers,
                    timeout=self.settings.timeout_s,
                )
            except (
                requests.Timeout,
                requests.ConnectionError,
                requests.exceptions.ChunkedEncodingError,
            ) as error:
                # The class only: requests' text repeats the URL (and a proxy's credentials).
                last = type(error).__name__
                delay = self._backoff(backoffs)
                backoffs += 1
            else:
                status = response.status_code
                if status == 429:
                    self.stats.rate_limited += 1
                    last = "HTTP 429"
                    delay = retry_after_seconds(response.headers)
                    if delay is not None and delay > self.settings.max_retry_after_s:
                        raise RequestFailed(
                            f"rate limited: Retry-After {delay:.0f} s is over "
                            f"{self.settings.max_retry_after_s:.0f} s",
                            transient=True,
                        )
                    if delay is None:
                        delay = self._backoff(backoffs)
                        backoffs += 1
                elif status in RETRYABLE_STATUSES:
                    last = f"HTTP {status}"
                    delay = self._backoff(backoffs)
                    backoffs += 1
                else:
                    body = _json(response)
                    if status >= 400:
                        _raise_for_status(self.platform, status, body)
                    if body is None:
                        raise SocialContractError(
                            f"{self.platform}: HTTP {status} answer is not JSON"
                        )
                    try:
                        if check is not None:
                            check(body)
                        return body
                    except RetryableAnswer as answer:
                        last = answer.reason
                        if answer.rate_limited:
                            self.stats.rate_limited += 1
                        delay = self._backoff(backoffs)
                        backoffs += 1
            if attempt == self.settings.max_attempts:
                break
            self.stats.retries += 1
            self.stats.slept_s += delay
            self.sleep(delay)
        raise RequestFailed(
            f"gave up after {self.settings.max_attempts} attempts ({last})", transient=True
        )

    def _backoff(self, index: int) -> float:
        s = self.settings
        raw = min(s.max_delay_s, s.base_delay_s * 2**index)
        return max(0.0, min(s.max_delay_s, raw * (1 + self.rng.uniform(-s.jitter, s.jitter))))


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _raise_for_status(platform: str, status: int, body: Any) -> NoReturn:
    reason = _error_reason(body)
    if status in (400, 401, 403):
        # A refused key, an exhausted quota or a request we built wrong fails every artist
        # alike: one clear failure, not retried. The platform's reason code is kept (a short
        # identifier), its free text is not (it could quote what we sent).
        raise SocialContractError(f"{platform}: HTTP {status} ({reason or 'no reason given'})")
    raise RequestFailed(f"HTTP {status}{f' ({reason})' if reason else ''}", transient=False)


def _error_reason(body: Any) -> str | None:
    """YouTube's ``error.errors[0].reason`` or Last.fm's ``error`` number, if well formed."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, int) and not isinstance(error, bool):
        return f"error {error}"
    if isinstance(error, dict):
        errors = error.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            reason = errors[0].get("reason")
            if isinstance(reason, str) and reason.isalnum() and len(reason) < 64:
                return reason
    return None


def count(value: Any, where: str) -> int | None:
    """A count as the APIs send it (a decimal string, sometimes a number); None if absent."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{where}: expected a count, got {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        raise ValueError(f"{where}: expected a whole number (as a string), got {value!r}")
    if number < 0:
        raise ValueError(f"{where}: expected a count >= 0, got {number}")
    return number
