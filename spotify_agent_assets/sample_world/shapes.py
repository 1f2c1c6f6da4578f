"""The Spotify Web API's JSON shapes, rendered from the sample world.

Each builder takes the `SampleWorld` first and returns exactly the object the Web API would
return for it on a given day: field names, key order, null quirks and all (local files with
null ids, user playlists whose single cover image has null dimensions, `is_playable` only when
a market is asked for). They only read the world through its public queries, so the world's
generation and these shapes can change independently.

`SampleWorld` binds the public builders as methods (`world.artist_json(artist_id, day)` is
`artist_json(world, artist_id, day)`), which is how the API and tests call them.
`base_url` is the API root links point at (`https://api.spotify.com/v1/` unless the emulator
serves the world elsewhere).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

from spotify_agent_assets.sample_world.catalogue import (
    _USERS,
    MARKETS,
    OPEN_SPOTIFY_URL,
    SPOTIFY_API_BASE_URL,
    WORLD_START,
    JsonObject,
    LocalFile,
    PlaylistEntry,
    _clamp_popularity,
    _hex_digest,
)

if TYPE_CHECKING:
    from spotify_agent_assets.sample_world.world import SampleWorld

_T = TypeVar("_T")


def paging_json(
    items: list[Any],
    *,
    endpoint: str,
    offset: int,
    limit: int,
    total: int,
    query: Mapping[str, str] | None = None,
) -> JsonObject:
    """A Spotify paging object whose links keep every other query parameter of the request."""

    def link(page_offset: int) -> str:
        params = {"offset": str(page_offset), "limit": str(limit), **(query or {})}
        return f"{endpoint}?{urlencode(params, safe=',')}"

    return {
        "href": link(offset),
        "items": items,
        "limit": limit,
        "next": link(offset + limit) if offset + limit < total else None,
        "offset": offset,
        "previous": link(max(0, offset - limit)) if offset > 0 else None,
        "total": total,
    }


def _images(key: str, sizes: Sequence[int | None]) -> list[JsonObject]:
    return [
        {"height": size, "url": f"https://i.scdn.co/image/{_hex_digest(f'{key}:{size}')}",
         "width": size}
        for size in sizes
    ]  # fmt: skip


def _release_date_text(day: date, precision: str) -> str:
    if precision == "year":
        return f"{day.year:04d}"
    if precision == "month":
        return f"{day.year:04d}-{day.month:02d}"
    return day.isoformat()


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _known(found: _T | None, object_id: str) -> _T:
    """The looked-up object; an unknown id is a caller bug and raises `KeyError(object_id)`."""
    if found is None:
        raise KeyError(object_id)
    return found


def _ref(kind: str, object_id: str, base_url: str) -> JsonObject:
    return {
        "external_urls": {"spotify": f"{OPEN_SPOTIFY_URL}{kind}/{object_id}"},
        "href": f"{base_url}{kind}s/{object_id}",
        "id": object_id,
    }


def simplified_artist_json(
    world: SampleWorld, artist_id: str, *, base_url: str = SPOTIFY_API_BASE_URL
) -> JsonObject:
    artist = _known(world.artist(artist_id), artist_id)
    return {
        **_ref("artist", artist_id, base_url),
        "name": artist.name,
        "type": "artist",
        "uri": f"spotify:artist:{artist_id}",
    }


def artist_json(
    world: SampleWorld, artist_id: str, day: date, *, base_url: str = SPOTIFY_API_BASE_URL
) -> JsonObject:
    artist = _known(world.artist(artist_id), artist_id)
    ref = _ref("artist", artist_id, base_url)
    return {
        "external_urls": ref["external_urls"],
        "followers": {"href": None, "total": world.followers(artist_id, day)},
        "genres": list(artist.genres),
        "href": ref["href"],
        "id": artist_id,
        "images": _images(f"{world.seed}:artist:{artist_id}", (640, 320, 160)),
        "name": artist.name,
        "popularity": world.popularity(artist_id, day),
        "type": "artist",
        "uri": f"spotify:artist:{artist_id}",
    }


def simplified_album_json(
    world: SampleWorld,
    album_id: str,
    day: date,
    *,
    base_url: str = SPOTIFY_API_BASE_URL,
    album_group: str | None = None,
) -> JsonObject:
    """The album as it appears inside tracks, search results and artist discographies."""
    album = _known(world.album(album_id), album_id)
    ref = _ref("album", album_id, base_url)
    group = {"album_group": album_group} if album_group is not None else {}
    return {
        **group,
        "album_type": album.album_type,
        "artists": [simplified_artist_json(world, a, base_url=base_url) for a in album.artist_ids],
        "available_markets": list(album.markets),
        "external_urls": ref["external_urls"],
        "href": ref["href"],
        "id": album_id,
        "images": _images(f"{world.seed}:album:{album_id}", (640, 300, 64)),
        "name": album.name,
        "release_date": _release_date_text(album.release_date, album.release_date_precision),
        "release_date_precision": album.release_date_precision,
        "total_tracks": len(world.album_track_ids(album_id, day)),
        "type": "album",
        "uri": f"spotify:album:{album_id}",
    }


def album_json(
    world: SampleWorld,
    album_id: str,
    day: date,
    *,
    base_url: str = SPOTIFY_API_BASE_URL,
    market: str | None = None,
) -> JsonObject:
    """The full album, with the first page (50) of its track listing like the real API."""
    album = _known(world.album(album_id), album_id)
    track_ids = world.album_track_ids(album_id, day)
    first_page = [
        simplified_track_json(world, t, day, base_url=base_url, market=market)
        for t in track_ids[:50]
    ]
    simplified = simplified_album_json(world, album_id, day, base_url=base_url)
    year = album.release_date.year
    return {
        **{k: v for k, v in simplified.items() if k != "type" and k != "uri"},
        "copyrights": [
            {"text": f"© {year} {album.label}", "type": "C"},
            {"text": f"℗ {year} {album.label}", "type": "P"},
        ],
        "external_ids": {"upc": album.upc},
        "genres": [],
        "label": album.label,
        "popularity": _clamp_popularity(
            world.popularity(album.artist_ids[0], day) + album.popularity_offset
        ),
        "tracks": paging_json(
            first_page,
            endpoint=f"{base_url}albums/{album_id}/tracks",
            offset=0,
            limit=50,
            total=len(track_ids),
            query={"market": market} if market else None,
        ),
        "type": "album",
        "uri": f"spotify:album:{album_id}",
    }


def simplified_track_json(
    world: SampleWorld,
    track_id: str,
    day: date,
    *,
    base_url: str = SPOTIFY_API_BASE_URL,
    market: str | None = None,
) -> JsonObject:
    """A track inside an album's track listing.

    A taken-down track keeps its metadata but has no markets, as Spotify shows it in
    playlists that still hold it and when asked for by id; `is_playable` appears only when a
    market is given, and a track not playable there carries the TrackRestrictionObject
    reason `market` ("not available in the given market").
    """
    track = _known(world.track(track_id), track_id)
    album = _known(world.album(track.album_id), track.album_id)
    markets = list(album.markets) if world.track_visible(track_id, day) else []
    json: JsonObject = {
        "artists": [simplified_artist_json(world, a, base_url=base_url) for a in track.artist_ids],
        "available_markets": markets,
        "disc_number": track.disc_number,
        "duration_ms": track.duration_ms,
        "explicit": track.explicit,
        **_ref("track", track_id, base_url),
        "is_local": False,
        "name": track.name,
        # Spotify stopped serving 30-second previews to new apps in late 2024.
        "preview_url": None,
        "track_number": track.track_number,
        "type": "track",
        "uri": f"spotify:track:{track_id}",
    }
    if market is not None:
        json["is_playable"] = market in markets
        if market not in markets:
            json["restrictions"] = {"reason": "market"}
    return json


def track_json(
    world: SampleWorld,
    track_id: str,
    day: date,
    *,
    base_url: str = SPOTIFY_API_BASE_URL,
    market: str | None = None,
) -> JsonObject:
    """The full track: simplified track plus album, ISRC and popularity."""
    track = _known(world.track(track_id), track_id)
    simplified = simplified_track_json(world, track_id, day, base_url=base_url, market=market)
    return {
        "album": simplified_album_json(world, track.album_id, day, base_url=base_url),
        **simplified,
        "external_ids": {"isrc": track.isrc},
        "popularity": world.track_popularity(track_id, day),
    }


def episode_json(
    world: SampleWorld, episode_id: str, *, base_url: str = SPOTIFY_API_BASE_URL
) -> JsonObject:
    episode = _known(world.episode(episode_id), episode_id)
    show = _known(world.show(episode.show_id), episode.show_id)
    ref = _ref("episode", episode_id, base_url)
    show_ref = _ref("show", show.id, base_url)
    return {
        "audio_preview_url": None,
        "description": episode.description,
        "duration_ms": episode.duration_ms,
        "episode": True,
        "explicit": False,
        "external_urls": ref["external_urls"],
        "href": ref["href"],
        "html_description": f"<p>{episode.description}</p>",
        "id": episode_id,
        "images": _images(f"{world.seed}:show:{show.id}", (640, 300, 64)),
        "is_externally_hosted": False,
        "is_playable": True,
        "language": "en-US",
        "languages": ["en-US"],
        "name": episode.name,
        "release_date": episode.release_date.isoformat(),
        "release_date_precision": "day",
        "show": {
            "available_markets": list(MARKETS),
            "copyrights": [],
            "description": show.description,
            "explicit": False,
            **show_ref,
            "html_description": f"<p>{show.description}</p>",
            "images": _images(f"{world.seed}:show:{show.id}", (640, 300, 64)),
            "is_externally_hosted": False,
            "languages": ["en-US"],
            "media_type": "audio",
            "name": show.name,
            "publisher": show.publisher,
            "total_episodes": sum(1 for e in world.episodes() if e.show_id == show.id),
            "type": "show",
            "uri": f"spotify:show:{show.id}",
        },
        "track": False,
        "type": "episode",
        "uri": f"spotify:episode:{episode_id}",
    }


def _local_track_json(local: LocalFile) -> JsonObject:
    # Spotify knows nothing about a local file but its tags: every id and link is null.
    return {
        "album": {
            "album_type": None,
            "artists": [],
            "available_markets": [],
            "external_urls": {},
            "href": None,
            "id": None,
            "images": [],
            "name": local.album,
            "release_date": None,
            "release_date_precision": None,
            "type": "album",
            "uri": None,
        },
        "artists": [
            {
                "external_urls": {},
                "href": None,
                "id": None,
                "name": local.artist,
                "type": "artist",
                "uri": None,
            }
        ],
        "available_markets": [],
        "disc_number": 0,
        "duration_ms": local.duration_ms,
        "episode": False,
        "explicit": False,
        "external_ids": {},
        "external_urls": {},
        "href": None,
        "id": None,
        "is_local": True,
        "name": local.title,
        "popularity": 0,
        "preview_url": None,
        "track": True,
        "track_number": 0,
        "type": "track",
        "uri": local.uri,
    }


def user_json(
    world: SampleWorld,
    user_id: str,
    *,
    base_url: str = SPOTIFY_API_BASE_URL,
    with_name: bool = True,
) -> JsonObject:
    name = {"display_name": _USERS[user_id]} if with_name else {}
    return {
        **name,
        "external_urls": {"spotify": f"{OPEN_SPOTIFY_URL}user/{user_id}"},
        "href": f"{base_url}users/{user_id}",
        "id": user_id,
        "type": "user",
        "uri": f"spotify:user:{user_id}",
    }


def playlist_item_json(
    world: SampleWorld,
    entry: PlaylistEntry,
    day: date,
    *,
    base_url: str = SPOTIFY_API_BASE_URL,
    market: str | None = None,
) -> JsonObject:
    """One playlist item. Episodes are always returned as episode objects."""
    if entry.kind == "track" and entry.ref_id is not None:
        item: JsonObject | None = {
            **track_json(world, entry.ref_id, day, base_url=base_url, market=market),
            "episode": False,
            "track": True,
        }
    elif entry.kind == "episode" and entry.ref_id is not None:
        item = episode_json(world, entry.ref_id, base_url=base_url)
    elif entry.kind == "local" and entry.local is not None:
        item = _local_track_json(entry.local)
    else:
        item = None
    return {
        "added_at": _timestamp(entry.added_at),
        "added_by": user_json(world, entry.added_by, base_url=base_url, with_name=False),
        "is_local": entry.kind == "local",
        "primary_color": None,
        "track": item,
        "video_thumbnail": {"url": None},
    }


def _playlist_header(world: SampleWorld, playlist_id: str, day: date, base_url: str) -> JsonObject:
    playlist = _known(world.playlist(playlist_id), playlist_id)
    ref = _ref("playlist", playlist_id, base_url)
    # Spotify's own playlists carry sized cover art; user playlists get one image with
    # null dimensions, a quirk parsers have to accept.
    sizes: tuple[int | None, ...] = (640,) if playlist.owner_id == "spotify" else (None,)
    return {
        "collaborative": playlist.collaborative,
        "description": playlist.description,
        "external_urls": ref["external_urls"],
        "href": ref["href"],
        "id": playlist_id,
        "images": _images(f"{world.seed}:playlist:{playlist_id}", sizes),
        "name": playlist.name,
        "owner": user_json(world, playlist.owner_id, base_url=base_url),
        "primary_color": None,
        "public": playlist.public,
        "snapshot_id": world.snapshot_id(playlist_id, day),
    }


def simplified_playlist_json(
    world: SampleWorld, playlist_id: str, day: date, *, base_url: str = SPOTIFY_API_BASE_URL
) -> JsonObject:
    return {
        **_playlist_header(world, playlist_id, day, base_url),
        "tracks": {
            "href": f"{base_url}playlists/{playlist_id}/tracks",
            "total": len(world.playlist_entries(playlist_id, day)),
        },
        "type": "playlist",
        "uri": f"spotify:playlist:{playlist_id}",
    }


def playlist_json(
    world: SampleWorld,
    playlist_id: str,
    day: date,
    *,
    base_url: str = SPOTIFY_API_BASE_URL,
    market: str | None = None,
    items_query: Mapping[str, str] | None = None,
) -> JsonObject:
    """The full playlist with the first page (100) of its items under `tracks`.

    `items_query` holds request parameters (market, additional_types) that the `next` link
    of the embedded page keeps.
    """
    playlist = _known(world.playlist(playlist_id), playlist_id)
    entries = world.playlist_entries(playlist_id, day)
    items = [
        playlist_item_json(world, e, day, base_url=base_url, market=market) for e in entries[:100]
    ]
    days_live = (day - WORLD_START).days
    return {
        **_playlist_header(world, playlist_id, day, base_url),
        "followers": {
            "href": None,
            "total": round(playlist.base_followers * (1 + 0.002 * days_live)),
        },
        "tracks": paging_json(
            items,
            endpoint=f"{base_url}playlists/{playlist_id}/tracks",
            offset=0,
            limit=100,
            total=len(entries),
            query=items_query,
        ),
        "type": "playlist",
        "uri": f"spotify:playlist:{playlist_id}",
    }
