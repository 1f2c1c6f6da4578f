"""The sync rules on an in-memory catalogue: what is quarantined, what is kept, what is fetched.

The end-to-end tests (`defs/test_spotify_recorded_shapes.py`) run the same rules over HTTP
through spotipy; these pin each rule on its own, with the previous table contents as input.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from spotify_agent_assets.spotify import sync
from spotify_agent_assets.spotify.errors import WHOLE_RECORD, SpotifyApiError


@dataclass
class Catalogue:
    """The calls of `sync.CatalogClient` over dicts; a value that is an exception is raised."""

    artists: dict[str, Any] = field(default_factory=dict)
    albums: dict[str, Any] = field(default_factory=dict)
    tracks: dict[str, Any] = field(default_factory=dict)
    releases: dict[str, Any] = field(default_factory=dict)
    playlists: dict[str, Any] = field(default_factory=dict)
    items: dict[str, Any] = field(default_factory=dict)
    item_calls: list[str] = field(default_factory=list)

    def get_artists(self, ids: Sequence[str]) -> list[Any]:
        return [self.artists.get(i) for i in ids]

    def get_albums(self, ids: Sequence[str]) -> list[Any]:
        return [self.albums.get(i) for i in ids]

    def get_tracks(self, ids: Sequence[str]) -> list[Any]:
        return [self.tracks.get(i) for i in ids]

    def get_artist_albums(self, artist_id: str, include_groups: Sequence[str] = ()) -> list[Any]:
        return _answer(self.releases[artist_id])

    def get_album_tracks_from(self, album: dict[str, Any]) -> list[Any]:
        return list(album.get("tracks", {}).get("items", []))

    def get_playlist(self, playlist_id: str) -> dict[str, Any]:
        return _answer(self.playlists[playlist_id])

    def get_playlist_items(self, playlist_id: str) -> list[Any]:
        self.item_calls.append(playlist_id)
        return _answer(self.items[playlist_id])


def _answer(value: Any) -> Any:
    if isinstance(value, Exception):
        raise value
    return value


NOT_FOUND = SpotifyApiError("playlist_items", 404, "Not found.")


def _by(entity: str, quarantined: list[sync.Quarantined]) -> dict[str, sync.Quarantined]:
    return {q.entity_id: q for q in quarantined if q.entity == entity}


def test_an_unusable_artist_is_quarantined_with_its_field_and_keeps_its_stored_row() -> None:
    catalogue = Catalogue(
        artists={
            "good": {"id": "good", "followers": {"total": 10}},
            "bad": {"id": "bad", "followers": {"total": "306565"}},
            "odd": ["not", "an", "artist"],
        }
    )
    stored = {"artist_id": "bad", "followers": 300000, "synced_at": "earlier"}
    result = sync.fetch_artists(catalogue, ["good", "bad", "odd", "gone"], [stored])
    assert [r["artist_id"] for r in result.rows] == ["good", "bad"]
    assert result.rows[1] == stored and result.reused == 1
    refused = _by("artist", result.quarantined)
    assert refused["bad"].field == "followers.total"
    assert "306565" in refused["bad"].reason and refused["bad"].reason.endswith(sync.KEPT)
    assert refused["odd"].field == WHOLE_RECORD and "got list" in refused["odd"].reason
    assert refused["gone"].field == WHOLE_RECORD and "unknown artist" in refused["gone"].reason


def test_a_snapshot_never_reuses_an_earlier_day() -> None:
    catalogue = Catalogue(artists={"bad": {"id": "bad", "popularity": "high"}})
    result = sync.snapshot_artists(catalogue, ["bad"], day=dt.date(2026, 1, 2))
    assert result.rows == [] and result.quarantined[0].field == "popularity"


def test_a_playlist_without_snapshot_id_is_fetched_every_time() -> None:
    catalogue = Catalogue(items={"p": [{"track": {"id": "t1"}}], "q": [{"track": {"id": "t2"}}]})
    playlists = [
        {"playlist_id": "p", "snapshot_id": None},
        {"playlist_id": "q", "snapshot_id": "v1"},
    ]
    first = sync.sync_playlist_items(catalogue, playlists)
    assert [r["snapshot_id"] for r in first.rows] == [None, "v1"]
    second = sync.sync_playlist_items(catalogue, playlists, first.rows)
    # None == None is not "unchanged": p is read again, q (same version) is reused.
    assert catalogue.item_calls == ["p", "q", "p"]
    assert second.fetched == ["p"] and second.reused == 1
    assert [r["item_id"] for r in second.rows] == ["t1", "t2"]


def test_a_playlist_whose_items_are_refused_keeps_its_stored_items() -> None:
    catalogue = Catalogue(items={"p": NOT_FOUND, "q": [{"track": {"id": "t2"}}]})
    stored = [{"playlist_id": "p", "position": 0, "snapshot_id": "v1", "item_id": "t0"}]
    playlists = [
        {"playlist_id": "p", "snapshot_id": "v2"},
        {"playlist_id": "q", "snapshot_id": "w"},
    ]
    result = sync.sync_playlist_items(catalogue, playlists, stored)
    assert [(r["playlist_id"], r["snapshot_id"]) for r in result.rows] == [("p", "v1"), ("q", "w")]
    (refused,) = result.quarantined
    assert (refused.entity, refused.entity_id, refused.field) == (
        "playlist_items",
        "p",
        WHOLE_RECORD,
    )
    assert "HTTP 404" in refused.reason
    assert result.fetched == ["q"]


def test_an_unusable_item_leaves_a_gap_and_its_playlist_is_read_again_next_time() -> None:
    items = [{"track": {"id": "t1"}}, "spotify:track:t2", {"track": {"id": "t3", "artists": 5}}]
    catalogue = Catalogue(items={"p": items})
    result = sync.sync_playlist_items(catalogue, [{"playlist_id": "p", "snapshot_id": "v1"}])
    assert [r["position"] for r in result.rows] == [0]
    assert {(q.entity_id, q.field) for q in result.quarantined} == {
        ("p#1", WHOLE_RECORD),
        ("p#2", "track.artists"),
    }
    # Stored without a version, so the next sync does not reuse an incomplete copy.
    assert result.rows[0]["snapshot_id"] is None


def test_a_refused_playlist_is_quarantined_and_keeps_its_stored_row() -> None:
    catalogue = Catalogue(
        playlists={
            "p": SpotifyApiError("playlist", 404, "Not found."),
            "q": {"id": "q", "snapshot_id": None},
        }
    )
    stored = {"playlist_id": "p", "snapshot_id": "v1", "synced_at": "earlier"}
    result = sync.fetch_playlists(catalogue, ["p", "q"], [stored])
    assert result.rows[0] == stored
    assert result.rows[1]["playlist_id"] == "q" and result.rows[1]["snapshot_id"] is None
    (refused,) = result.quarantined
    assert refused.entity_id == "p" and "HTTP 404" in refused.reason


def _release(album_id: Any, artist: str = "a1") -> dict[str, Any]:
    return {"id": album_id, "name": f"Album {album_id}", "artists": [{"id": artist}]}


def test_album_listing_problems_are_quarantined_and_known_albums_kept() -> None:
    known = {"album_id": "k1", "roster_artist_id": "a1", "track_ids": ["t1"]}
    theirs = {"album_id": "k2", "roster_artist_id": "a2", "track_ids": []}
    catalogue = Catalogue(
        releases={
            "a1": [{**_release("k1"), "artists": "Band"}, _release(None), _release("n1")],
            "a2": SpotifyApiError("artist_albums", 404, "Not found."),
        },
        albums={"n1": {**_release("n1"), "tracks": {"items": [{"id": "t9"}, {"id": 5}]}}},
    )
    result = sync.sync_albums(catalogue, ["a1", "a2"], [known, theirs])
    assert {r["album_id"] for r in result.rows} == {"k1", "k2"}
    refused = {(q.entity, q.entity_id, q.field) for q in result.quarantined}
    assert refused == {
        ("album", "k1", "artists"),
        ("album", "(no id: release 1 of artist a1)", "id"),
        ("artist_albums", "a2", WHOLE_RECORD),
        # A new album with an unusable track id is not stored, so the next sync tries it again.
        ("album", "n1", "tracks.items[1].id"),
    }


def test_a_local_file_is_no_catalogue_track() -> None:
    catalogue = Catalogue(tracks={"t1": {"id": None, "is_local": True, "name": "Demo"}})
    albums = [{"album_id": "b1", "track_ids": ["t1"]}]
    result = sync.sync_tracks(catalogue, albums)
    assert result.rows == [] and result.quarantined[0].field == "id"
