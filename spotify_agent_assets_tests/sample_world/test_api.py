"""The Web API router: shapes against recorded real responses, paging, limits, errors, auth."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from spotify_agent_assets.sample_world.api import SampleWorldApi
from spotify_agent_assets.sample_world.world import DEFAULT_AS_OF, SampleWorld

SPOTIFY_API_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "spotify-api"
RECORDED = SPOTIFY_API_DATA / "recorded-responses" / "data"
HOST = "https://sample.test/prefix"
CREDENTIALS = ("client-id", "client-secret")


@pytest.fixture(scope="module")
def world() -> SampleWorld:
    return SampleWorld(seed=7)


@pytest.fixture
def api(world: SampleWorld) -> SampleWorldApi:
    return SampleWorldApi(world, credentials=CREDENTIALS)


def _basic(client_id: str, secret: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def _token(api: SampleWorldApi) -> str:
    answer = api.handle(
        "POST", f"{HOST}/api/token", _basic(*CREDENTIALS), b"grant_type=client_credentials"
    )
    assert answer.status == 200, answer.body
    return str(answer.json()["access_token"])


def _get(api: SampleWorldApi, path_or_url: str, token: str | None = None) -> tuple[int, Any]:
    url = path_or_url if path_or_url.startswith("http") else f"{HOST}/v1/{path_or_url}"
    headers = {"Authorization": f"Bearer {token or _token(api)}"}
    answer = api.handle("GET", url, headers, None)
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
    return answer.status, answer.json()


def _error(status: int, message: str) -> tuple[int, Any]:
    return status, {"error": {"status": status, "message": message}}


def _recorded(relative: str) -> Any:
    if not RECORDED.is_dir():
        pytest.skip(f"recorded Spotify responses not found at {RECORDED.resolve()}")
    return json.loads((RECORDED / relative).read_text(encoding="utf-8"))


def _assert_keys_cover(recorded: dict[str, Any], ours: dict[str, Any], where: str) -> None:
    missing = set(recorded) - set(ours)
    assert not missing, f"{where}: keys of the real response missing from ours: {missing}"


# ---- shapes --------------------------------------------------------------------------------


def test_artist_shape_matches_recorded(api: SampleWorldApi, world: SampleWorld) -> None:
    real = _recorded("artists/GetArtistRequest.json")
    _, ours = _get(api, f"artists/{world.artists()[0].id}")
    _assert_keys_cover(real, ours, "artist")
    _assert_keys_cover(real["followers"], ours["followers"], "artist.followers")
    _assert_keys_cover(real["images"][0], ours["images"][0], "artist.images")
    several = _recorded("artists/GetSeveralArtistsRequest.json")
    _, ours_several = _get(api, f"artists?ids={world.artists()[0].id}")
    _assert_keys_cover(several, ours_several, "several artists")


def test_album_shape_matches_recorded(api: SampleWorldApi, world: SampleWorld) -> None:
    real = _recorded("albums/GetAlbumRequest.json")
    _, ours = _get(api, f"albums/{world.albums()[0].id}")
    _assert_keys_cover(real, ours, "album")
    _assert_keys_cover(real["artists"][0], ours["artists"][0], "album.artists")
    _assert_keys_cover(real["tracks"], ours["tracks"], "album.tracks")
    _assert_keys_cover(real["tracks"]["items"][0], ours["tracks"]["items"][0], "album track")
    page_real = _recorded("albums/GetAlbumsTracksRequest.json")
    _, page = _get(api, f"albums/{world.albums()[0].id}/tracks")
    _assert_keys_cover(page_real, page, "album tracks page")
    _assert_keys_cover(page_real["items"][0], page["items"][0], "album tracks item")


def test_track_shape_matches_recorded(api: SampleWorldApi, world: SampleWorld) -> None:
    real = _recorded("tracks/GetSeveralTracksRequest.json")["tracks"][0]
    track_id = world.visible_tracks(DEFAULT_AS_OF)[0].id
    _, ours = _get(api, f"tracks?ids={track_id}")
    _assert_keys_cover(real, ours["tracks"][0], "track")
    _assert_keys_cover(real["album"], ours["tracks"][0]["album"], "track.album")
    _assert_keys_cover(real["external_ids"], ours["tracks"][0]["external_ids"], "external_ids")
    single = _recorded("tracks/GetTrackRequest.json")
    _, ours_single = _get(api, f"tracks/{track_id}")
    _assert_keys_cover(single, ours_single, "single track")


def test_artist_albums_shape_matches_recorded(api: SampleWorldApi, world: SampleWorld) -> None:
    real = _recorded("artists/GetArtistsAlbumsRequest.json")
    _, ours = _get(api, f"artists/{world.artists()[0].id}/albums?limit=2")
    _assert_keys_cover(real, ours, "artist albums page")
    _assert_keys_cover(real["items"][0], ours["items"][0], "artist albums item")


def test_playlist_shapes_match_recorded(api: SampleWorldApi, world: SampleWorld) -> None:
    real = _recorded("playlists/GetPlaylistRequest.json")
    for playlist_id in world.playlist_ids():
        _, ours = _get(api, f"playlists/{playlist_id}")
        _assert_keys_cover(real, ours, "playlist")
        _assert_keys_cover(real["owner"], ours["owner"], "playlist.owner")
        _assert_keys_cover(real["tracks"], ours["tracks"], "playlist.tracks")
        for item in ours["tracks"]["items"]:
            _assert_keys_cover(real["tracks"]["items"][0], item, "playlist item")
            _assert_keys_cover(real["tracks"]["items"][0]["added_by"], item["added_by"], "added_by")
            if item["track"] is not None and item["track"]["type"] == "track":
                _assert_keys_cover(real["tracks"]["items"][0]["track"], item["track"], "item track")

    items_real = _recorded("playlists/GetPlaylistsItemsRequest.json")
    episode_real = _recorded("playlists/GetPlaylistsItemsRequest_Episode.json")["items"][0]
    seen_episode = False
    for playlist_id in world.playlist_ids():
        _, page = _get(api, f"playlists/{playlist_id}/tracks?additional_types=episode")
        _assert_keys_cover(items_real, page, "playlist items page")
        for item in page["items"]:
            if item["track"] is not None and item["track"]["type"] == "episode":
                seen_episode = True
                _assert_keys_cover(episode_real, item, "episode item")
                _assert_keys_cover(episode_real["track"], item["track"], "episode")
                _assert_keys_cover(episode_real["track"]["show"], item["track"]["show"], "show")
    assert seen_episode


def test_search_shape_matches_recorded(api: SampleWorldApi) -> None:
    real = _recorded("search/SearchItemRequest.json")
    _, ours = _get(api, "search?q=e&type=artist,track,album,playlist&limit=3")
    for kind, page in real.items():
        _assert_keys_cover(page, ours[kind], f"search {kind}")
        _assert_keys_cover(page["items"][0], ours[kind]["items"][0], f"search {kind} item")
    assert ours["tracks"]["next"].startswith(f"{HOST}/v1/search?offset=3&limit=3")


# ---- paging --------------------------------------------------------------------------------


def _walk(api: SampleWorldApi, first: str, token: str) -> list[Any]:
    seen: list[Any] = []
    status, page = _get(api, first, token)
    assert status == 200, page
    total = page["total"]
    while True:
        seen += page["items"]
        if page["next"] is None:
            break
        status, page = _get(api, page["next"], token)
        assert status == 200, page
        assert page["previous"] is not None
    assert len(seen) == total
    return seen


def _item_key(item: dict[str, Any]) -> str:
    track = item.get("track", item)
    return json.dumps([item.get("added_at"), track and track.get("uri")])


@pytest.mark.parametrize("limit", [100, 7])
def test_paging_playlist_items_returns_each_item_once(
    api: SampleWorldApi, world: SampleWorld, limit: int
) -> None:
    token = _token(api)
    playlist_id = max(
        world.playlist_ids(), key=lambda p: len(world.playlist_entries(p, DEFAULT_AS_OF))
    )
    items = _walk(api, f"playlists/{playlist_id}/items?limit={limit}&market=US", token)
    assert len(items) > 100
    expected = world.playlist_entries(playlist_id, DEFAULT_AS_OF)
    assert [i["added_at"] for i in items] == [
        e.added_at.strftime("%Y-%m-%dT%H:%M:%SZ") for e in expected
    ]
    assert len({_item_key(i) for i in items}) == len(items)


def test_paging_keeps_other_query_parameters(api: SampleWorldApi, world: SampleWorld) -> None:
    token = _token(api)
    artist_id = max(
        world.artists(), key=lambda a: len(world.artist_album_ids(a.id, DEFAULT_AS_OF))
    ).id
    first = f"artists/{artist_id}/albums?include_groups=album,single&limit=3"
    albums = _walk(api, first, token)
    assert len({a["id"] for a in albums}) == len(albums) > 20
    assert {a["album_group"] for a in albums} <= {"album", "single"}
    _, page = _get(api, first, token)
    assert page["next"] == (
        f"{HOST}/v1/artists/{artist_id}/albums?offset=3&limit=3&include_groups=album,single"
    )


def test_paging_box_set_tracks(api: SampleWorldApi, world: SampleWorld) -> None:
    token = _token(api)
    box = max(world.albums(), key=lambda a: len(a.track_ids))
    _, album = _get(api, f"albums/{box.id}", token)
    assert len(album["tracks"]["items"]) == 50 and album["tracks"]["next"] is not None
    tracks = _walk(api, f"albums/{box.id}/tracks?limit=50", token)
    assert [t["id"] for t in tracks] == world.album_track_ids(box.id, DEFAULT_AS_OF)


# ---- limits and errors ---------------------------------------------------------------------


def test_limits_and_errors(api: SampleWorldApi, world: SampleWorld) -> None:
    token = _token(api)
    artist = world.artists()[0].id
    album = world.albums()[0].id
    unknown = "0" * 22
    for path in (
        f"artists/{artist}/albums?limit=0",
        f"artists/{artist}/albums?limit=51",
        f"albums/{album}/tracks?limit=abc",
        f"playlists/{world.playlist_ids()[0]}/tracks?limit=101",
        "search?q=a&type=track&limit=51",
    ):
        assert _get(api, path, token) == _error(400, "Invalid limit"), path
    artist_ids = ",".join(a.id for a in world.artists())
    assert _get(api, f"artists?ids={artist_ids},{artist_ids}", token) == _error(
        400, "Too many ids requested"
    )
    album_ids = ",".join(a.id for a in world.albums()[:21])
    assert _get(api, f"albums?ids={album_ids}", token) == _error(400, "Too many ids requested")
    assert _get(api, "tracks?ids=not-an-id", token) == _error(400, "invalid id")
    assert _get(api, "artists/short", token) == _error(400, "invalid id")
    assert _get(api, f"artists/{unknown}", token) == _error(404, "Resource not found")
    assert _get(api, "no/such/route", token) == _error(404, "Service not found")
    _, several = _get(api, f"albums?ids={album},{unknown}", token)
    assert several["albums"][0]["id"] == album and several["albums"][1] is None


def test_removed_track_leaves_listings_but_answers_by_id(
    api: SampleWorldApi, world: SampleWorld
) -> None:
    token = _token(api)
    removed = next(
        t for t in world.tracks() if t.removed_on is not None and t.removed_on <= DEFAULT_AS_OF
    )
    market = world.album(removed.album_id).markets[0]
    alive = next(
        t.id for t in world.visible_tracks(DEFAULT_AS_OF) if t.album_id == removed.album_id
    )
    # By id it is still there, as on the real API: metadata kept, playable nowhere.
    _, batch = _get(api, f"tracks?ids={alive},{removed.id}&market={market}", token)
    gone = batch["tracks"][1]
    assert batch["tracks"][0]["id"] == alive and batch["tracks"][0]["is_playable"] is True
    assert "restrictions" not in batch["tracks"][0]
    assert gone["id"] == removed.id and gone["album"]["id"] == removed.album_id
    assert gone["external_ids"] == {"isrc": removed.isrc}
    assert gone["available_markets"] == [] and gone["is_playable"] is False
    assert gone["restrictions"] == {"reason": "market"}
    status, single = _get(api, f"tracks/{removed.id}", token)
    assert status == 200 and single["available_markets"] == []
    # Without a market Spotify applies no relinking: neither is_playable nor restrictions.
    assert "is_playable" not in single and "restrictions" not in single
    # ... but album listings, top tracks and search leave it out.
    _, listing = _get(api, f"albums/{removed.album_id}/tracks?limit=50", token)
    assert removed.id not in [t["id"] for t in listing["items"]]
    _, album = _get(api, f"albums/{removed.album_id}", token)
    assert removed.id not in [t["id"] for t in album["tracks"]["items"]]
    _, top = _get(api, f"artists/{removed.artist_ids[0]}/top-tracks?market=US", token)
    assert removed.id not in [t["id"] for t in top["tracks"]]
    api.as_of = removed.removed_on - timedelta(days=1)
    _, before = _get(api, f"tracks/{removed.id}?market={market}", token)
    assert before["is_playable"] is True and before["available_markets"]


def test_unknown_and_unreleased_tracks_stay_null_and_404(
    api: SampleWorldApi, world: SampleWorld
) -> None:
    token = _token(api)
    unknown = "0000000000000000000000"
    future = next(a for a in world.albums() if a.release_date > DEFAULT_AS_OF)
    unreleased = future.track_ids[0]
    _, batch = _get(api, f"tracks?ids={unknown},{unreleased}", token)
    assert batch["tracks"] == [None, None]
    assert _get(api, f"tracks/{unknown}", token) == _error(404, "Resource not found")
    assert _get(api, f"tracks/{unreleased}", token) == _error(404, "Resource not found")


def test_as_of_moves_the_catalogue(api: SampleWorldApi, world: SampleWorld) -> None:
    token = _token(api)
    future = next(a for a in world.albums() if a.release_date > DEFAULT_AS_OF)
    assert _get(api, f"albums/{future.id}", token)[0] == 404
    api.as_of = future.release_date
    assert _get(api, f"albums/{future.id}", token)[0] == 200
    with pytest.raises(ValueError, match="before the sample world starts"):
        api.as_of = DEFAULT_AS_OF - timedelta(days=365)


def test_fields_filter_selects_top_level_and_nested_keys(
    api: SampleWorldApi, world: SampleWorld
) -> None:
    token = _token(api)
    playlist_id = world.playlist_ids()[0]
    fields = "id,name,snapshot_id,owner(id,display_name),tracks(total,items(track(id)))"
    _, ours = _get(api, f"playlists/{playlist_id}?fields={fields}", token)
    assert list(ours) == ["id", "name", "snapshot_id", "owner", "tracks"]
    assert set(ours["owner"]) == {"id", "display_name"}
    assert set(ours["tracks"]) == {"total", "items"}
    assert all(set(i) == {"track"} and set(i["track"]) == {"id"} for i in ours["tracks"]["items"])
    _, page = _get(api, f"playlists/{playlist_id}/tracks?fields=next,items.track.name", token)
    assert set(page) == {"next", "items"}
    assert _get(api, f"playlists/{playlist_id}?fields=!name", token)[0] == 400


def test_links_follow_the_request_base_url(api: SampleWorldApi, world: SampleWorld) -> None:
    token = _token(api)
    artist_id = world.artists()[0].id
    answer = api.handle(
        "GET",
        f"http://localhost:9999/v1/artists/{artist_id}",
        {"authorization": f"Bearer {token}"},
        None,
    )
    assert answer.json()["href"] == f"http://localhost:9999/v1/artists/{artist_id}"


def test_same_seed_gives_identical_bytes(world: SampleWorld) -> None:
    first, second = SampleWorldApi(world), SampleWorldApi(SampleWorld(seed=7))
    token_one, token_two = _token(first), _token(second)
    assert token_one == token_two
    for path in (
        "search?q=the&type=track,artist,album,playlist",
        f"playlists/{world.playlist_ids()[1]}",
    ):
        url = f"{HOST}/v1/{path}"
        headers = {"Authorization": f"Bearer {token_one}"}
        assert first.handle("GET", url, headers, None) == second.handle("GET", url, headers, None)


# ---- auth ----------------------------------------------------------------------------------


def test_auth_errors(api: SampleWorldApi, world: SampleWorld) -> None:
    path = f"{HOST}/v1/artists/{world.artists()[0].id}"
    missing = api.handle("GET", path, {}, None)
    assert (missing.status, missing.json()) == _error(401, "No token provided")
    assert _get(api, path, "never-issued") == _error(401, "The access token expired")
    token = _token(api)
    assert _get(api, path, token)[0] == 200
    api.expire_tokens()
    assert _get(api, path, token) == _error(401, "The access token expired")
    assert _get(api, path, _token(api))[0] == 200


def test_token_endpoint(api: SampleWorldApi) -> None:
    url = f"{HOST}/api/token"
    bad = api.handle("POST", url, _basic("client-id", "wrong"), b"grant_type=client_credentials")
    assert bad.status == 400
    assert bad.json() == {"error": "invalid_client", "error_description": "Invalid client"}
    form = b"grant_type=client_credentials&client_id=client-id&client_secret=client-secret"
    good = api.handle("POST", url, {}, form)
    assert good.status == 200
    assert set(good.json()) == {"access_token", "token_type", "expires_in"}
    assert good.json()["token_type"] == "Bearer" and good.json()["expires_in"] == 3600
    no_grant = api.handle("POST", url, _basic(*CREDENTIALS), b"")
    assert no_grant.status == 400 and no_grant.json()["error"] == "unsupported_grant_type"
    open_api = SampleWorldApi(api.world, credentials=None)
    assert (
        open_api.handle(
            "POST", url, _basic("any", "thing"), b"grant_type=client_credentials"
        ).status
        == 200
    )
