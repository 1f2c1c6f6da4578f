"""The emulator's user playlist endpoints over real HTTP, as the OpenAPI spec describes them."""

from __future__ import annotations

import requests

from spotify_agent_assets.sample_world.api import SAMPLE_REFRESH_TOKEN
from spotify_agent_assets.sample_world.emulator import SpotifyEmulator
from spotify_agent_assets.sample_world.user_playlists import SAMPLE_USER_ID
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.conftest import EMULATOR_ID, EMULATOR_SECRET


def _token(emulator: SpotifyEmulator, refresh_token: str) -> requests.Response:
    return requests.post(
        emulator.accounts_url,
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(EMULATOR_ID, EMULATOR_SECRET),
        timeout=5,
    )


def _session(emulator: SpotifyEmulator) -> requests.Session:
    answer = _token(emulator, SAMPLE_REFRESH_TOKEN)
    assert answer.status_code == 200
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    return session


def test_refresh_token_grant(emulator: SpotifyEmulator) -> None:
    refused = _token(emulator, "not-the-token")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    wrong_client = requests.post(
        emulator.accounts_url,
        data={"grant_type": "refresh_token", "refresh_token": SAMPLE_REFRESH_TOKEN},
        auth=(EMULATOR_ID, "wrong"),
        timeout=5,
    )
    assert wrong_client.status_code == 400 and wrong_client.json()["error"] == "invalid_client"


def test_create_write_and_read_a_playlist(emulator: SpotifyEmulator, world: SampleWorld) -> None:
    api = emulator.api_base_url
    http = _session(emulator)
    me = http.get(f"{api}me", timeout=5).json()
    assert me["id"] == SAMPLE_USER_ID
    created = http.post(
        f"{api}users/{SAMPLE_USER_ID}/playlists", json={"name": "Mine", "public": False}, timeout=5
    )
    assert created.status_code == 201
    playlist = created.json()
    assert playlist["name"] == "Mine" and playlist["items"]["total"] == 0
    other = http.post(f"{api}users/someone-else/playlists", json={"name": "X"}, timeout=5)
    assert other.status_code == 403

    ids = sorted(t.id for t in world.tracks())[:130]
    items = f"{api}playlists/{playlist['id']}/items"
    uris = [f"spotify:track:{i}" for i in ids]
    too_many = http.put(items, json={"uris": uris}, timeout=5)
    assert too_many.status_code == 400
    bad = http.put(items, json={"uris": ["spotify:track:nope"]}, timeout=5)
    assert bad.status_code == 400
    unknown = http.put(items, json={"uris": ["spotify:track:" + "0" * 22]}, timeout=5)
    assert unknown.status_code == 400
    first = http.put(items, json={"uris": uris[:100]}, timeout=5).json()["snapshot_id"]
    second = http.post(items, json=uris[100:], params={"position": 100}, timeout=5)
    assert second.status_code == 201
    # Every write makes a new snapshot, even one that leaves the items as they were.
    third = http.put(items, json={"uris": uris[:100]}, timeout=5).json()["snapshot_id"]
    assert len({first, second.json()["snapshot_id"], third}) == 3
    http.post(items, json={"uris": uris[100:]}, timeout=5)

    pages = http.get(items, params={"limit": 100}, timeout=5).json()
    assert pages["total"] == 130 and len(pages["items"]) == 100 and pages["next"]
    rest = http.get(pages["next"], timeout=5).json()
    held = [i["track"]["id"] for i in pages["items"] + rest["items"]]
    assert held == ids
    listing = http.get(f"{api}me/playlists", timeout=5).json()
    assert [p["id"] for p in listing["items"]] == [playlist["id"]]
    state = http.get(
        f"{api}playlists/{playlist['id']}", params={"fields": "snapshot_id"}, timeout=5
    )
    assert state.json() == {"snapshot_id": listing["items"][0]["snapshot_id"]}
    assert emulator.api.user_playlists.writes == 5  # create, 2 replaces, 2 adds


def test_catalogue_playlists_stay_read_only(emulator: SpotifyEmulator, world: SampleWorld) -> None:
    http = _session(emulator)
    playlist_id = world.playlist_ids()[0]
    answer = http.put(
        f"{emulator.api_base_url}playlists/{playlist_id}/items", json={"uris": []}, timeout=5
    )
    assert answer.status_code == 405
    assert emulator.api.user_playlists.writes == 0
