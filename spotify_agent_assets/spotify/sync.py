"""Incremental catalogue sync: which Spotify calls to make, given what the lake already holds.

Pure functions over a catalogue client and the previous table contents (row dicts), so they run
the same under Dagster, in a test or in a notebook. The rules that keep repeat syncs cheap:

* albums are immutable enough that a known album is never fetched in full again; only the
  artist-albums listing (needed to discover new releases) is paid on every sync;
* tracks are fetched only for albums that no earlier sync has seen;
* playlist items are fetched only when the playlist's ``snapshot_id`` changed.

Objects Spotify cannot give us (an unknown id comes back as ``null`` in a batch, an object
without an id) are set aside as :class:`Quarantined` with their reason; they never stop the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from spotify_agent_assets.spotify.errors import SpotifyParseError
from spotify_agent_assets.spotify.parsing import (
    parse_album,
    parse_artist,
    parse_playlist,
    parse_playlist_item,
    parse_track,
)

Row = dict[str, Any]


class CatalogClient(Protocol):
    """The calls the sync needs; :class:`SpotifyCatalogClient` provides them."""

    def get_artists(self, ids: Sequence[str]) -> list[dict[str, Any] | None]: ...
    def get_albums(self, ids: Sequence[str]) -> list[dict[str, Any] | None]: ...
    def get_tracks(self, ids: Sequence[str]) -> list[dict[str, Any] | None]: ...
    def get_artist_albums(
        self, artist_id: str, include_groups: Sequence[str] = ...
    ) -> list[dict[str, Any]]: ...
    def get_album_tracks_from(self, album: dict[str, Any]) -> list[dict[str, Any]]: ...
    def get_playlist(self, playlist_id: str) -> dict[str, Any]: ...
    def get_playlist_items(self, playlist_id: str) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Quarantined:
    entity: str
    entity_id: str
    reason: str


@dataclass
class SyncResult:
    rows: list[Row]
    quarantined: list[Quarantined] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)  # ids fetched from the API this time
    reused: int = 0  # rows carried over from the previous table without an API call


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _dedupe(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def fetch_artists(client: CatalogClient, artist_ids: Sequence[str]) -> SyncResult:
    """Current artist objects for the roster, one batch call per 50 artists."""
    ids = _dedupe(artist_ids)
    synced_at = _now()
    result = SyncResult(rows=[], fetched=ids)
    for artist_id, obj in zip(ids, client.get_artists(ids), strict=True):
        if obj is None:
            result.quarantined.append(
                Quarantined("artist", artist_id, "Spotify returned null: unknown artist id")
            )
            continue
        try:
            row = parse_artist(obj)
        except SpotifyParseError as exc:
            result.quarantined.append(Quarantined("artist", artist_id, str(exc)))
            continue
        row["synced_at"] = synced_at
        result.rows.append(row)
    return result


def snapshot_artists(client: CatalogClient, artist_ids: Sequence[str], day: dt.date) -> SyncResult:
    """One row per artist for ``day``: followers, popularity and genres as Spotify reports them."""
    current = fetch_artists(client, artist_ids)
    captured_at = _now()
    rows = [
        {
            "date": day,
            "artist_id": r["artist_id"],
            "name": r.get("name"),
            "followers": r.get("followers"),
            "popularity": r.get("popularity"),
            "genres": r.get("genres"),
            "captured_at": captured_at,
        }
        for r in current.rows
    ]
    return SyncResult(rows=rows, quarantined=current.quarantined, fetched=current.fetched)


ALBUM_GROUPS = ("album", "single", "compilation")


def sync_albums(
    client: CatalogClient,
    artist_ids: Sequence[str],
    previous: Sequence[Mapping[str, Any]] = (),
) -> SyncResult:
    """Every album and single of the roster artists, fetching full objects only for new albums.

    The artist-albums listing is read every time (it is how new releases are discovered). Known
    albums keep their previous row; new ones are fetched in batches of 20, and their track ids
    come from the first page embedded in the full album plus any further pages.
    """
    known = {row["album_id"]: dict(row) for row in previous}
    listed: dict[str, Row] = {}
    quarantined: list[Quarantined] = []
    for artist_id in _dedupe(artist_ids):
        for obj in client.get_artist_albums(artist_id, include_groups=ALBUM_GROUPS):
            try:
                row = parse_album(obj)
            except SpotifyParseError as exc:
                quarantined.append(Quarantined("album", str(obj.get("id")), str(exc)))
                continue
            # An album shared by two roster artists is attributed to the first that lists it.
            listed.setdefault(row["album_id"], {**row, "roster_artist_id": artist_id})

    new_ids = [album_id for album_id in listed if album_id not in known]
    now = _now()
    rows: list[Row] = [known[a] for a in listed if a in known]
    for album_id, full in zip(new_ids, client.get_albums(new_ids) if new_ids else [], strict=True):
        if full is None:
            quarantined.append(
                Quarantined("album", album_id, "Spotify returned null for a listed album")
            )
            continue
        try:
            detail = parse_album(full)
            track_ids = [
                t["track_id"]
                for t in (parse_track(obj, album_id) for obj in client.get_album_tracks_from(full))
                if t.get("track_id")
            ]
        except SpotifyParseError as exc:
            quarantined.append(Quarantined("album", album_id, str(exc)))
            continue
        rows.append(
            {
                **listed[album_id],
                "label": detail.get("label"),
                "upc": detail.get("upc"),
                "track_ids": track_ids,
                "first_seen_at": now,
            }
        )
    return SyncResult(
        rows=rows, quarantined=quarantined, fetched=new_ids, reused=len(rows) - len(new_ids)
    )


def sync_tracks(
    client: CatalogClient,
    albums: Sequence[Mapping[str, Any]],
    previous: Sequence[Mapping[str, Any]] = (),
) -> SyncResult:
    """Full track objects (ISRC, popularity, markets) for albums no earlier sync has seen.

    Tracks of albums already present in ``previous`` are carried over without any API call.
    """
    seen_albums = {row.get("album_id") for row in previous}
    current_albums = {album["album_id"] for album in albums}
    # Tracks of albums that left the catalogue listing are dropped with them.
    carried = [dict(row) for row in previous if row.get("album_id") in current_albums]
    carried_ids = {row["track_id"] for row in carried}
    wanted = _dedupe(
        track_id
        for album in albums
        if album["album_id"] not in seen_albums
        for track_id in (album.get("track_ids") or [])
        if track_id not in carried_ids
    )
    result = SyncResult(rows=carried, fetched=wanted, reused=len(carried))
    if not wanted:
        return result
    fetched_at = _now()
    album_of = {
        track_id: album["album_id"] for album in albums for track_id in album.get("track_ids") or []
    }
    for track_id, obj in zip(wanted, client.get_tracks(wanted), strict=True):
        if obj is None:
            result.quarantined.append(
                Quarantined("track", track_id, "Spotify returned null: track removed or unknown")
            )
            continue
        try:
            row = parse_track(obj, album_of.get(track_id))
        except SpotifyParseError as exc:
            result.quarantined.append(Quarantined("track", track_id, str(exc)))
            continue
        row["fetched_at"] = fetched_at
        result.rows.append(row)
    return result


def fetch_playlists(client: CatalogClient, playlist_ids: Sequence[str]) -> SyncResult:
    """Playlist metadata (name, owner, followers and the ``snapshot_id``), one call each."""
    synced_at = _now()
    result = SyncResult(rows=[], fetched=_dedupe(playlist_ids))
    for playlist_id in result.fetched:
        try:
            row = parse_playlist(client.get_playlist(playlist_id))
        except SpotifyParseError as exc:
            result.quarantined.append(Quarantined("playlist", playlist_id, str(exc)))
            continue
        row["synced_at"] = synced_at
        result.rows.append(row)
    return result


def sync_playlist_items(
    client: CatalogClient,
    playlists: Sequence[Mapping[str, Any]],
    previous: Sequence[Mapping[str, Any]] = (),
) -> SyncResult:
    """Items of every playlist, fetched only where ``snapshot_id`` differs from the stored one."""
    stored: dict[str, list[Row]] = {}
    for row in previous:
        stored.setdefault(row["playlist_id"], []).append(dict(row))
    rows: list[Row] = []
    fetched: list[str] = []
    reused = 0
    fetched_at = _now()
    for playlist in playlists:
        playlist_id, snapshot_id = playlist["playlist_id"], playlist["snapshot_id"]
        old = stored.get(playlist_id, [])
        if old and all(r.get("snapshot_id") == snapshot_id for r in old):
            rows.extend(old)
            reused += len(old)
            continue
        fetched.append(playlist_id)
        for position, item in enumerate(client.get_playlist_items(playlist_id)):
            row = parse_playlist_item(item, playlist_id, position)
            row["snapshot_id"] = snapshot_id
            row["fetched_at"] = fetched_at
            rows.append(row)
    return SyncResult(rows=rows, fetched=fetched, reused=reused)
