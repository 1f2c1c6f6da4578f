"""The YouTube and Last.fm connectors against local emulators of their documented JSON:
string counts, hidden subscribers, missing fields, error JSON, 429 Retry-After, 500 then
success, refused keys; and no key in any URL or message."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from spotify_agent_assets.activation.social_connector import (
    ArtistAccount,
    JsonHttp,
    SocialContractError,
    SocialUnavailableError,
)
from spotify_agent_assets.activation.social_lastfm import LASTFM, LastfmConnector
from spotify_agent_assets.activation.social_youtube import YOUTUBE, YouTubeConnector
from spotify_agent_assets_tests.activation.social_servers import (
    LASTFM_KEY,
    YOUTUBE_KEY,
    Answer,
    LastfmEmulator,
    YouTubeEmulator,
    lastfm_artist,
    serve,
)

MBID = "0383dadf-2a4e-4d10-a46a-e9e041da8eb3"


def channel(n: int) -> str:
    return f"UC{n:022d}"


@pytest.fixture
def youtube() -> Iterator[YouTubeEmulator]:
    channels = {
        channel(1): {
            "viewCount": "1234567",
            "subscriberCount": "8900",
            "videoCount": "12",
            "hiddenSubscriberCount": False,
        },
        channel(2): {"viewCount": "555", "hiddenSubscriberCount": True, "videoCount": "3"},
        channel(3): None,  # an item without statistics
        channel(4): {"viewCount": "many", "subscriberCount": "1", "hiddenSubscriberCount": False},
    }
    channels.update(
        {
            channel(100 + i): {
                "viewCount": str(i),
                "subscriberCount": str(i),
                "hiddenSubscriberCount": False,
            }
            for i in range(60)
        }
    )
    with serve(YouTubeEmulator(channels), "/youtube/v3/") as emulator:
        yield emulator  # type: ignore[misc]


@pytest.fixture
def lastfm() -> Iterator[LastfmEmulator]:
    artists = {
        "Wilder Coast": lastfm_artist("Wilder Coast", "4321", "98765"),
        MBID: lastfm_artist("The Velvet Harbors", "10", "20", mbid=MBID),
        "No Stats": {"name": "No Stats", "mbid": ""},
    }
    with serve(LastfmEmulator(artists), "/2.0/") as emulator:
        yield emulator  # type: ignore[misc]


def _youtube(
    emulator: YouTubeEmulator, slept: list[float], key: str = YOUTUBE_KEY
) -> YouTubeConnector:
    http = JsonHttp(YOUTUBE, sleep=slept.append, rng=random.Random(0))
    return YouTubeConnector(api_key=key, base_url=emulator.url, http=http)


def _lastfm(emulator: LastfmEmulator, slept: list[float], key: str = LASTFM_KEY) -> LastfmConnector:
    http = JsonHttp(LASTFM, sleep=slept.append, rng=random.Random(0))
    return LastfmConnector(api_key=key, base_url=emulator.url, http=http)


def test_youtube_reads_string_counts_hidden_subscribers_and_sets_aside_bad_channels(
    youtube: YouTubeEmulator,
) -> None:
    accounts = [
        ArtistAccount("a1", youtube_channel_id=channel(1)),
        ArtistAccount("a2", youtube_channel_id=channel(2)),
        ArtistAccount("a3", youtube_channel_id=channel(3)),
        ArtistAccount("a4", youtube_channel_id=channel(4)),
        ArtistAccount("a5", youtube_channel_id=channel(99)),  # unknown channel
        ArtistAccount("a6", lastfm_name="only on lastfm"),
    ]
    result = _youtube(youtube, []).fetch(accounts)
    rows = {m.artist_id: m for m in result.metrics}
    assert set(rows) == {"a1", "a2"}
    assert (rows["a1"].followers, rows["a1"].views, rows["a1"].listeners) == (8900, 1234567, None)
    assert rows["a1"].source_id == channel(1)
    assert (rows["a2"].followers, rows["a2"].views) == (None, 555)  # hidden is unknown, not 0
    failures = {f.entity_id: (f.field, f.reason) for f in result.failures}
    assert failures["a3"][0] == "statistics"
    assert failures["a4"] == (
        "statistics.viewCount",
        "expected a whole number (as a string), got 'many'",
    )
    assert failures["a5"] == ("items", f"channel {channel(99)} not found")
    assert len(youtube.requests) == 1


def test_youtube_asks_for_at_most_50_ids_per_call_with_the_key_in_a_header(
    youtube: YouTubeEmulator,
) -> None:
    accounts = [ArtistAccount(f"a{i}", youtube_channel_id=channel(100 + i)) for i in range(60)]
    result = _youtube(youtube, []).fetch(accounts)
    assert len(result.metrics) == 60 and not result.failures
    assert len(youtube.requests) == 2
    for seen in youtube.requests:
        assert "part=statistics%2Csnippet" in seen.path
        assert YOUTUBE_KEY not in seen.path
        assert seen.headers["x-goog-api-key"] == YOUTUBE_KEY


def test_youtube_waits_the_retry_after_of_a_429_and_backs_off_on_500(
    youtube: YouTubeEmulator,
) -> None:
    youtube.script = [
        Answer(429, {"error": {"code": 429}}, {"Retry-After": "2"}),
        Answer(500, "oops"),
    ]
    slept: list[float] = []
    connector = _youtube(youtube, slept)
    result = connector.fetch([ArtistAccount("a1", youtube_channel_id=channel(1))])
    assert [m.followers for m in result.metrics] == [8900]
    assert slept[0] == 2.0 and 0.375 <= slept[1] <= 0.625  # Retry-After, then base backoff
    assert (connector.http.stats.rate_limited, connector.http.stats.retries) == (1, 2)


def test_youtube_down_for_every_attempt_is_transient_and_a_long_retry_after_gives_up(
    youtube: YouTubeEmulator,
) -> None:
    youtube.script = [Answer(503, "down")] * 4
    slept: list[float] = []
    with pytest.raises(SocialUnavailableError, match="HTTP 503"):
        _youtube(youtube, slept).fetch([ArtistAccount("a1", youtube_channel_id=channel(1))])
    assert len(slept) == 3 and len(youtube.requests) == 4  # bounded
    youtube.script = [Answer(429, {}, {"Retry-After": "3600"})]
    with pytest.raises(SocialUnavailableError, match="Retry-After 3600 s"):
        _youtube(youtube, []).fetch([ArtistAccount("a1", youtube_channel_id=channel(1))])


def test_youtube_refused_key_fails_once_without_the_key(youtube: YouTubeEmulator) -> None:
    wrong = "yt-WRONG-key-abcdef"
    with pytest.raises(SocialContractError) as error:
        _youtube(youtube, [], key=wrong).fetch([ArtistAccount("a1", youtube_channel_id=channel(1))])
    assert "keyInvalid" in str(error.value) and wrong not in str(error.value)
    assert len(youtube.requests) == 1  # not retried


def test_youtube_answer_breaking_the_contract_fails(youtube: YouTubeEmulator) -> None:
    youtube.script = [Answer(200, {"items": "not a list"})]
    with pytest.raises(SocialContractError, match="'items' must be a list"):
        _youtube(youtube, []).fetch([ArtistAccount("a1", youtube_channel_id=channel(1))])


def test_lastfm_reads_stats_by_mbid_or_name_and_one_unknown_artist_does_not_stop_the_rest(
    lastfm: LastfmEmulator,
) -> None:
    accounts = [
        ArtistAccount("a1", lastfm_name="Wilder Coast"),
        ArtistAccount("a2", lastfm_name="Ignored Name", lastfm_mbid=MBID),
        ArtistAccount("a3", lastfm_name="Nobody Knows"),
        ArtistAccount("a4", lastfm_name="No Stats"),
        ArtistAccount("a5", youtube_channel_id=channel(1)),
    ]
    result = _lastfm(lastfm, []).fetch(accounts)
    rows = {m.artist_id: m for m in result.metrics}
    assert (rows["a1"].listeners, rows["a1"].views, rows["a1"].followers) == (4321, 98765, None)
    assert rows["a1"].source_id == "Wilder Coast"
    assert (rows["a2"].listeners, rows["a2"].source_id) == (10, MBID)
    failures = {f.entity_id: (f.field, f.reason) for f in result.failures}
    assert failures == {
        "a3": ("artist", "not found on Last.fm (error 6)"),
        "a4": ("artist.stats", "missing"),
    }
    assert len(lastfm.requests) == 4
    for seen in lastfm.requests:
        assert seen.method == "POST" and LASTFM_KEY not in seen.path
        assert f"api_key={LASTFM_KEY}" in seen.body


def test_lastfm_rate_limit_error_29_and_a_500_are_retried(lastfm: LastfmEmulator) -> None:
    lastfm.script = [
        Answer(200, {"error": 29, "message": "Rate limit exceeded"}),
        Answer(500, "oops"),
        Answer(429, {}, {"Retry-After": "1"}),
    ]
    slept: list[float] = []
    connector = _lastfm(lastfm, slept)
    result = connector.fetch([ArtistAccount("a1", lastfm_name="Wilder Coast")])
    assert [m.listeners for m in result.metrics] == [4321]
    assert len(slept) == 3 and slept[2] == 1.0
    assert connector.http.stats.rate_limited == 2


def test_lastfm_refused_key_fails_once_without_the_key(lastfm: LastfmEmulator) -> None:
    wrong = "lastfm-WRONG-key-123"
    with pytest.raises(SocialContractError) as error:
        _lastfm(lastfm, [], key=wrong).fetch(
            [ArtistAccount("a1", lastfm_name="Wilder Coast"), ArtistAccount("a2", lastfm_name="x")]
        )
    assert "error 10" in str(error.value) and wrong not in str(error.value)
    assert len(lastfm.requests) == 1


def test_lastfm_partial_outage_is_recorded_per_artist(lastfm: LastfmEmulator) -> None:
    lastfm.script = [Answer(502, "bad gateway")] * 4  # the first artist's every attempt
    result = _lastfm(lastfm, []).fetch(
        [ArtistAccount("a1", lastfm_name="Wilder Coast"), ArtistAccount("a2", lastfm_mbid=MBID)]
    )
    assert [m.artist_id for m in result.metrics] == ["a2"]
    assert [(f.entity_id, f.reason) for f in result.failures] == [
        ("a1", "gave up after 4 attempts (HTTP 502)")
    ]
