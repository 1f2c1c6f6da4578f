"""Fixed objects in the sample API: served verbatim by id, world ids untouched."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from spotify_agent_assets.sample_world.api import SampleWorldApi
from spotify_agent_assets.sample_world.fixed_objects import FixedObjects
from spotify_agent_assets.sample_world.world import SampleWorld

HOST = "https://sample.test"
FIXED_ID = "0OdUWJ0sBjDrqHygGUXeCF"
PLAYLIST_ID = "59ZbFPES4DQwEjBpWHzrtC"


@pytest.fixture(scope="module")
def world() -> SampleWorld:
    return SampleWorld(seed=7)


def _get(api: SampleWorldApi, path: str) -> tuple[int, Any]:
    basic = base64.b64encode(b"id:secret").decode()
    token = api.handle(
        "POST",
        f"{HOST}/api/token",
        {"Authorization": f"Basic {basic}"},
        b"grant_type=client_credentials",
    ).json()["access_token"]
    answer = api.handle("GET", f"{HOST}/v1/{path}", {"Authorization": f"Bearer {token}"}, None)
    return answer.status, answer.json()


def test_a_batch_mixes_fixed_objects_and_the_world(world: SampleWorld) -> None:
    # Whatever shape a fixed object has is served: here one that is not even an object.
    api = SampleWorldApi(world, fixed=FixedObjects(artists={FIXED_ID: ["not", "an", "artist"]}))
    real = world.artists()[0].id
    status, body = _get(api, f"artists?ids={FIXED_ID},{real}")
    assert status == 200
    assert body["artists"][0] == ["not", "an", "artist"]
    assert body["artists"][1]["id"] == real
    assert _get(api, f"artists/{FIXED_ID}") == (200, ["not", "an", "artist"])


def test_fixed_listings_are_paged_like_the_world(world: SampleWorld) -> None:
    releases = [{"id": f"release {n}"} for n in range(5)]
    api = SampleWorldApi(world, fixed=FixedObjects(artist_albums={FIXED_ID: releases}))
    status, first = _get(api, f"artists/{FIXED_ID}/albums?limit=2")
    assert status == 200 and first["total"] == 5 and first["items"] == releases[:2]
    _, last = _get(api, first["next"].removeprefix(f"{HOST}/v1/").replace("offset=2", "offset=4"))
    assert last["items"] == releases[4:] and last["next"] is None


def test_a_fixed_playlist_goes_through_fields_and_its_items_may_be_gone(world: SampleWorld) -> None:
    playlist = {"id": PLAYLIST_ID, "name": "Dinner", "tracks": {"total": 2, "items": [1, 2]}}
    api = SampleWorldApi(world, fixed=FixedObjects(playlists={PLAYLIST_ID: playlist}))
    # No snapshot_id in the object: the selection leaves it out instead of inventing it.
    status, body = _get(api, f"playlists/{PLAYLIST_ID}?fields=id,snapshot_id,tracks(total)")
    assert (status, body) == (200, {"id": PLAYLIST_ID, "tracks": {"total": 2}})
    # Items not fixed: the world does not know the playlist either, as after a deletion.
    status, body = _get(api, f"playlists/{PLAYLIST_ID}/items")
    assert status == 404 and body["error"]["status"] == 404
    api.fixed.playlist_items[PLAYLIST_ID] = ["an item that is a string"]
    status, body = _get(api, f"playlists/{PLAYLIST_ID}/items")
    assert status == 200 and body["items"] == ["an item that is a string"]


def test_a_fixed_track_wins_over_a_taken_down_one(world: SampleWorld) -> None:
    # The world now answers by id for a track taken down; a fixed answer (here Spotify's null
    # for an id it no longer knows) still replaces it, in a batch and alone.
    removed = next(t for t in world.tracks() if t.removed_on is not None)
    api = SampleWorldApi(
        world, as_of=removed.removed_on, fixed=FixedObjects(tracks={removed.id: None})
    )
    alive = world.visible_tracks(removed.removed_on)[0].id
    status, body = _get(api, f"tracks?ids={removed.id},{alive}")
    assert status == 200 and body["tracks"][0] is None and body["tracks"][1]["id"] == alive
    assert _get(api, f"tracks/{removed.id}") == (200, None)
    assert _get(SampleWorldApi(world, as_of=removed.removed_on), f"tracks/{removed.id}")[0] == 200
