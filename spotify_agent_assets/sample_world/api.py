"""The Spotify Web API over the sample world, as a pure function from request to response.

`SampleWorldApi.handle` takes a method, URL, headers and body and returns status, headers and
body bytes; it opens no sockets, so the HTTP emulator and the in-process `requests` adapter serve
exactly the same bytes. Links in responses (`href`, `next`, `previous`) are built from the
request URL's scheme, host and the path prefix before `/v1/`, so they work behind any base URL.

Behaviour worth knowing:
- Tokens: `POST .../api/token` issues bearer tokens. A `/v1/` request is accepted only with a
  token this instance issued and has not expired, also when `credentials` is None (then any
  client id and secret may ask for one). `grant_type=refresh_token` with `refresh_token`
  (default `SAMPLE_REFRESH_TOKEN`) issues one too: the user token write-back uses.
- The signed-in user's own playlists (`GET /me/playlists`, create, replace and add items) are
  served by `user_playlists.UserPlaylists`; every other route is read-only (405 otherwise).
- `fields` on playlist endpoints is applied in full, nested selections included
  (`tracks.items(track(name,id)),snapshot_id`); exclusions (`!`) are refused with 400.
- `fixed` (a `FixedObjects`) holds objects served verbatim instead of the world's, by id:
  recorded real answers, bent by a test.
- Playlist items that are podcast episodes are always returned as episode objects, whether or
  not `additional_types` names `episode`.
- A track taken down (`Track.removed_on`) leaves album listings, top tracks and search, but
  GET /tracks and /tracks/{id} still answer for it, as Spotify does: no `available_markets`,
  and with a `market`, `is_playable: false` and `restrictions: {"reason": "market"}`.
- Search is a case-insensitive substring match of `q` on names; field filters such as
  `artist:` are not interpreted.

Request parsing, parameter checks and the answers' encodings are in `api_requests`.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from spotify_agent_assets.sample_world.api_requests import (
    ApiResponse,
    _ApiError,
    _check_id,
    _fields,
    _ids,
    _market,
    _oauth_error,
    _page,
    _paging,
    _Request,
    _with_fixed,
    bearer_token,
    error_response,
    json_response,
)
from spotify_agent_assets.sample_world.catalogue import DEFAULT_AS_OF, WORLD_START, JsonObject
from spotify_agent_assets.sample_world.field_selection import select_fields
from spotify_agent_assets.sample_world.fixed_objects import FixedObjects
from spotify_agent_assets.sample_world.shapes import paging_json
from spotify_agent_assets.sample_world.user_playlists import UserPlaylistError, UserPlaylists
from spotify_agent_assets.sample_world.world import SampleWorld

TOKEN_LIFETIME_SECONDS = 3600
_ALBUM_GROUPS = ("album", "single", "appears_on", "compilation")
_SEARCH_TYPES = ("album", "artist", "playlist", "track")
# The user refresh token the sample world accepts (grant_type=refresh_token) for write-back.
SAMPLE_REFRESH_TOKEN = "sample-world-refresh-token"  # noqa: S105 -- the sample world's public fake token


class SampleWorldApi:
    """Routes Web API requests to the world as it looks on `as_of` (a mutable attribute)."""

    def __init__(
        self,
        world: SampleWorld,
        as_of: date = DEFAULT_AS_OF,
        credentials: tuple[str, str] | None = None,
        fixed: FixedObjects | None = None,
    ) -> None:
        self.world = world
        self.as_of = as_of
        self.credentials = credentials
        self.fixed = fixed if fixed is not None else FixedObjects()
        self._tokens: dict[str, bool] = {}  # token -> expired
        self._issued = 0
        self._lock = threading.Lock()
        self.refresh_token = SAMPLE_REFRESH_TOKEN
        # The signed-in user's own playlists: the write endpoints (user_playlists.py).
        self.user_playlists = UserPlaylists(world)
        # Handlers answer Any: a fixed object is served whatever its shape.
        self._routes: dict[tuple[str, ...], Callable[[_Request, str], Any]] = {
            ("artists",): self._several_artists,
            ("artists", "*"): self._artist,
            ("artists", "*", "albums"): self._artist_albums,
            ("artists", "*", "top-tracks"): self._artist_top_tracks,
            ("albums",): self._several_albums,
            ("albums", "*"): self._album,
            ("albums", "*", "tracks"): self._album_tracks,
            ("tracks",): self._several_tracks,
            ("tracks", "*"): self._track,
            ("playlists", "*"): self._playlist,
            ("playlists", "*", "tracks"): self._playlist_items,
            ("playlists", "*", "items"): self._playlist_items,
            ("search",): self._search,
        }

    @property
    def as_of(self) -> date:
        return self._as_of

    @as_of.setter
    def as_of(self, day: date) -> None:
        if day < WORLD_START:
            raise ValueError(f"as_of {day} is before the sample world starts ({WORLD_START})")
        self._as_of = day

    # ---- tokens ----------------------------------------------------------------------------

    def issue_token(self) -> str:
        with self._lock:
            self._issued += 1
            digest = hashlib.sha256(f"{self.world.seed}:token:{self._issued}".encode()).digest()
            token = "BQ" + base64.urlsafe_b64encode(digest * 2).decode().rstrip("=")
            self._tokens[token] = False
        return token

    def expire_tokens(self) -> None:
        """Every token issued so far is answered with 401 from now on."""
        with self._lock:
            self._tokens = dict.fromkeys(self._tokens, True)

    def expire_token(self, token: str) -> None:
        with self._lock:
            if token in self._tokens:
                self._tokens[token] = True

    def token_is_valid(self, token: str) -> bool:
        with self._lock:
            return self._tokens.get(token) is False

    # ---- entry point -----------------------------------------------------------------------

    def handle(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None
    ) -> ApiResponse:
        parts = urlsplit(url)
        lowered = {k.lower(): v for k, v in headers.items()}
        if parts.path.rstrip("/").endswith("/api/token"):
            if method.upper() != "POST":
                return error_response(405, "Method not allowed")
            return self._token(lowered, body or b"")
        marker = parts.path.find("/v1/")
        if marker < 0:
            return error_response(404, "Service not found")
        token = bearer_token(lowered)
        if token is None:
            return error_response(401, "No token provided")
        if not self.token_is_valid(token):
            return error_response(401, "The access token expired")
        route = [unquote(s) for s in parts.path[marker + 4 :].strip("/").split("/") if s]
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        base_url = f"{parts.scheme}://{parts.netloc}{parts.path[:marker]}/v1/"
        request = _Request(base_url, route, query)
        try:
            own = self.user_playlists.handle(
                method, route, query, body or b"", base_url, self.as_of
            )
            if own is not None:
                status, payload = own
                return json_response(status, select_fields(payload, _fields(request)))
        except UserPlaylistError as error:
            return error_response(error.status, error.message)
        except _ApiError as error:
            return error_response(error.status, error.message)
        if method.upper() != "GET":
            return error_response(405, "Method not allowed")
        pattern = tuple(route[:1]) + tuple("*" if i == 1 else s for i, s in enumerate(route) if i)
        handler = self._routes.get(pattern)
        if handler is None:
            return error_response(404, "Service not found")
        try:
            return json_response(200, handler(request, route[1] if len(route) > 1 else ""))
        except _ApiError as error:
            return error_response(error.status, error.message)

    def _token(self, headers: Mapping[str, str], body: bytes) -> ApiResponse:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        client = (form.get("client_id"), form.get("client_secret"))
        authorization = headers.get("authorization", "")
        if authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:].strip()).decode("utf-8")
            except ValueError:
                decoded = ""
            client_id, _, secret = decoded.partition(":")
            client = (client_id, secret)
        grant_type = form.get("grant_type")
        if grant_type is None:
            return _oauth_error("unsupported_grant_type", "grant_type parameter is missing")
        if grant_type not in ("client_credentials", "refresh_token"):
            return _oauth_error(
                "unsupported_grant_type", "grant_type must be client_credentials or refresh_token"
            )
        if grant_type == "refresh_token" and form.get("refresh_token") != self.refresh_token:
            return _oauth_error("invalid_grant", "Invalid refresh token")
        if not client[0] or (self.credentials is not None and client != self.credentials):
            return _oauth_error("invalid_client", "Invalid client")
        payload = {
            "access_token": self.issue_token(),
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
        }
        return json_response(200, payload)

    # ---- catalogue -------------------------------------------------------------------------

    def _several_artists(self, request: _Request, _: str) -> JsonObject:
        ids = _ids(request, 50)
        world, day = self.world, self.as_of
        artists = [
            world.artist_json(i, day, base_url=request.base_url) if world.artist(i) else None
            for i in ids
        ]
        return {"artists": _with_fixed(self.fixed.artists, ids, artists)}

    def _artist(self, request: _Request, artist_id: str) -> Any:
        if artist_id in self.fixed.artists:
            return self.fixed.artists[artist_id]
        self._require_artist(artist_id)
        return self.world.artist_json(artist_id, self.as_of, base_url=request.base_url)

    def _artist_albums(self, request: _Request, artist_id: str) -> JsonObject:
        if artist_id in self.fixed.artist_albums:
            listing = self.fixed.artist_albums[artist_id]
            return _page(request, listing, f"artists/{artist_id}/albums", default=20, maximum=50)
        self._require_artist(artist_id)
        market = _market(request)
        groups_param = request.param("include_groups")
        groups = groups_param.split(",") if groups_param else list(_ALBUM_GROUPS)
        if any(g not in _ALBUM_GROUPS for g in groups):
            raise _ApiError(400, "Invalid include_groups value")
        albums = {album.id: album for album in self.world.visible_albums(self.as_of)}
        found = [
            (album_id, group)
            for album_id, group in self.world.artist_album_ids(artist_id, self.as_of)
            if group in groups and (market is None or market in albums[album_id].markets)
        ]
        items = [
            self.world.simplified_album_json(
                album_id, self.as_of, base_url=request.base_url, album_group=group
            )
            for album_id, group in found
        ]
        return _page(request, items, f"artists/{artist_id}/albums", default=20, maximum=50)

    def _artist_top_tracks(self, request: _Request, artist_id: str) -> JsonObject:
        self._require_artist(artist_id)
        market = _market(request)
        world, day = self.world, self.as_of
        own = [t for t in world.visible_tracks(day) if t.artist_ids[0] == artist_id]
        own.sort(key=lambda t: (-world.track_popularity(t.id, day), t.id))
        tracks = [
            world.track_json(t.id, day, base_url=request.base_url, market=market) for t in own[:10]
        ]
        return {"tracks": tracks}

    def _several_albums(self, request: _Request, _: str) -> JsonObject:
        ids = _ids(request, 20)
        market = _market(request)
        albums = [
            self.world.album_json(i, self.as_of, base_url=request.base_url, market=market)
            if self.world.album_visible(i, self.as_of)
            else None
            for i in ids
        ]
        return {"albums": _with_fixed(self.fixed.albums, ids, albums)}

    def _album(self, request: _Request, album_id: str) -> Any:
        if album_id in self.fixed.albums:
            return self.fixed.albums[album_id]
        self._require_album(album_id)
        market = _market(request)
        return self.world.album_json(album_id, self.as_of, base_url=request.base_url, market=market)

    def _album_tracks(self, request: _Request, album_id: str) -> JsonObject:
        if album_id in self.fixed.album_tracks:
            items = self.fixed.album_tracks[album_id]
            return _page(request, items, f"albums/{album_id}/tracks", default=20, maximum=50)
        self._require_album(album_id)
        market = _market(request)
        items = [
            self.world.simplified_track_json(
                t, self.as_of, base_url=request.base_url, market=market
            )
            for t in self.world.album_track_ids(album_id, self.as_of)
        ]
        return _page(request, items, f"albums/{album_id}/tracks", default=20, maximum=50)

    def _several_tracks(self, request: _Request, _: str) -> JsonObject:
        ids = _ids(request, 50)
        market = _market(request)
        tracks = [
            self.world.track_json(i, self.as_of, base_url=request.base_url, market=market)
            if self._track_resolvable(i)
            else None
            for i in ids
        ]
        return {"tracks": _with_fixed(self.fixed.tracks, ids, tracks)}

    def _track(self, request: _Request, track_id: str) -> Any:
        if track_id in self.fixed.tracks:
            return self.fixed.tracks[track_id]
        _check_id(track_id)
        if not self._track_resolvable(track_id):
            raise _ApiError(404, "Resource not found")
        market = _market(request)
        return self.world.track_json(track_id, self.as_of, base_url=request.base_url, market=market)

    def _playlist(self, request: _Request, playlist_id: str) -> Any:
        if playlist_id in self.fixed.playlists:
            return select_fields(self.fixed.playlists[playlist_id], _fields(request))
        self._require_playlist(playlist_id)
        market = _market(request)
        fields = _fields(request)
        items_query = {
            k: v for k, v in request.query.items() if k in ("market", "additional_types") and v
        }
        playlist = self.world.playlist_json(
            playlist_id,
            self.as_of,
            base_url=request.base_url,
            market=market,
            items_query=items_query,
        )
        return select_fields(playlist, fields)

    def _playlist_items(self, request: _Request, playlist_id: str) -> JsonObject:
        if playlist_id in self.fixed.playlist_items:
            items = self.fixed.playlist_items[playlist_id]
            path = f"playlists/{playlist_id}/{request.route[2]}"
            page = _page(request, items, path, default=100, maximum=100)
            return select_fields(page, _fields(request))
        self._require_playlist(playlist_id)
        offset, limit = _paging(request, default=100, maximum=100)
        market = _market(request)
        fields = _fields(request)
        entries = self.world.playlist_entries(playlist_id, self.as_of)
        items = [
            self.world.playlist_item_json(e, self.as_of, base_url=request.base_url, market=market)
            for e in entries[offset : offset + limit]
        ]
        page = paging_json(
            items,
            endpoint=f"{request.base_url}playlists/{playlist_id}/{request.route[2]}",
            offset=offset,
            limit=limit,
            total=len(entries),
            query=request.others("offset", "limit"),
        )
        return select_fields(page, fields)

    def _search(self, request: _Request, _: str) -> JsonObject:
        text = request.param("q")
        if text is None:
            raise _ApiError(400, "No search query")
        types_param = request.param("type")
        if types_param is None:
            raise _ApiError(400, "Missing parameter type")
        types = types_param.split(",")
        for kind in types:
            if kind not in _SEARCH_TYPES:
                raise _ApiError(400, f"Bad search type field {kind}")
        offset, limit = _paging(request, default=20, maximum=50)
        needle = text.strip().lower()
        results: JsonObject = {}
        for kind in types:
            matched = self._search_ids(kind, needle)
            page = matched[offset : offset + limit]
            results[f"{kind}s"] = paging_json(
                [self._search_item(kind, i, request.base_url) for i in page],
                endpoint=f"{request.base_url}search",
                offset=offset,
                limit=limit,
                total=len(matched),
                query=request.others("offset", "limit"),
            )
        return results

    def _search_ids(self, kind: str, needle: str) -> list[str]:
        world, day = self.world, self.as_of
        if kind == "artist":
            artists = [a.id for a in world.artists() if needle in a.name.lower()]
            return sorted(artists, key=lambda i: (-world.popularity(i, day), i))
        if kind == "album":
            albums = [a for a in world.visible_albums(day) if needle in a.name.lower()]
            return [a.id for a in sorted(albums, key=lambda a: (-a.release_date.toordinal(), a.id))]
        if kind == "track":
            tracks = [t.id for t in world.visible_tracks(day) if needle in t.name.lower()]
            return sorted(tracks, key=lambda i: (-world.track_popularity(i, day), i))
        playlists = [p for p in world.playlists() if needle in p.name.lower()]
        return [p.id for p in sorted(playlists, key=lambda p: (p.name, p.id))]

    def _search_item(self, kind: str, object_id: str, base_url: str) -> JsonObject:
        world, day = self.world, self.as_of
        if kind == "artist":
            return world.artist_json(object_id, day, base_url=base_url)
        if kind == "album":
            return world.simplified_album_json(object_id, day, base_url=base_url)
        if kind == "track":
            return world.track_json(object_id, day, base_url=base_url)
        return world.simplified_playlist_json(object_id, day, base_url=base_url)

    # ---- lookups ---------------------------------------------------------------------------

    def _require_artist(self, artist_id: str) -> None:
        _check_id(artist_id)
        if self.world.artist(artist_id) is None:
            raise _ApiError(404, "Resource not found")

    def _require_album(self, album_id: str) -> None:
        _check_id(album_id)
        if not self.world.album_visible(album_id, self.as_of):
            raise _ApiError(404, "Resource not found")

    def _track_resolvable(self, track_id: str) -> bool:
        """Whether GET /tracks answers for the id: any released track, taken down or not.

        Like the real API, a track taken down stays resolvable by id (no markets, and
        `is_playable: false` with a `market` restriction when a market is asked for); only
        album listings, top tracks and search leave it out.
        """
        track = self.world.track(track_id)
        return track is not None and self.world.album_visible(track.album_id, self.as_of)

    def _require_playlist(self, playlist_id: str) -> None:
        _check_id(playlist_id)
        if self.world.playlist(playlist_id) is None:
            raise _ApiError(404, "Resource not found")
