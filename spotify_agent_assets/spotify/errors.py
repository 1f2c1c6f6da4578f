"""Errors raised by the Spotify layer.

Every message names the endpoint or object involved and what went wrong. None of them ever
carries the client secret or an access token: callers log these messages and Dagster shows them
in the UI, so they are built only from endpoint labels, status codes and Spotify's error text.
"""

from __future__ import annotations


class SpotifyError(RuntimeError):
    """Base class of everything the Spotify layer raises on purpose."""


class SpotifyAuthError(SpotifyError):
    """The token endpoint refused us, or the API kept rejecting fresh tokens."""


class SpotifyApiError(SpotifyError):
    """The API answered with a status that retrying cannot fix (a 4xx other than 401/429)."""

    def __init__(self, endpoint: str, status: int, message: str | None) -> None:
        self.endpoint = endpoint
        self.status = status
        self.spotify_message = message
        detail = message or "no error message in the response"
        super().__init__(f"Spotify API call {endpoint!r} failed with HTTP {status}: {detail}")


class SpotifyRateLimitedError(SpotifyError):
    """Spotify asked us to wait longer than we are willing to sleep inside one run."""

    def __init__(self, endpoint: str, retry_after_s: float, max_retry_after_s: float) -> None:
        self.endpoint = endpoint
        self.retry_after_s = retry_after_s
        super().__init__(
            f"Spotify rate-limited {endpoint!r} and asked to wait {retry_after_s:g}s "
            f"(Retry-After), more than the configured maximum of {max_retry_after_s:g}s; "
            "failing fast instead of sleeping"
        )


class SpotifyRetriesExhaustedError(SpotifyError):
    """Every attempt at one call failed with a retryable error."""

    def __init__(self, endpoint: str, attempts: int, last_failure: str) -> None:
        self.endpoint = endpoint
        self.attempts = attempts
        self.last_failure = last_failure
        super().__init__(
            f"Spotify call {endpoint!r} failed after {attempts} attempts; "
            f"last failure: {last_failure}"
        )


class SpotifyPaginationError(SpotifyError):
    """A paging object pointed back at a page we already read (the loop would never end)."""


# The `field` of an error about a record as a whole: not an object, null in a batch, an error
# answer instead of the record.
WHOLE_RECORD = "(record)"


class SpotifyParseError(SpotifyError, ValueError):
    """A Spotify JSON object is unusable: not an object, no usable id, or a needed field of the
    wrong type (the rules are in `parsing`). `field` is the dotted path of the offending field,
    or `WHOLE_RECORD`."""

    def __init__(self, message: str, field: str = WHOLE_RECORD) -> None:
        super().__init__(message)
        self.field = field
