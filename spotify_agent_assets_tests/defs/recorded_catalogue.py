"""A catalogue of recorded real Spotify objects, wired the way a sync walks it, for the emulator.

Every object gets its own id (a sync keys rows by id), so one sync can carry many bent copies of
the same recording: artists in the roster; releases in the holder artist's listing, each with
its full album; tracks on the track-holder album; playlists in the roster, each with the
recorded items; playlist items on the item-holder playlist, one position each.
"""

from __future__ import annotations

import copy
import hashlib
import string
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from spotify_agent_assets.sample_world.fixed_objects import FixedObjects
from spotify_agent_assets_tests.spotify.recorded_shapes import SHAPES, recording

_BASE62 = string.digits + string.ascii_letters


def spotify_id(label: str) -> str:
    """A valid, stable 22-character Spotify id for a label."""
    number = int.from_bytes(hashlib.sha256(label.encode()).digest(), "big")
    chars = []
    for _ in range(22):
        number, digit = divmod(number, 62)
        chars.append(_BASE62[digit])
    return "".join(chars)


def with_id(obj: dict[str, Any], object_id: str) -> dict[str, Any]:
    return {**copy.deepcopy(obj), "id": object_id}


def _page(items: list[Any]) -> dict[str, Any]:
    return {
        "href": "https://api.spotify.com/v1/albums/tracks",
        "items": items,
        "limit": 50,
        "next": None,
        "offset": 0,
        "previous": None,
        "total": len(items),
    }


class RecordedCatalogue:
    """Recorded objects served verbatim by the emulator, and the roster that reaches them."""

    def __init__(self) -> None:
        self.fixed = FixedObjects()
        self.artist_ids: list[str] = []
        self.playlist_ids: list[str] = []
        self.holder = spotify_id("holder artist")
        self.add_artist(with_id(SHAPES["artist"].recorded(), self.holder), self.holder)
        self.fixed.artist_albums[self.holder] = []
        self.track_album = spotify_id("track-holder album")
        self.add_release(self.track_album)
        self.item_playlist = spotify_id("item-holder playlist")
        self.add_playlist(
            with_id(SHAPES["playlist"].recorded(), self.item_playlist), self.item_playlist, items=[]
        )

    def add_artist(self, obj: Any, artist_id: str) -> str:
        """An artist of the roster, answered with `obj`; it lists no releases."""
        self.fixed.artists[artist_id] = obj
        self.fixed.artist_albums.setdefault(artist_id, [])
        self.artist_ids.append(artist_id)
        return artist_id

    def add_release(
        self, album_id: str, listing: Any = None, full: Any = None, tracks: Sequence[Any] = ()
    ) -> str:
        """A release of the holder artist: its listing entry and its full album object."""
        listing = with_id(SHAPES["release"].recorded(), album_id) if listing is None else listing
        if full is None:
            full = with_id(SHAPES["album"].recorded(), album_id)
            full["tracks"] = _page(list(tracks))
        self.fixed.artist_albums[self.holder].append(listing)
        self.fixed.albums[album_id] = full
        return album_id

    def add_track(self, obj: Any, track_id: str) -> str:
        """A track of the track-holder album, answered with `obj` by `/tracks`."""
        template = SHAPES["album"].recorded()["tracks"]["items"][0]
        self.fixed.albums[self.track_album]["tracks"]["items"].append(with_id(template, track_id))
        self.fixed.albums[self.track_album]["tracks"]["total"] += 1
        self.fixed.tracks[track_id] = obj
        return track_id

    def add_playlist(self, obj: Any, playlist_id: str, items: list[Any] | None = None) -> str:
        """A roster playlist answered with `obj`, with the recorded items unless given."""
        self.fixed.playlists[playlist_id] = obj
        if items is None:
            items = copy.deepcopy(recording(SHAPES["playlist_item"].file)["items"])
        self.fixed.playlist_items[playlist_id] = items
        self.playlist_ids.append(playlist_id)
        return playlist_id

    def add_item(self, item: Any) -> int:
        """An item of the item-holder playlist; returns its position."""
        items = self.fixed.playlist_items[self.item_playlist]
        items.append(item)
        return len(items) - 1

    def track_of_holder(self) -> dict[str, Any]:
        """The recorded full track, on the track-holder album (its own album id would not be)."""
        track = SHAPES["track"].recorded()
        track["album"]["id"] = self.track_album
        return track

    def write_roster(self, path: Path) -> Path:
        doc = {
            "artists": [{"id": artist_id} for artist_id in self.artist_ids],
            "playlists": [{"id": playlist_id} for playlist_id in self.playlist_ids],
        }
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path
