"""Last.fm ``artist.getInfo``: listeners and scrobbles of the roster's artists.

Documented shape: ``method=artist.getinfo`` with ``mbid`` or ``artist`` and ``format=json``
answers ``{"artist": {"name", "mbid", "stats": {"listeners", "playcount"}}}`` with the counts
as decimal strings, or ``{"error": N, "message": ...}``: 6 not found, 29 rate limit exceeded,
8/11/16 temporary failures, 10/26 invalid or suspended key. The request is a form POST (as
the API accepts for every method), so the key is in the body, never in the URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from spotify_agent_assets.activation.social_connector import (
    ArtistAccount,
    ConnectorResult,
    JsonHttp,
    RequestFailed,
    RetryableAnswer,
    SocialContractError,
    SocialFailure,
    SocialMetric,
    SocialUnavailableError,
    count,
)

LASTFM = "lastfm"
DEFAULT_LASTFM_API_URL = "https://ws.audioscrobbler.com/2.0/"
RATE_LIMITED = 29
TEMPORARY_ERRORS = frozenset({8, 11, 16})
KEY_ERRORS = frozenset({4, 9, 10, 14, 26})


@dataclass
class LastfmConnector:
    api_key: str
    base_url: str = DEFAULT_LASTFM_API_URL
    http: JsonHttp = field(default_factory=lambda: JsonHttp(LASTFM))
    platform: str = LASTFM

    def fetch(self, accounts: Sequence[ArtistAccount]) -> ConnectorResult:
        result = ConnectorResult(LASTFM, stats=self.http.stats)
        asked = answered = 0
        for account in accounts:
            if not (account.lastfm_mbid or account.lastfm_name):
                continue
            asked += 1
            form = {"method": "artist.getinfo", "format": "json", "api_key": self.api_key}
            if account.lastfm_mbid:
                form["mbid"] = account.lastfm_mbid
            else:
                form["artist"] = str(account.lastfm_name)
                form["autocorrect"] = "0"  # our mapping names the account; no guessing
            try:
                body = self.http.call("POST", self.base_url, data=form, check=_retry_on_error)
            except RequestFailed as failure:
                result.failures.append(
                    SocialFailure(LASTFM, account.artist_id, "(request)", failure.reason)
                )
                continue
            answered += 1
            try:
                result.metrics.append(_metric(account, body))
            except ValueError as error:
                field_name, _, reason = str(error).partition(": ")
                result.failures.append(SocialFailure(LASTFM, account.artist_id, field_name, reason))
        if asked and answered == 0 and result.failures:
            raise SocialUnavailableError(
                f"lastfm: no artist.getInfo call succeeded ({result.failures[0].reason})"
            )
        return result


def _error_code(body: Any) -> int | None:
    if isinstance(body, dict) and "error" in body:
        code = body["error"]
        if not isinstance(code, int) or isinstance(code, bool):
            raise SocialContractError(f"lastfm: 'error' must be a number, got {code!r}")
        return code
    return None


def _retry_on_error(body: Any) -> None:
    code = _error_code(body)
    if code == RATE_LIMITED:
        raise RetryableAnswer("error 29 (rate limit exceeded)", rate_limited=True)
    if code in TEMPORARY_ERRORS:
        raise RetryableAnswer(f"error {code} (temporary)", rate_limited=False)
    if code in KEY_ERRORS:
        raise SocialContractError(f"lastfm: error {code}: the API key was refused")


def _metric(account: ArtistAccount, body: Any) -> SocialMetric:
    code = _error_code(body)
    if code == 6:
        raise ValueError("artist: not found on Last.fm (error 6)")
    if code is not None:
        raise ValueError(f"(answer): Last.fm error {code}")
    if not isinstance(body, dict) or not isinstance(body.get("artist"), dict):
        raise SocialContractError("lastfm: artist.getInfo answer has no 'artist' object")
    artist = body["artist"]
    stats = artist.get("stats")
    if not isinstance(stats, dict):
        raise ValueError("artist.stats: missing")
    mbid = artist.get("mbid") or account.lastfm_mbid
    return SocialMetric(
        artist_id=account.artist_id,
        platform=LASTFM,
        # The MusicBrainz id when Last.fm knows one: names are not unique there.
        source_id=str(mbid or artist.get("name") or account.lastfm_name),
        followers=None,
        views=count(stats.get("playcount"), "artist.stats.playcount"),
        listeners=count(stats.get("listeners"), "artist.stats.listeners"),
        source="lastfm_api",
    )
