"""Parsers against every recorded Spotify response we hold, the quirks seen in the wild, and the
parsing rules: every optional or nullable field of the spec absent or null, wrong types nulled
(descriptive fields) or refused naming the field (keys, links, the numbers we report on).

The recordings live outside the repository (the shared data folder); they are read in place,
never copied in.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spotify_agent_assets.spotify.errors import WHOLE_RECORD, SpotifyParseError
from spotify_agent_assets.spotify.parsing import (
    largest_image_url,
    parse_album,
    parse_artist,
    parse_paging,
    parse_playlist,
    parse_playlist_item,
    parse_track,
    release_day,
    unwrap_batch,
)
from spotify_agent_assets_tests.spotify.recorded_shapes import (
    EFFECTS,
    KEY_FIELDS,
    SHAPES,
    Bend,
    all_bends,
    bends,
    expected_row,
)

SPOTIFY_API_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "spotify-api"
RECORDINGS = SPOTIFY_API_DATA / "recorded-responses" / "data"
FOLDERS = ("artists", "albums", "tracks", "playlists", "search", "episodes")


def _recording_files() -> list[Path]:
    if not RECORDINGS.is_dir():
        return []
    return sorted(path for folder in FOLDERS for path in (RECORDINGS / folder).rglob("*.json"))


def _load(relative: str) -> Any:
    path = RECORDINGS / relative
    if not path.is_file():
        pytest.skip(f"recorded Spotify responses not available at {RECORDINGS}")
    return json.loads(path.read_text(encoding="utf-8"))


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _parse_everything(document: Any) -> dict[str, list[dict[str, Any]]]:
    """Parse every catalogue object, paging object and playlist item found anywhere inside."""
    parsed: dict[str, list[dict[str, Any]]] = {}
    parsers = {"artist": parse_artist, "album": parse_album, "track": parse_track}
    parsers["playlist"] = parse_playlist
    for obj in _walk(document):
        kind = obj.get("type")
        if kind in parsers and (isinstance(obj.get("id"), str) or obj.get("is_local")):
            parsed.setdefault(kind, []).append(parsers[kind](obj))
        if "items" in obj and "next" in obj:
            items, next_url, total = parse_paging(obj)
            assert next_url is None or next_url.startswith("https://")
            assert total is None or total >= len(items)
            parsed.setdefault("paging", []).append({"items": len(items)})
        if "added_at" in obj and "is_local" in obj:
            position = len(parsed.get("playlist_item", []))
            parsed.setdefault("playlist_item", []).append(
                parse_playlist_item(obj, "37i9dQZF1DXcBWIGoYBM5M", position)
            )
    return parsed


def test_recordings_are_present_or_skip() -> None:
    if not RECORDINGS.is_dir():
        pytest.skip(f"recorded Spotify responses not available at {RECORDINGS}")
    assert len(_recording_files()) > 20


@pytest.mark.parametrize(
    "path", _recording_files(), ids=lambda path: str(path.relative_to(RECORDINGS))
)
def test_every_recording_parses(path: Path) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    parsed = _parse_everything(document)
    for row in parsed.get("artist", []):
        # Simplified artists (inside albums and tracks) carry no genres: unknown, not none.
        assert row["artist_id"] and (row["genres"] is None or isinstance(row["genres"], list))
    for row in parsed.get("album", []):
        assert row["album_id"] and (
            row["artist_ids"] is None or isinstance(row["artist_ids"], list)
        )
        if row["release_date"]:
            assert isinstance(row["release_day"], dt.date)
    for row in parsed.get("track", []):
        assert row["track_id"] or row["is_local"]
        assert row["available_markets"] is None or isinstance(row["available_markets"], list)
    for row in parsed.get("playlist_item", []):
        assert row["item_type"] in {"track", "episode", "local", "missing"}


def test_artist() -> None:
    row = parse_artist(_load("artists/GetArtistRequest.json"))
    assert row == {
        "artist_id": "0OdUWJ0sBjDrqHygGUXeCF",
        "name": "Band of Horses",
        "genres": ["indie folk", "indie pop"],
        "followers": 306565,
        "popularity": 59,
        "uri": "spotify:artist:0OdUWJ0sBjDrqHygGUXeCF",
        "spotify_url": "https://open.spotify.com/artist/0OdUWJ0sBjDrqHygGUXeCF",
        "image_url": row["image_url"],
    }
    assert row["image_url"] == largest_image_url(_load("artists/GetArtistRequest.json")["images"])
    assert row["image_url"].endswith("70f91903")  # the 1000px image


def test_several_artists_batch() -> None:
    artists = unwrap_batch(_load("artists/GetSeveralArtistsRequest.json"), "artists")
    assert [parse_artist(a)["artist_id"] for a in artists if a] == [
        "0oSGxfWSnnOXhD2fKuz2Gy",
        "3dBVyJ7JuOMt4GE9607Qin",
    ]


def test_album_with_year_precision() -> None:
    album = _load("albums/GetAlbumRequest.json")
    row = parse_album(album)
    assert row["album_id"] == "0sNOF9WDwhWunNAHPD3Baj"
    assert row["release_date"] == "1983"
    assert row["release_date_precision"] == "year"
    assert row["release_day"] == dt.date(1983, 1, 1)
    assert row["upc"] == "5099749994324"
    assert row["label"] is None  # absent in this recording: None, not KeyError
    assert row["primary_artist_id"] == row["artist_ids"][0]
    tracks, next_url, total = parse_paging(album["tracks"])
    assert (len(tracks), next_url, total) == (1, None, 13)
    track = parse_track(tracks[0], album_id=row["album_id"])
    assert track["album_id"] == "0sNOF9WDwhWunNAHPD3Baj"  # simplified track: from the argument


def test_several_albums_empty_and_full() -> None:
    assert unwrap_batch(_load("albums/GetSeveralAlbumsRequest_None.json"), "albums") == []
    albums = unwrap_batch(_load("albums/GetSeveralAlbumsRequest.json"), "albums")
    assert [parse_album(a)["album_id"] for a in albums if a] == ["41MnTivkwTO3UUJ8DrqEJJ"]


def test_artist_albums_page() -> None:
    items, next_url, total = parse_paging(_load("artists/GetArtistsAlbumsRequest.json"))
    rows = [parse_album(item) for item in items]
    assert total == 64 and len(rows) == 2
    assert rows[0]["album_group"] == "single"
    assert rows[0]["artist_ids"][:2] == ["1vCWHaC5f2uS3yhpwWbIA6", "1Cs0zKBU1kc0i8ypK3B9ai"]
    assert next_url is None or next_url.startswith("https://api.spotify.com/")


def test_track_full_object() -> None:
    row = parse_track(_load("tracks/GetTrackRequest.json"))
    assert row["track_id"] == "3n3Ppam7vgaVa1iaRUc9Lp"
    assert row["name"] == "Mr. Brightside"
    assert row["isrc"] == "GBFFP0300052"
    assert row["primary_artist_id"] == "0C0XlULifJtAgn6ZNCW2eu"
    assert row["album_id"] is not None
    assert row["is_local"] is False
    assert row["duration_ms"] == 222200 and row["track_number"] == 2


def test_track_local_recording_is_the_same_catalogue_track() -> None:
    # Despite its name, this recording is byte-for-byte a normal catalogue track (no is_local),
    # so it must parse exactly like GetTrackRequest.json.
    local = parse_track(_load("tracks/GetTrackRequestLocal.json"))
    assert local == parse_track(_load("tracks/GetTrackRequest.json"))


def test_playlist() -> None:
    row = parse_playlist(_load("playlists/GetPlaylistRequest.json"))
    assert row["playlist_id"] == "59ZbFPES4DQwEjBpWHzrtC"
    assert row["owner_id"] == "spotify"
    assert row["snapshot_id"].startswith("bNLWdmhh")
    assert row["total_items"] == 105
    assert row["followers"] == 143350
    assert row["public"] is None


def test_playlist_items_with_missing_track() -> None:
    items, _next, _total = parse_paging(_load("playlists/GetPlaylistsItemsRequest.json"))
    rows = [parse_playlist_item(item, "p", position) for position, item in enumerate(items)]
    types = [row["item_type"] for row in rows]
    assert "track" in types and "missing" in types
    missing = rows[types.index("missing")]
    assert missing["item_id"] is None and missing["added_at"] is not None
    assert [row["position"] for row in rows] == list(range(len(rows)))


def test_playlist_items_with_episode() -> None:
    items, _next, _total = parse_paging(_load("playlists/GetPlaylistsItemsRequest_Episode.json"))
    row = parse_playlist_item(items[0], "p", 0)
    assert row["item_type"] == "episode"
    assert row["item_id"] == "4GI3dxEafwap1sFiTGPKd1"
    assert row["duration_ms"] == 8052140
    assert row["album_id"] is None
    assert row["added_by"] == "spotify_españa"


def test_search_response() -> None:
    document = _load("search/SearchItemRequest.json")
    artists, _next, _total = parse_paging(document["artists"])
    tracks, _next, _total = parse_paging(document["tracks"])
    assert all(parse_artist(a)["artist_id"] for a in artists)
    assert all(parse_track(t)["track_id"] for t in tracks)


# Quirks reproduced from what Spotify is known to send.


def test_item_with_null_track_is_missing() -> None:
    row = parse_playlist_item({"added_at": None, "is_local": False, "track": None}, "p", 3)
    assert row["item_type"] == "missing"
    assert row["item_id"] is None and row["item_uri"] is None and row["position"] == 3


def test_local_item_has_no_id() -> None:
    item = {
        "added_at": "2020-01-01T00:00:00Z",
        "added_by": {"id": "someone"},
        "is_local": True,
        "track": {
            "id": None,
            "is_local": True,
            "name": "Demo take 3",
            "uri": "spotify:local:Artist:Album:Demo+take+3:180",
            "duration_ms": 180000,
            "type": "track",
            "album": {"id": None, "name": "Album"},
            "artists": [{"id": None, "name": "Artist"}],
        },
    }
    row = parse_playlist_item(item, "p", 0)
    assert row["item_type"] == "local" and row["item_id"] is None
    assert row["primary_artist_id"] is None and row["album_id"] is None
    assert row["item_uri"].startswith("spotify:local:")
    track = parse_track(item["track"])
    assert track["is_local"] is True and track["track_id"] is None


def test_new_style_item_key_and_empty_markets() -> None:
    track = {"id": "3n3Ppam7vgaVa1iaRUc9Lp", "type": "track", "available_markets": []}
    row = parse_playlist_item({"item": track, "is_local": False}, "p", 0)
    assert row["item_type"] == "track" and row["item_id"] == "3n3Ppam7vgaVa1iaRUc9Lp"
    assert parse_track(track)["available_markets"] == []
    assert parse_playlist({"id": "p", "items": {"total": 7}})["total_items"] == 7


def test_nulls_everywhere_become_none() -> None:
    row = parse_artist({"id": "a", "followers": None, "images": None, "genres": None})
    assert row["followers"] is None and row["image_url"] is None and row["genres"] is None
    album = parse_album({"id": "b", "artists": None, "release_date": None})
    assert album["release_day"] is None and album["primary_artist_id"] is None
    assert album["artist_ids"] is None
    track = parse_track({"id": "c", "album": None, "external_ids": None, "popularity": None})
    assert track["album_id"] is None and track["isrc"] is None and track["popularity"] is None


@pytest.mark.parametrize(
    ("value", "precision", "expected"),
    [
        ("1983", "year", dt.date(1983, 1, 1)),
        ("2019-07", "month", dt.date(2019, 7, 1)),
        ("2019-07-26", "day", dt.date(2019, 7, 26)),
        ("2019-07-26", None, dt.date(2019, 7, 26)),
        ("0000", "year", None),
        ("garbage", "day", None),
        (None, "day", None),
    ],
)
def test_release_day(value: str | None, precision: str | None, expected: dt.date | None) -> None:
    assert release_day(value, precision) == expected


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: parse_artist(None), "artist object"),
        (lambda: parse_album(["x"]), "album object"),
        (lambda: parse_track({"name": "No id"}), "track object has no usable `id`"),
        (lambda: parse_playlist({"id": ""}), "playlist object has no usable `id`"),
        (lambda: parse_playlist_item("x", "p", 0), "playlist item object"),
        (lambda: parse_paging({"items": "x"}), "expected a list"),
        (lambda: parse_paging({"items": [], "next": 5}), "`next` = int 5; expected a string"),
        (lambda: unwrap_batch({"artists": 1}, "artists"), "artists batch response"),
    ],
)
def test_unusable_objects_raise(call: Any, fragment: str) -> None:
    with pytest.raises(SpotifyParseError, match=fragment):
        call()


def test_unwrap_batch_keeps_null_slots() -> None:
    batch = unwrap_batch({"tracks": [{"id": "a"}, None, {"id": "b"}]}, "tracks")
    assert batch == [{"id": "a"}, None, {"id": "b"}]


def test_unwrap_batch_keeps_slots_that_are_not_objects() -> None:
    # The sync quarantines such a slot under the id it asked for, which only it knows.
    assert unwrap_batch({"artists": [{"id": "a"}, "x", 3]}, "artists") == [{"id": "a"}, "x", 3]


# ---- every optional or nullable field of the spec, absent or null --------------------------


def _parse(shape: str, obj: Any) -> dict[str, Any]:
    if shape == "artist":
        return parse_artist(obj)
    if shape in ("album", "release"):
        return parse_album(obj)
    if shape == "track":
        # A full track names its album; the sync also passes the album it listed it under.
        return parse_track(obj, album_id=SHAPES["track"].recorded()["album"]["id"])
    if shape == "playlist":
        return parse_playlist(obj)
    return parse_playlist_item(obj, "59ZbFPES4DQwEjBpWHzrtC", 0)


def test_the_spec_gives_the_fields_we_read() -> None:
    if not all_bends():
        pytest.skip(f"recorded Spotify responses not available at {RECORDINGS}")
    # Derived, not listed by hand: a few fields that must be among them prove the derivation.
    paths = {(b.shape, b.path) for b in all_bends()}
    for expected in [
        ("artist", "followers.total"),
        ("playlist", "snapshot_id"),
        ("playlist", "owner.display_name"),
        ("track", "external_ids.isrc"),
        ("playlist_item", "track"),
        ("playlist_item", "added_at"),
        ("artist", "images[].width"),
    ]:
        assert expected in paths
    # Every effect the tests expect belongs to a field the spec lets be absent or null.
    for shape, effects in EFFECTS.items():
        unknown = set(effects) - {b.path for b in bends(shape)}
        assert not unknown, f"{shape}: {unknown} are not optional or nullable fields"


@pytest.mark.parametrize("bend", all_bends(), ids=lambda b: b.label)
def test_optional_field_absent_or_null(bend: Bend) -> None:
    recorded = SHAPES[bend.shape].recorded()
    bent = bend.apply(recorded)
    assert bent != recorded or bend.mode == "null"
    if bend.path in KEY_FIELDS:
        with pytest.raises(SpotifyParseError, match="no usable `id`") as raised:
            _parse(bend.shape, bent)
        assert raised.value.field == bend.path
        return
    assert _parse(bend.shape, bent) == expected_row(bend, _parse(bend.shape, recorded))


# ---- wrong types: descriptive fields become null, needed ones refuse the record --------------

ARTIST = {"id": "a1", "name": "A", "followers": {"total": 5}, "popularity": 40, "genres": ["x"]}
TRACK = {"id": "t1", "name": "T", "artists": [{"id": "a1"}], "album": {"id": "b1"}}
PLAYLIST = {"id": "p1", "snapshot_id": "s1", "followers": {"total": 9}, "owner": {"id": "o"}}
ITEM = {"added_at": "2020-01-01T00:00:00Z", "track": {"id": "t1", "type": "track"}}


@pytest.mark.parametrize(
    ("parse", "obj", "column"),
    [
        (parse_artist, {**ARTIST, "name": 7}, "name"),
        (parse_artist, {**ARTIST, "genres": "rock"}, "genres"),
        (parse_artist, {**ARTIST, "genres": ["rock", 3]}, "genres"),
        (parse_artist, {**ARTIST, "uri": ["spotify:artist:a1"]}, "uri"),
        (parse_artist, {**ARTIST, "images": {"url": "u"}}, "image_url"),
        (parse_album, {"id": "b1", "release_date": 1983}, "release_date"),
        (parse_album, {"id": "b1", "total_tracks": "13"}, "total_tracks"),
        (parse_album, {"id": "b1", "external_ids": "upc"}, "upc"),
        (parse_track, {**TRACK, "duration_ms": "222200"}, "duration_ms"),
        (parse_track, {**TRACK, "explicit": "false"}, "explicit"),
        (parse_track, {**TRACK, "available_markets": "SE"}, "available_markets"),
        (parse_playlist, {**PLAYLIST, "snapshot_id": 12}, "snapshot_id"),
        (parse_playlist, {**PLAYLIST, "owner": 5}, "owner_id"),
        (parse_playlist, {**PLAYLIST, "public": "yes"}, "public"),
        (parse_playlist, {**PLAYLIST, "tracks": {"total": "105"}}, "total_items"),
        (lambda o: parse_playlist_item(o, "p1", 0), {**ITEM, "added_at": 0}, "added_at"),
        (lambda o: parse_playlist_item(o, "p1", 0), {**ITEM, "added_by": "me"}, "added_by"),
    ],
)
def test_a_descriptive_field_of_the_wrong_type_is_stored_as_null(
    parse: Any, obj: dict[str, Any], column: str
) -> None:
    row = parse(obj)
    assert row[column] is None
    assert next(v for k, v in row.items() if k.endswith("_id") or k == "position") is not None


@pytest.mark.parametrize(
    ("parse", "obj", "field"),
    [
        (parse_artist, {**ARTIST, "id": 5}, "id"),
        (parse_artist, {**ARTIST, "followers": {"total": "306565"}}, "followers.total"),
        (parse_artist, {**ARTIST, "followers": 5}, "followers"),
        (parse_artist, {**ARTIST, "popularity": True}, "popularity"),
        (parse_artist, "not an artist", WHOLE_RECORD),
        (parse_album, {"id": "b1", "artists": "Band of Horses"}, "artists"),
        (parse_album, {"id": "b1", "artists": [{"id": "a1"}, "a2"]}, "artists[1]"),
        (parse_album, {"id": "b1", "artists": [{"id": 3}]}, "artists[0].id"),
        (parse_track, {**TRACK, "artists": {"id": "a1"}}, "artists"),
        (parse_track, {**TRACK, "album": "b1"}, "album"),
        (parse_track, {**TRACK, "album": {"id": 1}}, "album.id"),
        (parse_track, {**TRACK, "popularity": "73"}, "popularity"),
        (parse_playlist, {**PLAYLIST, "followers": {"total": "many"}}, "followers.total"),
        (parse_playlist, {**PLAYLIST, "id": ""}, "id"),
    ],
)
def test_a_needed_field_of_the_wrong_type_refuses_the_record_naming_it(
    parse: Any, obj: Any, field: str
) -> None:
    with pytest.raises(SpotifyParseError) as raised:
        parse(obj)
    assert raised.value.field == field
    # The reason names the field and what was expected (or that there is no usable id).
    assert field in str(raised.value) or field == WHOLE_RECORD


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ("spotify:track:3n3Ppam7vgaVa1iaRUc9Lp", WHOLE_RECORD),
        (None, WHOLE_RECORD),
        ({**ITEM, "track": "3n3Ppam7vgaVa1iaRUc9Lp"}, "track"),
        ({**ITEM, "item": ["x"]}, "item"),
        ({**ITEM, "track": {"id": 7, "type": "track"}}, "track.id"),
        ({**ITEM, "track": {"id": "t1", "artists": "someone"}}, "track.artists"),
        ({**ITEM, "track": {"id": "t1", "album": {"id": ["b"]}}}, "track.album.id"),
    ],
)
def test_an_unusable_playlist_item_is_refused_naming_the_field(item: Any, field: str) -> None:
    with pytest.raises(SpotifyParseError) as raised:
        parse_playlist_item(item, "p1", 4)
    assert raised.value.field == field


def test_lists_absent_are_unknown_and_empty_lists_are_kept() -> None:
    assert parse_artist({"id": "a"})["genres"] is None
    assert parse_artist({"id": "a", "genres": []})["genres"] == []
    assert parse_track({"id": "t"})["artist_ids"] is None
    # Local files' artists have no id: the track is known to link to no artist.
    local_artists = parse_track({"id": "t", "artists": [{"id": None, "name": "Me"}, None]})
    assert local_artists["artist_ids"] == [] and local_artists["primary_artist_id"] is None


def test_whole_numbers_sent_as_floats_are_integers() -> None:
    row = parse_artist({"id": "a", "followers": {"total": 306565.0}, "popularity": 59.0})
    assert row["followers"] == 306565 and row["popularity"] == 59
    with pytest.raises(SpotifyParseError, match=r"followers\.total"):
        parse_artist({"id": "a", "followers": {"total": 306565.5}})


def test_a_playlist_without_snapshot_id_parses_with_null() -> None:
    assert parse_playlist({"id": "p1", "name": "No version"})["snapshot_id"] is None
