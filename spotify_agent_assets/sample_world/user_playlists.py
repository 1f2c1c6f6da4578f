"""The signed-in user's own playlists in the sample world: the Web API's write endpoints.

`SampleWorldApi` hands these routes here (after the bearer token is checked), so the HTTP
emulator and the in-process transport serve them alike:

- ``GET /v1/me`` and ``GET /v1/me/playlists`` (paged, limit <= 50);
- ``POST /v1/me/playlists`` and ``POST /v1/users/{user_id}/playlists`` (201, the new playlist);
- ``GET /v1/playlists/{id}`` and ``GET/PUT/POST /v1/playlists/{id}/items`` (or ``/tracks``) for
  playlists created here: PUT replaces every item (at most 100 URIs), POST adds (at most 100,
  at ``position`` or the end). Both answer ``{"snapshot_id": ...}``; the snapshot id changes on
  every write, as Spotify's does, even when the items end up the same.

URIs are taken from a ``uris`` query parameter, a JSON array body (what spotipy sends for POST)
or ``{"uris": [...]}``, as the OpenAPI spec allows. A URI that is not ``spotify:track:<22
base62>`` or names no track of the world is refused with 400, and nothing changes.
`writes` counts the accepted write requests (create, replace, add), for tests that must see none.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from spotify_agent_assets.sample_world.shapes import paging_json

if TYPE_CHECKING:
    from spotify_agent_assets.sample_world.world import SampleWorld

SAMPLE_USER_ID = "sampleworlduser"
MAX_URIS_PER_WRITE = 100
_TRACK_URI = re.compile(r"spotify:track:([0-9A-Za-z]{22})")


class UserPlaylistError(Exception):
    """A write the API refuses: status and Spotify's message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class _OwnPlaylist:
    id: str
    name: str
    description: str
    public: bool
    track_ids: list[str] = field(default_factory=list)
    version: int = 0

    @property
    def snapshot_id(self) -> str:
        digest = hashlib.sha256(f"{self.id}:{self.version}".encode()).hexdigest()
        return f"{self.version}:{digest[:24]}"


class UserPlaylists:
    """The playlists one user owns, kept in memory for as long as the API object lives."""

    def __init__(self, world: SampleWorld, user_id: str = SAMPLE_USER_ID) -> None:
        self.world = world
        self.user_id = user_id
        self._lock = threading.Lock()
        self._playlists: dict[str, _OwnPlaylist] = {}
        self.writes = 0

    def owns(self, playlist_id: str) -> bool:
        with self._lock:
            return playlist_id in self._playlists

    def track_ids(self, playlist_id: str) -> list[str]:
        with self._lock:
            return list(self._playlists[playlist_id].track_ids)

    def handle(
        self,
        method: str,
        route: list[str],
        query: dict[str, str],
        body: bytes,
        base_url: str,
        as_of: date,
    ) -> tuple[int, Any] | None:
        """(status, payload) for a route of the user's library; None when it is not one."""
        method = method.upper()
        if route == ["me"] and method == "GET":
            return 200, self._user_json(base_url)
        if route == ["me", "playlists"] or (
            len(route) == 3 and route[0] == "users" and route[2] == "playlists"
        ):
            if method == "GET":
                return 200, self._listing(query, base_url)
            if method == "POST":
                if route[0] == "users" and route[1] != self.user_id:
                    raise UserPlaylistError(403, "You cannot create a playlist for another user")
                return 201, self._create(body, base_url)
            raise UserPlaylistError(405, "Method not allowed")
        if len(route) >= 2 and route[0] == "playlists" and self.owns(route[1]):
            playlist_id = route[1]
            if len(route) == 2 and method == "GET":
                return 200, self._playlist_json(playlist_id, base_url, as_of)
            if len(route) == 3 and route[2] in ("items", "tracks"):
                if method == "GET":
                    return 200, self._items_page(playlist_id, route[2], query, base_url, as_of)
                if method in ("PUT", "POST"):
                    uris = self._uris(query, body)
                    return 200 if method == "PUT" else 201, self._write(
                        playlist_id, uris, replace=method == "PUT", position=query.get("position")
                    )
            raise UserPlaylistError(405, "Method not allowed")
        return None

    # ---- reads -----------------------------------------------------------------------------

    def _user_json(self, base_url: str) -> dict[str, Any]:
        return {
            "display_name": "Sample World Curator",
            "external_urls": {"spotify": f"https://open.spotify.com/user/{self.user_id}"},
            "href": f"{base_url}users/{self.user_id}",
            "id": self.user_id,
            "type": "user",
            "uri": f"spotify:user:{self.user_id}",
        }

    def _simplified(self, playlist: _OwnPlaylist, base_url: str) -> dict[str, Any]:
        return {
            "collaborative": False,
            "description": playlist.description,
            "external_urls": {"spotify": f"https://open.spotify.com/playlist/{playlist.id}"},
            "href": f"{base_url}playlists/{playlist.id}",
            "id": playlist.id,
            "images": [],
            "name": playlist.name,
            "owner": self._user_json(base_url),
            "public": playlist.public,
            "snapshot_id": playlist.snapshot_id,
            "items": {
                "href": f"{base_url}playlists/{playlist.id}/items",
                "total": len(playlist.track_ids),
            },
            "type": "playlist",
            "uri": f"spotify:playlist:{playlist.id}",
        }

    def _listing(self, query: dict[str, str], base_url: str) -> dict[str, Any]:
        offset, limit = _paging(query, default=20, maximum=50)
        with self._lock:
            # Spotify lists the newest first; creation order reversed is that.
            owned = list(reversed(list(self._playlists.values())))
            items = [self._simplified(p, base_url) for p in owned[offset : offset + limit]]
        return paging_json(
            items,
            endpoint=f"{base_url}me/playlists",
            offset=offset,
            limit=limit,
            total=len(owned),
        )

    def _playlist_json(self, playlist_id: str, base_url: str, as_of: date) -> dict[str, Any]:
        with self._lock:
            playlist = self._playlists[playlist_id]
            answer = self._simplified(playlist, base_url)
        answer["followers"] = {"href": None, "total": 0}
        answer["items"] = self._items_page(playlist_id, "items", {}, base_url, as_of)
        return answer

    def _items_page(
        self, playlist_id: str, kind: str, query: dict[str, str], base_url: str, as_of: date
    ) -> dict[str, Any]:
        offset, limit = _paging(query, default=100, maximum=100)
        track_ids = self.track_ids(playlist_id)
        items = [
            {
                "added_at": f"{as_of.isoformat()}T00:00:00Z",
                "added_by": {"id": self.user_id, "type": "user"},
                "is_local": False,
                "track": self.world.track_json(track_id, as_of, base_url=base_url),
            }
            for track_id in track_ids[offset : offset + limit]
        ]
        return paging_json(
            items,
            endpoint=f"{base_url}playlists/{playlist_id}/{kind}",
            offset=offset,
            limit=limit,
            total=len(track_ids),
        )

    # ---- writes ----------------------------------------------------------------------------

    def _create(self, body: bytes, base_url: str) -> dict[str, Any]:
        payload = _json_body(body)
        name = payload.get("name") if isinstance(payload, dict) else None
        if not isinstance(name, str) or not name.strip():
            raise UserPlaylistError(400, "Missing required field: name")
        with self._lock:
            serial = len(self._playlists) + 1
            digest = hashlib.sha256(f"{self.user_id}:playlist:{serial}".encode()).digest()
            playlist_id = _base62(digest)[:22]
            playlist = _OwnPlaylist(
                id=playlist_id,
                name=name,
                description=str(payload.get("description") or ""),
                public=bool(payload.get("public", True)),
            )
            self._playlists[playlist_id] = playlist
            self.writes += 1
            return self._simplified(playlist, base_url)

    def _uris(self, query: dict[str, str], body: bytes) -> list[str]:
        if query.get("uris"):
            uris: Any = query["uris"].split(",")
        else:
            payload = _json_body(body)
            uris = payload.get("uris") if isinstance(payload, dict) else payload
        if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
            raise UserPlaylistError(400, "uris must be a list of Spotify track URIs")
        if len(uris) > MAX_URIS_PER_WRITE:
            raise UserPlaylistError(400, f"You can add a maximum of {MAX_URIS_PER_WRITE} tracks")
        ids = []
        for uri in uris:
            match = _TRACK_URI.fullmatch(uri)
            if match is None:
                raise UserPlaylistError(400, f"Invalid track uri: {uri}")
            if self.world.track(match.group(1)) is None:
                raise UserPlaylistError(400, "Payload contains a non-existing ID")
            ids.append(match.group(1))
        return ids

    def _write(
        self, playlist_id: str, track_ids: list[str], *, replace: bool, position: str | None
    ) -> dict[str, str]:
        with self._lock:
            playlist = self._playlists[playlist_id]
            if replace:
                playlist.track_ids = list(track_ids)
            else:
                at = len(playlist.track_ids)
                if position is not None:
                    if not position.isdigit() or int(position) > at:
                        raise UserPlaylistError(400, "Invalid position")
                    at = int(position)
                playlist.track_ids[at:at] = track_ids
            playlist.version += 1
            self.writes += 1
            return {"snapshot_id": playlist.snapshot_id}


def _json_body(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        raise UserPlaylistError(400, "Error parsing JSON.") from None


def _paging(query: dict[str, str], *, default: int, maximum: int) -> tuple[int, int]:
    try:
        limit = int(query.get("limit") or default)
        offset = int(query.get("offset") or 0)
    except ValueError:
        raise UserPlaylistError(400, "Invalid limit or offset") from None
    if not 1 <= limit <= maximum or offset < 0:
        raise UserPlaylistError(400, "Invalid limit or offset")
    return offset, limit


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(digest: bytes) -> str:
    number = int.from_bytes(digest, "big")
    chars = []
    while number:
        number, rest = divmod(number, 62)
        chars.append(_BASE62[rest])
    return "".join(chars).rjust(22, "0")
