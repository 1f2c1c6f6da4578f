"""The HTTP emulator's faults and bookkeeping, and the in-process adapter's equivalence."""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest
import requests
import spotipy
from spotipy.cache_handler import MemoryCacheHandler

from spotify_agent_assets.sample_world.api import SampleWorldApi
from spotify_agent_assets.sample_world.emulator import (
    DEFAULT_EMULATOR_CREDENTIALS,
    FaultPlan,
    SpotifyEmulator,
)
from spotify_agent_assets.sample_world.transport import (
    SAMPLE_WORLD_API_URL,
    SAMPLE_WORLD_TOKEN_URL,
    mount_sample_world,
)
from spotify_agent_assets.sample_world.world import SampleWorld

pytestmark = pytest.mark.emulator

RATE_LIMITED = {"error": {"status": 429, "message": "API rate limit exceeded"}}


@pytest.fixture(scope="module")
def world() -> SampleWorld:
    return SampleWorld(seed=7)


@pytest.fixture
def emulator(world: SampleWorld) -> Iterator[SpotifyEmulator]:
    with SpotifyEmulator(world) as running:
        yield running


def _token(session: requests.Session, token_url: str) -> str:
    answer = session.post(
        token_url, data={"grant_type": "client_credentials"}, auth=DEFAULT_EMULATOR_CREDENTIALS
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def _artist_url(emulator: SpotifyEmulator, world: SampleWorld) -> str:
    return f"{emulator.api_base_url}artists/{world.artists()[0].id}"


@pytest.mark.parametrize(
    ("kind", "status", "retry_after"),
    [
        ("429_retry_after", 429, "3"),
        ("429_retry_after_zero", 429, "0"),
        ("429_lowercase", 429, "3"),
        ("429_no_header", 429, None),
        ("500", 500, None),
        ("502", 502, None),
        ("503", 503, None),
    ],
)
def test_each_fault_has_its_documented_answer(
    emulator: SpotifyEmulator, world: SampleWorld, kind: str, status: int, retry_after: str | None
) -> None:
    session = requests.Session()
    token = _token(session, emulator.accounts_url)
    emulator.faults = FaultPlan(rate=1.0, kinds=(kind,), retry_after_seconds=3)
    answer = session.get(_artist_url(emulator, world), headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == status
    assert answer.headers.get("Retry-After") == retry_after
    if kind == "429_no_header":
        assert answer.content == b""
        assert answer.headers["Content-Length"] == "0"
    elif kind.startswith("429"):
        assert answer.json() == RATE_LIMITED
    elif kind == "502":
        assert b"502 Bad Gateway" in answer.content
    else:
        assert answer.json()["error"]["status"] == status
    assert emulator.requests[-1].fault == kind
    assert emulator.count(faulted=True) == 1
    assert emulator.count("/api/token", faulted=False) == 1


def test_lowercase_retry_after_arrives_lowercase_on_the_wire(
    emulator: SpotifyEmulator, world: SampleWorld
) -> None:
    token = _token(requests.Session(), emulator.accounts_url)
    emulator.faults = FaultPlan(rate=1.0, kinds=("429_lowercase",))
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
    try:
        connection.request(
            "GET",
            f"/v1/artists/{world.artists()[0].id}",
            headers={"Authorization": f"Bearer {token}"},
        )
        answer = connection.getresponse()
        names = [name for name, _ in answer.getheaders()]
        answer.read()
    finally:
        connection.close()
    assert answer.status == 429
    assert "retry-after" in names
    assert "Retry-After" not in names


def test_slow_answer_trips_a_short_client_timeout(
    emulator: SpotifyEmulator, world: SampleWorld
) -> None:
    session = requests.Session()
    token = _token(session, emulator.accounts_url)
    headers = {"Authorization": f"Bearer {token}"}
    emulator.faults = FaultPlan(rate=1.0, kinds=("slow",), slow_seconds=1.5)
    with pytest.raises(requests.exceptions.Timeout):
        session.get(_artist_url(emulator, world), headers=headers, timeout=0.2)
    emulator.faults = FaultPlan()
    assert requests.get(_artist_url(emulator, world), headers=headers, timeout=10).ok


def test_expired_token_fault_forces_reauthentication(
    emulator: SpotifyEmulator, world: SampleWorld
) -> None:
    session = requests.Session()
    token = _token(session, emulator.accounts_url)
    headers = {"Authorization": f"Bearer {token}"}
    expired = {"error": {"status": 401, "message": "The access token expired"}}
    emulator.faults = FaultPlan(rate=1.0, kinds=("expired_token",))
    first = session.get(_artist_url(emulator, world), headers=headers)
    assert (first.status_code, first.json()) == (401, expired)
    emulator.faults = FaultPlan()
    again = session.get(_artist_url(emulator, world), headers=headers)
    assert (again.status_code, again.json()) == (401, expired)
    fresh = {"Authorization": f"Bearer {_token(session, emulator.accounts_url)}"}
    assert session.get(_artist_url(emulator, world), headers=fresh).ok


def test_token_endpoint_is_spared_unless_asked(emulator: SpotifyEmulator) -> None:
    session = requests.Session()
    emulator.faults = FaultPlan(rate=1.0, kinds=("500",))
    assert _token(session, emulator.accounts_url)
    emulator.faults = FaultPlan(rate=1.0, kinds=("500",), include_token_endpoint=True)
    answer = session.post(
        emulator.accounts_url,
        data={"grant_type": "client_credentials"},
        auth=DEFAULT_EMULATOR_CREDENTIALS,
    )
    assert answer.status_code == 500


def test_bad_credentials_are_refused(emulator: SpotifyEmulator) -> None:
    answer = requests.post(
        emulator.accounts_url,
        data={"grant_type": "client_credentials"},
        auth=("who", "knows"),
        timeout=10,
    )
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_client", "error_description": "Invalid client"}


def test_faults_repeat_for_the_same_plan_and_requests(
    emulator: SpotifyEmulator, world: SampleWorld
) -> None:
    session = requests.Session()
    headers = {"Authorization": f"Bearer {_token(session, emulator.accounts_url)}"}
    plan = FaultPlan(rate=0.5, kinds=("500", "503", "429_retry_after"), seed=11)

    def run() -> list[str | None]:
        emulator.faults = plan
        emulator.reset_log()
        for _ in range(30):
            session.get(_artist_url(emulator, world), headers=headers)
        return [r.fault for r in emulator.requests]

    first = run()
    assert first == run()
    assert set(first) == {None, "500", "503", "429_retry_after"}
    assert emulator.count(faulted=True) == sum(f is not None for f in first)
    assert emulator.count(faulted=False) + emulator.count(faulted=True) == 30


def test_fault_plan_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="rate"):
        FaultPlan(rate=1.5)
    with pytest.raises(ValueError, match="kinds"):
        FaultPlan(kinds=("418",))


def test_stop_does_not_wait_for_a_slow_answer(world: SampleWorld) -> None:
    emulator = SpotifyEmulator(world, faults=FaultPlan(rate=1.0, kinds=("slow",), slow_seconds=30))
    emulator.start()
    session = requests.Session()
    headers = {"Authorization": f"Bearer {_token(session, emulator.accounts_url)}"}
    with pytest.raises(requests.exceptions.Timeout):
        session.get(_artist_url(emulator, world), headers=headers, timeout=0.2)
    emulator.stop()
    with pytest.raises(RuntimeError, match="not running"):
        _ = emulator.api_base_url


def test_adapter_serves_the_same_bytes_as_the_emulator(
    emulator: SpotifyEmulator, world: SampleWorld
) -> None:
    over_http = requests.Session()
    in_process = requests.Session()
    base = emulator.api_base_url.removesuffix("v1/")
    adapter = mount_sample_world(
        in_process, SampleWorldApi(world, credentials=DEFAULT_EMULATOR_CREDENTIALS), base
    )
    playlist_id = world.playlist_ids()[1]
    paths = (
        f"artists/{world.artists()[0].id}",
        f"playlists/{playlist_id}",
        f"playlists/{playlist_id}/tracks?offset=100&market=US",
        "search?q=the&type=artist,track",
        "tracks/0000000000000000000000",
    )
    http_headers = {"Authorization": f"Bearer {_token(over_http, emulator.accounts_url)}"}
    local_headers = {"Authorization": f"Bearer {_token(in_process, emulator.accounts_url)}"}
    for path in paths:
        remote = over_http.get(f"{emulator.api_base_url}{path}", headers=http_headers)
        local = in_process.get(f"{emulator.api_base_url}{path}", headers=local_headers)
        assert (local.status_code, local.content) == (remote.status_code, remote.content), path
        assert local.headers["Content-Type"] == remote.headers["Content-Type"]
    assert adapter.request_count == len(paths) + 1
    assert emulator.count() == len(paths)


def _spotipy_client(session: requests.Session, api_url: str, token_url: str) -> spotipy.Spotify:
    client_id, secret = DEFAULT_EMULATOR_CREDENTIALS
    auth = spotipy.SpotifyClientCredentials(
        client_id, secret, requests_session=session, cache_handler=MemoryCacheHandler()
    )
    auth.OAUTH_TOKEN_URL = token_url
    client = spotipy.Spotify(auth_manager=auth, requests_session=session, retries=0)
    client.prefix = api_url
    return client


def test_spotipy_pages_a_playlist_through_both_transports(
    emulator: SpotifyEmulator, world: SampleWorld
) -> None:
    playlist_id = max(
        world.playlist_ids(), key=lambda p: len(world.playlist_entries(p, emulator.as_of))
    )
    in_process = requests.Session()
    mount_sample_world(in_process, SampleWorldApi(world))
    clients = (
        _spotipy_client(requests.Session(), emulator.api_base_url, emulator.accounts_url),
        _spotipy_client(in_process, SAMPLE_WORLD_API_URL, SAMPLE_WORLD_TOKEN_URL),
    )
    for client in clients:
        page = client.playlist_items(playlist_id)
        items = list(page["items"])
        while page["next"]:
            page = client.next(page)
            items += page["items"]
        assert len(items) == len(world.playlist_entries(playlist_id, emulator.as_of)) > 100
        box = max(world.albums(), key=lambda a: len(a.track_ids))
        assert client.album_tracks(box.id, limit=50)["total"] > 50
