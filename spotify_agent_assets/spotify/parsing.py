"""Spotify JSON objects -> flat row dicts for the Parquet tables.

Spotify omits keys, sends `null` for whole sub-objects (`track: null` in playlists, `images: null`)
and changes shapes between full and simplified objects, so every lookup here tolerates absence and
yields `None` (or an empty list for list columns). `SpotifyParseError` is raised only when an
object cannot become a row at all: not a JSON object, or no id where the table is keyed on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from spotify_agent_assets.spotify.errors import SpotifyParseError

Row = dict[str, Any]


def parse_artist(obj: Any) -> Row:
    """Full or simplified artist object -> `spotify_artists` row."""
    artist = _require_object(obj, "artist")
    return {
        "artist_id": _require_id(artist, "artist"),
        "name": _str(artist.get("name")),
        "genres": _str_list(artist.get("genres")),
        "followers": _int(_path(artist, "followers", "total")),
        "popularity": _int(artist.get("popularity")),
        "uri": _str(artist.get("uri")),
        "spotify_url": _str(_path(artist, "external_urls", "spotify")),
        "image_url": largest_image_url(artist.get("images")),
    }


def parse_album(obj: Any) -> Row:
    """Full or simplified album object -> `spotify_albums` row."""
    album = _require_object(obj, "album")
    release_date = _str(album.get("release_date"))
    precision = _str(album.get("release_date_precision"))
    artist_ids = _ids(album.get("artists"))
    return {
        "album_id": _require_id(album, "album"),
        "name": _str(album.get("name")),
        "album_type": _str(album.get("album_type")),
        "album_group": _str(album.get("album_group")),
        "release_date": release_date,
        "release_date_precision": precision,
        "release_day": release_day(release_date, precision),
        "total_tracks": _int(album.get("total_tracks")),
        "artist_ids": artist_ids,
        "primary_artist_id": artist_ids[0] if artist_ids else None,
        "label": _str(album.get("label")),
        "upc": _str(_path(album, "external_ids", "upc")),
        "available_markets": _str_list(album.get("available_markets")),
        "uri": _str(album.get("uri")),
    }


def parse_track(obj: Any, album_id: str | None = None) -> Row:
    """Full or simplified track object -> `spotify_tracks` row.

    Simplified tracks (from an album's track list) carry no `album`, so the caller passes the
    album id; an id inside the object wins because it is the more specific source.
    """
    track = _require_object(obj, "track")
    is_local = bool(track.get("is_local"))
    # Local files have no catalogue id; every other track must have one to be a row.
    track_id = _str(track.get("id")) if is_local else _require_id(track, "track")
    artist_ids = _ids(track.get("artists"))
    return {
        "track_id": None if is_local else track_id,
        "name": _str(track.get("name")),
        "album_id": _str(_path(track, "album", "id")) or album_id,
        "artist_ids": artist_ids,
        "primary_artist_id": artist_ids[0] if artist_ids else None,
        "isrc": _str(_path(track, "external_ids", "isrc")),
        "duration_ms": _int(track.get("duration_ms")),
        "explicit": _bool(track.get("explicit")),
        "popularity": _int(track.get("popularity")),
        "track_number": _int(track.get("track_number")),
        "disc_number": _int(track.get("disc_number")),
        "available_markets": _str_list(track.get("available_markets")),
        "is_local": is_local,
        "is_playable": _bool(track.get("is_playable")),
        "uri": _str(track.get("uri")),
    }


def parse_playlist(obj: Any) -> Row:
    """Playlist object (full, simplified or field-filtered) -> `spotify_playlists` row."""
    playlist = _require_object(obj, "playlist")
    # Spotify renamed the playlist's `tracks` paging object to `items` in 2025; accept both.
    items_page = playlist.get("items")
    if not isinstance(items_page, Mapping):
        items_page = playlist.get("tracks")
    return {
        "playlist_id": _require_id(playlist, "playlist"),
        "name": _str(playlist.get("name")),
        "owner_id": _str(_path(playlist, "owner", "id")),
        "owner_name": _str(_path(playlist, "owner", "display_name")),
        "snapshot_id": _str(playlist.get("snapshot_id")),
        "public": _bool(playlist.get("public")),
        "collaborative": _bool(playlist.get("collaborative")),
        "followers": _int(_path(playlist, "followers", "total")),
        "total_items": _int(_path(items_page, "total")),
        "description": _str(playlist.get("description")),
        "uri": _str(playlist.get("uri")),
    }


def parse_playlist_item(item: Any, playlist_id: str, position: int) -> Row:
    """Playlist item -> `playlist_tracks` row; never raises for Spotify's item quirks.

    `item_type` is "track", "episode", "local" (a file from the owner's disk, no catalogue id)
    or "missing" (`track` is null: the item was removed from the catalogue).
    """
    entry = _require_object(item, "playlist item")
    content = entry.get("item") if isinstance(entry.get("item"), Mapping) else None
    if content is None:
        # Older responses (and spotipy's recordings) call the content `track`.
        content = entry.get("track") if isinstance(entry.get("track"), Mapping) else None
    is_local = bool(entry.get("is_local")) or bool(_path(content, "is_local"))
    if content is None:
        item_type = "missing"
    elif is_local:
        item_type = "local"
    elif content.get("type") == "episode" or content.get("episode") is True:
        item_type = "episode"
    else:
        item_type = "track"
    artist_ids = _ids(_path(content, "artists"))
    return {
        "playlist_id": playlist_id,
        "position": position,
        "added_at": _str(entry.get("added_at")),
        "added_by": _str(_path(entry, "added_by", "id")),
        "item_type": item_type,
        "item_id": _str(_path(content, "id")) if item_type in ("track", "episode") else None,
        "item_uri": _str(_path(content, "uri")),
        "item_name": _str(_path(content, "name")),
        "is_local": is_local,
        "is_playable": _bool(_path(content, "is_playable")),
        "duration_ms": _int(_path(content, "duration_ms")),
        "primary_artist_id": artist_ids[0] if artist_ids else None,
        "album_id": _str(_path(content, "album", "id")) if item_type == "track" else None,
    }


def parse_paging(obj: Any) -> tuple[list[Any], str | None, int | None]:
    """Paging object -> (items, absolute URL of the next page or None, total or None)."""
    page = _require_object(obj, "paging")
    items = page.get("items")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise SpotifyParseError(
            f"paging object has `items` of type {type(items).__name__}; expected a list"
        )
    return items, _str(page.get("next")), _int(page.get("total"))


def unwrap_batch(payload: Any, key: str) -> list[dict[str, Any] | None]:
    """`{"artists": [...]}`-style batch response -> its list, keeping `None` for unknown ids."""
    batch = _require_object(payload, f"{key} batch response")
    items = batch.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise SpotifyParseError(
            f"{key} batch response has `{key}` of type {type(items).__name__}; expected a list"
        )
    return [dict(entry) if isinstance(entry, Mapping) else None for entry in items]


def largest_image_url(images: Any) -> str | None:
    """URL of the widest image in a Spotify `images` list (sizes may be null), or None."""
    if not isinstance(images, list):
        return None
    candidates = [image for image in images if isinstance(image, Mapping) and image.get("url")]
    if not candidates:
        return None
    best = max(candidates, key=lambda image: _int(image.get("width")) or 0)
    return _str(best.get("url"))


def release_day(release_date: str | None, precision: str | None) -> dt.date | None:
    """First day covered by a Spotify release date of year, month or day precision."""
    if not release_date:
        return None
    parts = release_date.split("-")
    try:
        year = int(parts[0])
        month = int(parts[1]) if len(parts) > 1 and precision != "year" else 1
        day = int(parts[2]) if len(parts) > 2 and precision not in ("year", "month") else 1
        # Spotify sends `0000` for a handful of very old releases; there is no year 0.
        return dt.date(year, month, day) if year > 0 else None
    except ValueError:
        return None


def _require_object(obj: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise SpotifyParseError(
            f"expected a Spotify {what} object (JSON object), got {type(obj).__name__}"
        )
    return obj


def _require_id(obj: Mapping[str, Any], what: str) -> str:
    value = obj.get("id")
    if not isinstance(value, str) or not value:
        raise SpotifyParseError(
            f"Spotify {what} object has no usable `id` (got {value!r}); "
            f"name={obj.get('name')!r}, uri={obj.get('uri')!r}"
        )
    return value


def _path(obj: Any, *keys: str) -> Any:
    current = obj
    for key in keys:
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current


def _ids(objects: Any) -> list[str]:
    if not isinstance(objects, list):
        return []
    return [
        entry["id"]
        for entry in objects
        if isinstance(entry, Mapping) and isinstance(entry.get("id"), str) and entry["id"]
    ]


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    # bool is an int subclass; a boolean in a count field is a data error, not 0/1.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _str_list(values: Any) -> list[str]:
    if not isinstance(values, list):
        return []
    return [value for value in values if isinstance(value, str)]
