"""YouTube Data API v3 ``channels.list``: subscribers and views of the roster's channels.

Documented shape: ``GET <base>/channels?part=statistics,snippet&id=<up to 50 ids>`` answers
``{"items": [{"id", "snippet": {"title"}, "statistics": {"viewCount", "subscriberCount",
"hiddenSubscriberCount", "videoCount"}}]}`` with the counts as decimal strings; ``items`` is
left out when no id matched, and ``subscriberCount`` is left out when the channel hides it.
The key goes in the ``X-Goog-Api-Key`` header, never in the URL.
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
    SocialContractError,
    SocialFailure,
    SocialMetric,
    SocialUnavailableError,
    count,
)

YOUTUBE = "youtube"
DEFAULT_YOUTUBE_API_URL = "https://www.googleapis.com/youtube/v3/"
MAX_IDS_PER_CALL = 50  # channels.list's documented limit for ``id``


@dataclass
class YouTubeConnector:
    api_key: str
    base_url: str = DEFAULT_YOUTUBE_API_URL
    http: JsonHttp = field(default_factory=lambda: JsonHttp(YOUTUBE))
    platform: str = YOUTUBE

    def fetch(self, accounts: Sequence[ArtistAccount]) -> ConnectorResult:
        result = ConnectorResult(YOUTUBE, stats=self.http.stats)
        by_channel: dict[str, list[str]] = {}
        for account in accounts:
            if account.youtube_channel_id:
                by_channel.setdefault(account.youtube_channel_id, []).append(account.artist_id)
        channels = sorted(by_channel)
        answered = 0
        for start in range(0, len(channels), MAX_IDS_PER_CALL):
            batch = channels[start : start + MAX_IDS_PER_CALL]
            try:
                body = self.http.call(
                    "GET",
                    self.base_url.rstrip("/") + "/channels",
                    params={"part": "statistics,snippet", "id": ",".join(batch)},
                    headers={"X-Goog-Api-Key": self.api_key},
                )
            except RequestFailed as failure:
                # The batch's artists fail together; the other batches go on.
                result.failures.extend(
                    SocialFailure(YOUTUBE, artist, "(request)", failure.reason)
                    for channel in batch
                    for artist in by_channel[channel]
                )
                continue
            answered += 1
            items = _items(body)
            for channel in batch:
                item = items.get(channel)
                for artist in by_channel[channel]:
                    if item is None:
                        result.failures.append(
                            SocialFailure(YOUTUBE, artist, "items", f"channel {channel} not found")
                        )
                        continue
                    try:
                        result.metrics.append(_metric(artist, channel, item))
                    except ValueError as error:
                        field_name, _, reason = str(error).partition(": ")
                        result.failures.append(SocialFailure(YOUTUBE, artist, field_name, reason))
        if channels and answered == 0 and result.failures:
            raise SocialUnavailableError(
                f"youtube: no channels.list call succeeded ({result.failures[0].reason})"
            )
        return result


def _items(body: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(body, dict):
        raise SocialContractError("youtube: channels.list answer is not a JSON object")
    items = body.get("items", [])
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and isinstance(i.get("id"), str) for i in items
    ):
        raise SocialContractError(
            "youtube: channels.list 'items' must be a list of objects with a string 'id'"
        )
    return {item["id"]: item for item in items}


def _metric(artist_id: str, channel: str, item: dict[str, Any]) -> SocialMetric:
    stats = item.get("statistics")
    if not isinstance(stats, dict):
        raise ValueError("statistics: missing (was part=statistics honoured?)")
    hidden = stats.get("hiddenSubscriberCount", False)
    if not isinstance(hidden, bool):
        raise ValueError(f"statistics.hiddenSubscriberCount: expected true/false, got {hidden!r}")
    return SocialMetric(
        artist_id=artist_id,
        platform=YOUTUBE,
        source_id=channel,
        # A hidden count is not zero: it is unknown.
        followers=None
        if hidden
        else count(stats.get("subscriberCount"), "statistics.subscriberCount"),
        views=count(stats.get("viewCount"), "statistics.viewCount"),
        listeners=None,
        source="youtube_api",
    )
