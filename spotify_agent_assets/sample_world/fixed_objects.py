"""Objects the sample API serves exactly as given, in place of the world's.

Tests replay recorded Spotify answers through the real HTTP path with them, and bend them: a
field nulled or dropped, a value of the wrong type, an item that is not an object. What is
stored here is served verbatim (a playlist answer still goes through its `fields` selection, as
Spotify applies it), so a value may be anything JSON can carry. Ids not stored here fall through
to the world, which answers 404 (or `null` in a batch) for ids it does not know either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FixedObjects:
    """Answers by id; mutable, so a test can change what the next sync sees."""

    artists: dict[str, Any] = field(default_factory=dict)
    albums: dict[str, Any] = field(default_factory=dict)
    tracks: dict[str, Any] = field(default_factory=dict)
    playlists: dict[str, Any] = field(default_factory=dict)
    artist_albums: dict[str, list[Any]] = field(default_factory=dict)
    """Artist id -> the items of its releases listing (paged by the API, not filtered)."""
    album_tracks: dict[str, list[Any]] = field(default_factory=dict)
    """Album id -> the items of `/albums/{id}/tracks`."""
    playlist_items: dict[str, list[Any]] = field(default_factory=dict)
    """Playlist id -> the items of `/playlists/{id}/items`; a playlist stored in `playlists`
    but not here answers 404 there, like a playlist deleted between the two calls."""
