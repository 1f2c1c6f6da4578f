"""SpotifyCatalogClient through real spotipy against the Spotify Web API emulator over HTTP.

Every fault kind the emulator can inject is exercised once, with a recording `sleep` so the
waits are asserted instead of slept. Faults are switched off again by the first faulted
response (a requests response hook) or the first backoff sleep, whichever comes first.
"""

from __future__ import annotations

import base64
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests

from spotify_agent_assets.spotify.client import SpotifyCatalogClient
from spotify_agent_assets.spotify.errors import (
    SpotifyAuthError,
    SpotifyRateLimitedError,
    SpotifyRetriesExhaustedError,
)
from spotify_agent_assets.spotify.retry import RetrySettings

emulator = pytest.importorskip(
    "spotify_agent_assets.sample_world.emulator",
    reason="the Spotify Web API emulator (sample_world/emulator.py) is not available",
)
from spotify_agent_assets.sample_world.world import DEFAULT_AS_OF, SampleWorld  # noqa: E402

SpotifyEmulator = emulator.SpotifyEmulator
FaultPlan = emulator.FaultPlan
ALL_FAULT_KINDS = emulator.ALL_FAULT_KINDS

pytestmark = pytest.mark.emulator

CLIENT_ID = "emulator-client-id"
CLIENT_SECRET = "emulator-client-secret"
# Short timeout so the emulator's "slow" fault (1 s) is a timeout, not a slow success.
FAST = RetrySettings(max_attempts=6, base_delay_s=0.5, max_delay_s=4.0, jitter=0.25, timeout_s=0.3)


@pytest.fixture(scope="module")
def world() -> SampleWorld:
    return SampleWorld(seed=7)


@pytest.fixture
def emu(world: SampleWorld) -> Iterator[Any]:
    with SpotifyEmulator(
        world, as_of=DEFAULT_AS_OF, faults=FaultPlan(), credentials=(CLIENT_ID, CLIENT_SECRET)
    ) as running:
        yield running


@dataclass
class RecordingSleep:
    """Stands in for time.sleep: records each wait and can react to it."""

    on_call: Callable[[], None] | None = None
    calls: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.on_call is not None:
            self.on_call()


def make_client(
    emu: Any,
    *,
    sleep: RecordingSleep | None = None,
    retry: RetrySettings = FAST,
    session: requests.Session | None = None,
    secret: str = CLIENT_SECRET,
    seed: int = 0,
) -> SpotifyCatalogClient:
    return SpotifyCatalogClient(
        client_id=CLIENT_ID,
        client_secret=secret,
        api_base_url=emu.api_base_url,
        accounts_url=emu.accounts_url,
        retry=retry,
        session=session,
        sleep=sleep if sleep is not None else RecordingSleep(),
        rng=random.Random(seed),
    )


def one_fault(emu: Any) -> tuple[requests.Session, RecordingSleep]:
    """A session and sleep that switch the emulator's faults off after the first one."""

    def clear() -> None:
        emu.faults = FaultPlan()

    def on_response(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if response.status_code >= 400:
            clear()

    session = requests.Session()
    session.hooks["response"].append(on_response)
    return session, RecordingSleep(on_call=clear)


def roster_ids(world: SampleWorld) -> list[str]:
    return [artist_id for artist_id, _name in world.roster()]


def warm_up(client: SpotifyCatalogClient, world: SampleWorld) -> list[dict[str, Any] | None]:
    """A fault-free call, so the token is cached and the next request is an API request."""
    return client.get_artists(roster_ids(world)[:3])


def within_backoff(delay: float, retry_index: int, settings: RetrySettings = FAST) -> bool:
    nominal = min(settings.max_delay_s, settings.base_delay_s * 2**retry_index)
    low = nominal * (1 - settings.jitter)
    high = min(settings.max_delay_s, nominal * (1 + settings.jitter))
    return low - 1e-9 <= delay <= high + 1e-9


def run_with_one_fault(
    emu: Any, world: SampleWorld, kind: str, **plan: Any
) -> tuple[SpotifyCatalogClient, RecordingSleep]:
    """Warm a client up fault-free, then make one call that meets exactly one `kind` fault."""
    session, sleep = one_fault(emu)
    client = make_client(emu, sleep=sleep, session=session)
    expected = warm_up(client, world)
    assert client.stats.token_requests == 1
    emu.faults = FaultPlan(rate=1.0, kinds=(kind,), seed=1, **plan)
    assert warm_up(client, world) == expected
    # A "slow" answer is logged only when the emulator finishes it, after the client gave up.
    deadline = time.monotonic() + 5.0
    while emu.count(path_prefix="/v1/", faulted=True) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert emu.count(path_prefix="/v1/", faulted=True) == 1
    return client, sleep


@pytest.mark.parametrize(
    ("kind", "expected_sleep"),
    [("429_retry_after", 1.0), ("429_retry_after_zero", 0.0), ("429_lowercase", 1.0)],
)
def test_retry_after_is_honoured(
    emu: Any, world: SampleWorld, kind: str, expected_sleep: float
) -> None:
    client, sleep = run_with_one_fault(emu, world, kind, retry_after_seconds=1)
    assert sleep.calls == [expected_sleep]
    stats = client.stats
    assert (stats.rate_limited, stats.retries, stats.slept_s) == (1, 1, expected_sleep)


@pytest.mark.parametrize("kind", ["429_no_header", "500", "502", "503", "slow"])
def test_backoff_faults_are_retried_with_jittered_backoff(
    emu: Any, world: SampleWorld, kind: str
) -> None:
    client, sleep = run_with_one_fault(emu, world, kind, slow_seconds=1.0)
    assert len(sleep.calls) == 1
    assert within_backoff(sleep.calls[0], 0)
    assert client.stats.retries == 1
    assert client.stats.requests_sent == 3  # warm-up, faulted attempt, retry


def test_expired_token_triggers_reauthentication(emu: Any, world: SampleWorld) -> None:
    client, sleep = run_with_one_fault(emu, world, "expired_token")
    assert client.stats.token_requests == 2
    assert sleep.calls == []  # a 401 is fixed by a new token, not by waiting


def test_server_side_token_expiry_triggers_reauthentication(emu: Any, world: SampleWorld) -> None:
    client = make_client(emu)
    expected = warm_up(client, world)
    emu.expire_tokens()
    assert warm_up(client, world) == expected
    assert client.stats.token_requests == 2


def test_backoff_is_bounded_and_exhaustion_names_endpoint(emu: Any, world: SampleWorld) -> None:
    settings = RetrySettings(max_attempts=6, base_delay_s=0.5, max_delay_s=2.0, jitter=0.25)
    sleep = RecordingSleep()
    client = make_client(emu, sleep=sleep, retry=settings, seed=3)
    warm_up(client, world)
    before = emu.count(path_prefix="/v1/artists")
    emu.faults = FaultPlan(rate=1.0, kinds=("503",), seed=1)
    with pytest.raises(SpotifyRetriesExhaustedError) as caught:
        client.get_artists(roster_ids(world)[:3])
    message = str(caught.value)
    assert "'artists'" in message and "6 attempts" in message and "503" in message
    assert emu.count(path_prefix="/v1/artists") - before == 6
    assert len(sleep.calls) == 5
    assert all(within_backoff(delay, n, settings) for n, delay in enumerate(sleep.calls))
    assert max(sleep.calls) <= settings.max_delay_s
    nominal = [min(2.0, 0.5 * 2**n) for n in range(5)]
    assert sleep.calls != nominal  # jittered, not lock-step


def test_timeouts_exhaust_attempts(emu: Any, world: SampleWorld) -> None:
    settings = RetrySettings(max_attempts=2, timeout_s=0.3)
    client = make_client(emu, retry=settings)
    warm_up(client, world)
    emu.faults = FaultPlan(rate=1.0, kinds=("slow",), seed=1, slow_seconds=1.0)
    with pytest.raises(SpotifyRetriesExhaustedError, match=r"'artists' failed after 2 attempts"):
        client.get_artists(roster_ids(world)[:3])


def test_huge_retry_after_fails_fast(emu: Any, world: SampleWorld) -> None:
    sleep = RecordingSleep()
    client = make_client(emu, sleep=sleep)
    warm_up(client, world)
    emu.faults = FaultPlan(rate=1.0, kinds=("429_retry_after",), seed=1, retry_after_seconds=3600)
    with pytest.raises(SpotifyRateLimitedError) as caught:
        client.get_artists(roster_ids(world)[:3])
    assert "'artists'" in str(caught.value) and "3600" in str(caught.value)
    assert sleep.calls == []


def _ids_per_request(emu: Any, path: str) -> list[int]:
    sizes = []
    for request in emu.requests:
        if request.path.rstrip("/") == path and request.status == 200:
            query = request.query if isinstance(request.query, dict) else parse_qs(request.query)
            ids = query["ids"]
            text = ids[0] if isinstance(ids, list) else ids
            sizes.append(len(text.split(",")))
    return sizes


def test_batch_sizes_and_alignment(emu: Any, world: SampleWorld) -> None:
    client = make_client(emu)
    artist_ids = roster_ids(world)
    padded = artist_ids + [f"{n:022d}" for n in range(120 - len(artist_ids))]
    artists = client.get_artists(padded + padded[:5])  # duplicates are fetched once
    assert len(artists) == 120
    assert [a["id"] if a else None for a in artists[: len(artist_ids)]] == artist_ids
    assert artists[len(artist_ids) :] == [None] * (120 - len(artist_ids))
    assert _ids_per_request(emu, "/v1/artists") == [50, 50, 20]

    album_ids = [album.id for album in world.visible_albums(DEFAULT_AS_OF)][:45]
    albums = client.get_albums(album_ids)
    assert [album["id"] for album in albums if album] == album_ids
    assert _ids_per_request(emu, "/v1/albums") == [20, 20, 5]

    track_ids = [track.id for track in world.visible_tracks(DEFAULT_AS_OF)][:60]
    tracks = client.get_tracks(track_ids)
    assert len(tracks) == 60
    assert _ids_per_request(emu, "/v1/tracks") == [50, 10]
    assert client.stats.by_endpoint == {"artists": 3, "albums": 3, "tracks": 2}


def test_pagination_returns_everything_once(emu: Any, world: SampleWorld) -> None:
    client = make_client(emu)
    for artist_id in roster_ids(world):
        albums = client.get_artist_albums(artist_id)
        truth = [album_id for album_id, _group in world.artist_album_ids(artist_id, DEFAULT_AS_OF)]
        assert [album["id"] for album in albums] == truth
    for playlist_id in world.playlist_ids():
        items = client.get_playlist_items(playlist_id)
        assert len(items) == len(world.playlist_entries(playlist_id, DEFAULT_AS_OF))
        meta = client.get_playlist(playlist_id)
        page = meta.get("items") if isinstance(meta.get("items"), dict) else meta.get("tracks")
        assert page["total"] == len(items)
        assert meta["snapshot_id"] == world.snapshot_id(playlist_id, DEFAULT_AS_OF)


def test_album_tracks_from_embedded_page(emu: Any, world: SampleWorld) -> None:
    client = make_client(emu)
    albums = [a for a in world.visible_albums(DEFAULT_AS_OF)][:20]
    full = client.get_albums([album.id for album in albums])
    calls_before = emu.count(path_prefix="/v1/albums/")
    for album, obj in zip(albums, full, strict=True):
        assert obj is not None
        tracks = client.get_album_tracks_from(obj)
        assert [t["id"] for t in tracks] == world.album_track_ids(album.id, DEFAULT_AS_OF)
        assert tracks == client.get_album_tracks(album.id)
    pages = [max(1, -(-len(world.album_track_ids(a.id, DEFAULT_AS_OF)) // 50)) for a in albums]
    # get_album_tracks pays every page; get_album_tracks_from only those after the embedded one.
    expected_calls = sum(pages) + sum(count - 1 for count in pages)
    assert emu.count(path_prefix="/v1/albums/") - calls_before == expected_calls


def fetch_catalogue(client: SpotifyCatalogClient, world: SampleWorld) -> dict[str, Any]:
    artists = client.get_artists(roster_ids(world))
    album_ids = [
        album["id"]
        for artist_id in roster_ids(world)
        for album in client.get_artist_albums(artist_id)
    ]
    albums = client.get_albums(album_ids)
    album_tracks = {a["id"]: client.get_album_tracks_from(a) for a in albums if a}
    track_ids = [t["id"] for tracks in album_tracks.values() for t in tracks]
    playlists = {pid: client.get_playlist(pid) for pid in world.playlist_ids()}
    items = {pid: client.get_playlist_items(pid) for pid in world.playlist_ids()}
    return {
        "artists": artists,
        "albums": albums,
        "album_tracks": album_tracks,
        "tracks": client.get_tracks(track_ids),
        "playlists": playlists,
        "items": items,
        "search": client.search(world.roster()[0][1]),
    }


@pytest.mark.slow
def test_catalogue_under_faults_equals_fault_free(emu: Any, world: SampleWorld) -> None:
    expected = fetch_catalogue(make_client(emu), world)
    emu.faults = FaultPlan(
        rate=0.3, kinds=ALL_FAULT_KINDS, seed=1, slow_seconds=1.0, retry_after_seconds=1
    )
    retry = RetrySettings(max_attempts=12, base_delay_s=0.5, max_delay_s=4.0, timeout_s=0.3)
    sleep = RecordingSleep()
    client = make_client(emu, sleep=sleep, retry=retry)
    assert fetch_catalogue(client, world) == expected
    stats = client.stats
    assert stats.retries > 0 and stats.rate_limited > 0 and stats.token_requests >= 2
    assert {r.fault for r in emu.requests if r.fault} == set(ALL_FAULT_KINDS)
    assert stats.requests_sent > sum(stats.by_endpoint.values())


def test_secrets_never_reach_logs_errors_or_reprs(
    world: SampleWorld, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "SENTINEL-SECRET-4242"
    basic = base64.b64encode(f"{CLIENT_ID}:{secret}".encode()).decode()
    caplog.set_level(logging.DEBUG)
    for name in ("spotipy", "urllib3", "requests", "spotify_agent_assets"):
        caplog.set_level(logging.DEBUG, logger=name)
    texts: list[str] = []
    with SpotifyEmulator(
        world, as_of=DEFAULT_AS_OF, faults=FaultPlan(), credentials=(CLIENT_ID, secret)
    ) as running:
        client = make_client(running, secret=secret)
        warm_up(client, world)
        running.expire_tokens()
        warm_up(client, world)  # re-auth after a 401
        token = client._auth.get_access_token()
        assert client.stats.token_requests == 2
        texts += [repr(client), str(client._auth), repr(client._auth), repr(client.stats)]
        rejected = make_client(running, secret=secret + "-wrong")
        with pytest.raises(SpotifyAuthError) as caught:
            warm_up(rejected, world)
        texts += [str(caught.value), repr(caught.value), repr(rejected)]
        assert "invalid_client" in str(caught.value)
        assert running.accounts_url in str(caught.value)
    for record in caplog.records:
        texts.append(record.getMessage())
        if record.exc_info:
            texts.append(logging.Formatter().formatException(record.exc_info))
    assert any("Bearer" in text for text in texts)  # spotipy's header log is there, scrubbed
    for text in texts:
        assert secret not in text
        assert basic not in text
        assert token not in text
