"""Spotify JSON objects -> flat row dicts for the Parquet tables.

The Web API's OpenAPI description (`fixed-spotify-open-api.yml`) promises little: no property of
an artist, track, playlist, playlist item or followers object is `required`, `description`,
`display_name` and image sizes are `nullable`, and real answers go further (a full album without
its "required" `label`, `track: null` for an item removed from the catalogue, a playlist without
`snapshot_id`). Every field is therefore read by one of three rules:

* **Absent or null** -> the column is null, for lists too: a missing `genres` is "unknown"
  (null), not "none" (`[]`). Never a reason to set the record aside.
* **Wrong type, descriptive field** -> the column is null. Descriptive are names, URIs, URLs,
  images, release dates and their precision, flags, markets, genres, labels, ISRC and UPC,
  album types and groups, track, disc and item counts, durations, owners, `added_at` and
  `snapshot_id`. The row is still right about everything else, and null is what every reader of
  these columns already copes with. A descriptive list with one element of the wrong type is
  wrong as a whole (null).
* **Wrong type, needed field** -> `SpotifyParseError` naming the field (`.field`); the sync
  quarantines the record with that field and the reason, and the rest of the table lands.
  Needed are
  - the record itself: a JSON object (a playlist item that is a string is not an item);
  - the key `id`, which must also be present and non-empty (a row without its key cannot be
    stored; local files are the one exception, they have no catalogue id);
  - the links to other tables: `artists` (a list of objects, each with a string `id` or none:
    local files' artists have none) on albums, tracks and playlist items, a track's `album.id`,
    a playlist item's `track`/`item` (an object, or null for a removed track) and its id;
  - the numbers the team reports on: `followers.total` and `popularity`. Null there would hide
    a shape change behind what looks like an ordinary gap: `followers.total: "306565"` is not
    "Spotify stopped reporting followers".

Sub-objects follow the field read through them: `followers: 5` makes `followers.total`
unreadable, so it is quarantined like a wrong `followers.total`; `owner: 5` nulls the owner
columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from spotify_agent_assets.spotify.errors import WHOLE_RECORD, SpotifyParseError

Row = dict[str, Any]

_WRONG = object()  # a value that does not convert to the expected kind


@dataclass(frozen=True)
class _Kind:
    name: str  # for messages: "a string", "an integer", ...
    convert: Callable[[Any], Any]  # the value in its column type, or _WRONG


def _to_int(value: Any) -> Any:
    # bool is an int subclass; a boolean in a count field is a data error, not 0/1.
    if isinstance(value, bool):
        return _WRONG
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return _WRONG


def _to_str_list(value: Any) -> Any:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return _WRONG


STRING = _Kind("a string", lambda v: v if isinstance(v, str) else _WRONG)
INTEGER = _Kind("an integer", _to_int)
BOOLEAN = _Kind("a boolean", lambda v: v if isinstance(v, bool) else _WRONG)
OBJECT = _Kind("a JSON object", lambda v: v if isinstance(v, Mapping) else _WRONG)
LIST = _Kind("a list", lambda v: v if isinstance(v, list) else _WRONG)
STRING_LIST = _Kind("a list of strings", _to_str_list)


class _Record:
    """One Spotify object being read by the rules above; errors name the field and the record.

    Descriptive readers (`text`, `number`, `flag`, `texts`, `value`) give None for a wrong type;
    needed readers (`key`, `measure`, `link`, `artist_ids`, `needed`) raise. `prefix` is the
    path of this object inside the record it belongs to (`track.` for a playlist item's track),
    so a quarantined item names `track.artists`, not `artists`.
    """

    def __init__(self, obj: Any, what: str, prefix: str = "") -> None:
        if not isinstance(obj, Mapping):
            field = prefix.rstrip(".") or WHOLE_RECORD
            where = f"`{field}`: " if prefix else ""
            raise SpotifyParseError(
                f"{where}expected a Spotify {what} object (JSON object), got {_describe(obj)}",
                field=field,
            )
        self.obj = obj
        self.what = what
        self.prefix = prefix

    def key(self) -> str:
        value = self.obj.get("id")
        if isinstance(value, str) and value:
            return value
        raise SpotifyParseError(
            f"Spotify {self.what} object has no usable `id` (got {_describe(value)}); "
            f"name={_short(self.obj.get('name'))}, uri={_short(self.obj.get('uri'))}",
            field=f"{self.prefix}id",
        )

    def value(self, path: str, kind: _Kind) -> Any:
        return self._read(path, kind, needed=False)

    def needed(self, path: str, kind: _Kind) -> Any:
        return self._read(path, kind, needed=True)

    def text(self, path: str) -> str | None:
        return self._read(path, STRING, needed=False)

    def number(self, path: str) -> int | None:
        return self._read(path, INTEGER, needed=False)

    def flag(self, path: str) -> bool | None:
        return self._read(path, BOOLEAN, needed=False)

    def texts(self, path: str) -> list[str] | None:
        return self._read(path, STRING_LIST, needed=False)

    def measure(self, path: str) -> int | None:
        return self._read(path, INTEGER, needed=True)

    def link(self, path: str) -> str | None:
        return self._read(path, STRING, needed=True)

    def artist_ids(self, path: str = "artists") -> list[str] | None:
        """Ids of the artist entries in order; entries without an id (local files) are skipped."""
        entries = self._read(path, LIST, needed=True)
        if entries is None:
            return None
        ids = []
        for index, entry in enumerate(entries):
            if entry is None:
                continue
            artist = _Record(entry, "artist entry", prefix=f"{self.prefix}{path}[{index}].")
            artist_id = artist.link("id")
            if artist_id:
                ids.append(artist_id)
        return ids

    def _read(self, path: str, kind: _Kind, *, needed: bool) -> Any:
        parts = path.split(".")
        current: Any = self.obj
        for depth, part in enumerate(parts):
            if not isinstance(current, Mapping):
                return self._wrong(".".join(parts[:depth]), current, OBJECT, needed)
            current = current.get(part)
            if current is None:
                return None
        converted = kind.convert(current)
        if converted is _WRONG:
            return self._wrong(path, current, kind, needed)
        return converted

    def _wrong(self, path: str, value: Any, kind: _Kind, needed: bool) -> None:
        if not needed:
            return None
        field = f"{self.prefix}{path}"
        raise SpotifyParseError(
            f"Spotify {self.what} object has `{field}` = {_describe(value)}; expected {kind.name}",
            field=field,
        )


def parse_artist(obj: Any) -> Row:
    """Full or simplified artist object -> `spotify_artists` row."""
    artist = _Record(obj, "artist")
    return {
        "artist_id": artist.key(),
        "name": artist.text("name"),
        "genres": artist.texts("genres"),
        "followers": artist.measure("followers.total"),
        "popularity": artist.measure("popularity"),
        "uri": artist.text("uri"),
        "spotify_url": artist.text("external_urls.spotify"),
        "image_url": largest_image_url(artist.value("images", LIST)),
    }


def parse_album(obj: Any) -> Row:
    """Full or simplified album object -> `spotify_albums` row."""
    album = _Record(obj, "album")
    album_id = album.key()
    release_date = album.text("release_date")
    precision = album.text("release_date_precision")
    artist_ids = album.artist_ids()
    return {
        "album_id": album_id,
        "name": album.text("name"),
        "album_type": album.text("album_type"),
        "album_group": album.text("album_group"),
        "release_date": release_date,
        "release_date_precision": precision,
        "release_day": release_day(release_date, precision),
        "total_tracks": album.number("total_tracks"),
        "artist_ids": artist_ids,
        "primary_artist_id": artist_ids[0] if artist_ids else None,
        "label": album.text("label"),
        "upc": album.text("external_ids.upc"),
        "available_markets": album.texts("available_markets"),
        "uri": album.text("uri"),
    }


def parse_track(obj: Any, album_id: str | None = None) -> Row:
    """Full or simplified track object -> `spotify_tracks` row.

    Simplified tracks (from an album's track list) carry no `album`, so the caller passes the
    album id; an id inside the object wins because it is the more specific source. Local files
    have no catalogue id (`track_id` None); they are the only tracks allowed one.
    """
    track = _Record(obj, "track")
    is_local = track.flag("is_local") is True
    track_id = track.text("id") if is_local else track.key()
    artist_ids = track.artist_ids()
    return {
        "track_id": track_id,
        "name": track.text("name"),
        "album_id": track.link("album.id") or album_id,
        "artist_ids": artist_ids,
        "primary_artist_id": artist_ids[0] if artist_ids else None,
        "isrc": track.text("external_ids.isrc"),
        "duration_ms": track.number("duration_ms"),
        "explicit": track.flag("explicit"),
        "popularity": track.measure("popularity"),
        "track_number": track.number("track_number"),
        "disc_number": track.number("disc_number"),
        "available_markets": track.texts("available_markets"),
        "is_local": is_local,
        "is_playable": track.flag("is_playable"),
        "uri": track.text("uri"),
    }


def parse_playlist(obj: Any) -> Row:
    """Playlist object (full, simplified or field-filtered) -> `spotify_playlists` row.

    `snapshot_id` may be missing (null then); the sync counts such a playlist as changed.
    """
    playlist = _Record(obj, "playlist")
    playlist_id = playlist.key()
    # Spotify renamed the playlist's `tracks` paging object to `items` in 2025; accept both.
    total_items = playlist.number("items.total")
    if total_items is None:
        total_items = playlist.number("tracks.total")
    return {
        "playlist_id": playlist_id,
        "name": playlist.text("name"),
        "owner_id": playlist.text("owner.id"),
        "owner_name": playlist.text("owner.display_name"),
        "snapshot_id": playlist.text("snapshot_id"),
        "public": playlist.flag("public"),
        "collaborative": playlist.flag("collaborative"),
        "followers": playlist.measure("followers.total"),
        "total_items": total_items,
        "description": playlist.text("description"),
        "uri": playlist.text("uri"),
    }


def parse_playlist_item(item: Any, playlist_id: str, position: int) -> Row:
    """Playlist item -> `playlist_tracks` row, keeping Spotify's item quirks visible.

    `item_type` is "track", "episode", "local" (a file from the owner's disk, no catalogue id)
    or "missing" (`track` is null: the item was removed from the catalogue).
    """
    entry = _Record(item, "playlist item")
    source = "item"
    content_obj = entry.needed("item", OBJECT)
    if content_obj is None:
        # Older responses (and spotipy's recordings) call the content `track`.
        source = "track"
        content_obj = entry.needed("track", OBJECT)
    content = None if content_obj is None else _Record(content_obj, source, prefix=f"{source}.")
    is_local = entry.flag("is_local") is True or (
        content is not None and content.flag("is_local") is True
    )
    if content is None:
        item_type = "missing"
    elif is_local:
        item_type = "local"
    elif content.text("type") == "episode" or content.flag("episode") is True:
        item_type = "episode"
    else:
        item_type = "track"
    catalogued = item_type in ("track", "episode")
    artist_ids = content.artist_ids() if content is not None else None
    return {
        "playlist_id": playlist_id,
        "position": position,
        "added_at": entry.text("added_at"),
        "added_by": entry.text("added_by.id"),
        "item_type": item_type,
        "item_id": content.link("id") if content is not None and catalogued else None,
        "item_uri": content.text("uri") if content is not None else None,
        "item_name": content.text("name") if content is not None else None,
        "is_local": is_local,
        "is_playable": content.flag("is_playable") if content is not None else None,
        "duration_ms": content.number("duration_ms") if content is not None else None,
        "primary_artist_id": artist_ids[0] if artist_ids else None,
        "album_id": content.link("album.id")
        if content is not None and item_type == "track"
        else None,
    }


def parse_paging(obj: Any) -> tuple[list[Any], str | None, int | None]:
    """Paging object -> (items, absolute URL of the next page or None, total or None)."""
    page = _Record(obj, "paging")
    items = page.needed("items", LIST)
    # A `next` of the wrong type would silently end the listing early, so it is needed.
    return items if items is not None else [], page.needed("next", STRING), page.number("total")


def unwrap_batch(payload: Any, key: str) -> list[Any]:
    """`{"artists": [...]}`-style batch response -> its list, keeping `None` for unknown ids.

    A slot that is not an object is kept as it is: the sync quarantines it under the id that
    was asked for, which this function does not know.
    """
    batch = _Record(payload, f"{key} batch response")
    items = batch.needed(key, LIST)
    return list(items) if items is not None else []


def largest_image_url(images: Any) -> str | None:
    """URL of the widest image in a Spotify `images` list (sizes may be null), or None."""
    if not isinstance(images, list):
        return None
    candidates = [
        image
        for image in images
        if isinstance(image, Mapping) and isinstance(image.get("url"), str)
    ]
    if not candidates:
        return None
    best = max(candidates, key=lambda image: _int_or_zero(image.get("width")))
    return str(best["url"])


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


def _int_or_zero(value: Any) -> int:
    converted = _to_int(value)
    return 0 if converted is _WRONG else int(converted)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {_short(value)}"
