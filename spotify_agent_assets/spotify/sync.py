"""Incremental catalogue sync: which Spotify calls to make, given what the lake already holds.

Pure functions over a catalogue client and the previous table contents (row dicts), so they run
the same under Dagster, in a test or in a notebook. The rules that keep repeat syncs cheap:

* albums are immutable enough that a known album is never fetched in full again; only the
  artist-albums listing (needed to discover new releases) is paid on every sync;
* tracks are fetched only for albums that no earlier sync has seen, and for played tracks that
  no album listing shows (a track taken down), within the bounds of :mod:`.played_tracks`;
* playlist items are fetched only when the playlist's ``snapshot_id`` changed. A playlist
  without a ``snapshot_id`` (Spotify may omit it) always counts as changed, and so do items
  stored without one, so nothing is reused on the strength of an unknown version.

Records Spotify cannot give us are set aside as :class:`Quarantined` with the field and the
reason, and never stop the rest: an unknown id (``null`` in a batch), an object the parsing rules
refuse (see :mod:`.parsing`), a 4xx for one playlist or one artist's releases. A record set
aside keeps the row an earlier sync stored for it, if any (its ``synced_at`` says how old it
is), so one bad answer never erases what the tables knew.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from spotify_agent_assets.spotify.errors import (
    WHOLE_RECORD,
    SpotifyApiError,
    SpotifyPaginationError,
    SpotifyParseError,
)
from spotify_agent_assets.spotify.parsing import (
    parse_album,
    parse_artist,
    parse_playlist,
    parse_playlist_item,
    parse_track,
)
from spotify_agent_assets.spotify.played_tracks import (
    MAX_ATTEMPTS,
    RETRY_AFTER,
    plan_lookups,
    unresolved_row,
)

Row = dict[str, Any]

# What one call about one record can fail with for that record alone: a 4xx (deleted, private,
# invalid), an answer of the wrong shape, a paging loop. Transport trouble is not here: it is
# the same for every record and goes to the step's RetryPolicy.
RECORD_ERRORS = (SpotifyApiError, SpotifyParseError, SpotifyPaginationError)
KEPT = "; the row stored by an earlier sync is kept"


class CatalogClient(Protocol):
    """The calls the sync needs; :class:`SpotifyCatalogClient` provides them."""

    def get_artists(self, ids: Sequence[str]) -> list[Any]: ...
    def get_albums(self, ids: Sequence[str]) -> list[Any]: ...
    def get_tracks(self, ids: Sequence[str]) -> list[Any]: ...
    def get_artist_albums(
        self, artist_id: str, include_groups: Sequence[str] = ...
    ) -> list[Any]: ...
    def get_album_tracks_from(self, album: dict[str, Any]) -> list[Any]: ...
    def get_playlist(self, playlist_id: str) -> dict[str, Any]: ...
    def get_playlist_items(self, playlist_id: str) -> list[Any]: ...


@dataclass(frozen=True)
class Quarantined:
    """A record set aside: what it is, its id (or where it was found), the field, and why.

    ``field`` is the dotted path of the offending JSON field (``followers.total``,
    ``track.artists``), or ``(record)`` when the record as a whole is unusable.
    """

    entity: str
    entity_id: str
    field: str
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


def _refused(entity: str, entity_id: str, error: Exception, kept: bool = False) -> Quarantined:
    field_name = error.field if isinstance(error, SpotifyParseError) else WHOLE_RECORD
    return Quarantined(entity, entity_id, field_name, str(error) + (KEPT if kept else ""))


def _null(entity: str, entity_id: str, reason: str, kept: bool = False) -> Quarantined:
    return Quarantined(entity, entity_id, WHOLE_RECORD, reason + (KEPT if kept else ""))


def fetch_artists(
    client: CatalogClient,
    artist_ids: Sequence[str],
    previous: Sequence[Mapping[str, Any]] = (),
) -> SyncResult:
    """Current artist objects for the roster, one batch call per 50 artists."""
    ids = _dedupe(artist_ids)
    stored = {row["artist_id"]: dict(row) for row in previous}
    synced_at = _now()
    result = SyncResult(rows=[], fetched=ids)
    for artist_id, obj in zip(ids, client.get_artists(ids), strict=True):
        kept = stored.get(artist_id)
        if obj is None:
            refused = _null(
                "artist", artist_id, "Spotify returned null: unknown artist id", bool(kept)
            )
        else:
            try:
                row = parse_artist(obj)
            except SpotifyParseError as exc:
                refused = _refused("artist", artist_id, exc, bool(kept))
            else:
                row["synced_at"] = synced_at
                result.rows.append(row)
                continue
        result.quarantined.append(refused)
        if kept:
            result.rows.append(kept)
            result.reused += 1
    return result


def snapshot_artists(client: CatalogClient, artist_ids: Sequence[str], day: dt.date) -> SyncResult:
    """One row per artist for ``day``: followers, popularity and genres as Spotify reports them.

    An artist quarantined today has no row for the day: a snapshot is a measurement, and an
    earlier day's numbers under today's date would be a false one.
    """
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
    come from the first page embedded in the full album plus any further pages. A new album
    that is quarantined is not stored, so the next sync tries it again.
    """
    known = {row["album_id"]: dict(row) for row in previous}
    listed: dict[str, Row] = {}
    kept: dict[str, Row] = {}  # known albums of records set aside this time
    quarantined: list[Quarantined] = []
    for artist_id in _dedupe(artist_ids):
        try:
            releases = client.get_artist_albums(artist_id, include_groups=ALBUM_GROUPS)
        except RECORD_ERRORS as exc:
            theirs = {a: r for a, r in known.items() if r.get("roster_artist_id") == artist_id}
            quarantined.append(
                Quarantined(
                    "artist_albums",
                    artist_id,
                    WHOLE_RECORD,
                    f"listing the artist's releases failed: {exc}" + (KEPT if theirs else ""),
                )
            )
            kept.update(theirs)
            continue
        for index, obj in enumerate(releases):
            try:
                row = parse_album(obj)
            except SpotifyParseError as exc:
                album_id = obj.get("id") if isinstance(obj, Mapping) else None
                usable = isinstance(album_id, str) and bool(album_id)
                where = album_id if usable else f"(no id: release {index} of artist {artist_id})"
                quarantined.append(_refused("album", str(where), exc, usable and album_id in known))
                if usable and album_id in known:
                    kept[str(album_id)] = known[str(album_id)]
                continue
            # An album shared by two roster artists is attributed to the first that lists it.
            listed.setdefault(row["album_id"], {**row, "roster_artist_id": artist_id})

    new_ids = [album_id for album_id in listed if album_id not in known]
    now = _now()
    rows: list[Row] = [known[a] for a in listed if a in known]
    rows += [row for album_id, row in kept.items() if album_id not in listed]
    reused = len(rows)
    for album_id, full in zip(new_ids, client.get_albums(new_ids) if new_ids else [], strict=True):
        if full is None:
            quarantined.append(_null("album", album_id, "Spotify returned null for a listed album"))
            continue
        try:
            detail = parse_album(full)
            track_ids = []
            for index, obj in enumerate(client.get_album_tracks_from(full)):
                try:
                    track_id = parse_track(obj, album_id)["track_id"]
                except SpotifyParseError as exc:
                    # Without every track id the album row would be wrong for good: tracks of
                    # a stored album are never fetched again.
                    raise SpotifyParseError(
                        f"track {index} of the album: {exc}",
                        field=f"tracks.items[{index}].{exc.field}",
                    ) from exc
                if track_id:
                    track_ids.append(track_id)
        except RECORD_ERRORS as exc:
            quarantined.append(_refused("album", album_id, exc))
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
    return SyncResult(rows=rows, quarantined=quarantined, fetched=new_ids, reused=reused)


@dataclass
class TrackSyncResult(SyncResult):
    """A track sync: the rows, plus the played ids that are still unresolved (see
    :mod:`.played_tracks`) and what became of this sync's played-id lookups."""

    unresolved: list[Row] = field(default_factory=list)
    played_found: int = 0  # played ids looked up and stored this time
    played_deferred: int = 0  # played ids left for a later sync by the per-sync cap
    played_not_ids: int = 0  # played values that are no Spotify id, never asked


def sync_tracks(
    client: CatalogClient,
    albums: Sequence[Mapping[str, Any]],
    previous: Sequence[Mapping[str, Any]] = (),
    played_ids: Sequence[str] = (),
    unresolved: Sequence[Mapping[str, Any]] = (),
) -> TrackSyncResult:
    """Full track objects (ISRC, popularity, markets) for albums no earlier sync has seen, and
    for played tracks that no album listing shows.

    Tracks of albums already present in ``previous`` are carried over without any API call;
    an album counts as seen when one of its listed tracks is stored (a track found through
    its plays alone does not make its album seen). ``played_ids`` (most played first) are the
    track ids listeners played: those neither listed nor stored are asked by id within the
    bounds of :mod:`.played_tracks`, with ``unresolved`` (the previous
    ``spotify_unresolved_tracks``) saying which were asked before. A played track found is
    stored with the album its object names, and carried by later syncs as long as it is
    played, whether or not its album is still listed.
    """
    listed = {album["album_id"]: set(album.get("track_ids") or []) for album in albums}
    seen_albums = {
        row.get("album_id")
        for row in previous
        if row["track_id"] in listed.get(row.get("album_id"), ())
    }
    played = set(played_ids)
    # Tracks of albums that left the catalogue listing are dropped with them, unless played:
    # a track taken down is in no listing, and its plays still need its artists.
    carried = [
        dict(row) for row in previous if row.get("album_id") in listed or row["track_id"] in played
    ]
    carried_ids = {row["track_id"] for row in carried}
    wanted = _dedupe(
        track_id
        for album in albums
        if album["album_id"] not in seen_albums
        for track_id in (album.get("track_ids") or [])
        if track_id not in carried_ids
    )
    now = _now()
    all_listed = {track_id for ids in listed.values() for track_id in ids}
    plan = plan_lookups(played_ids, carried_ids | all_listed, unresolved, now)
    result = TrackSyncResult(
        rows=carried,
        fetched=wanted + plan.ask,
        reused=len(carried),
        unresolved=plan.waiting,
        played_deferred=plan.deferred,
        played_not_ids=plan.not_ids,
    )
    if wanted:
        album_of = {track_id: album_id for album_id, ids in listed.items() for track_id in ids}
        _fetch_listed_tracks(client, wanted, album_of, now, result)
    if plan.ask:
        _look_up_played_tracks(client, plan.ask, unresolved, now, result)
    return result


def _fetch_listed_tracks(
    client: CatalogClient,
    wanted: list[str],
    album_of: Mapping[str, str],
    now: dt.datetime,
    result: TrackSyncResult,
) -> None:
    for track_id, obj in zip(wanted, client.get_tracks(wanted), strict=True):
        if obj is None:
            result.quarantined.append(
                _null("track", track_id, "Spotify returned null: track removed or unknown")
            )
            continue
        try:
            row = parse_track(obj, album_of.get(track_id))
        except SpotifyParseError as exc:
            result.quarantined.append(_refused("track", track_id, exc))
            continue
        if row["track_id"] is None:
            result.quarantined.append(
                Quarantined(
                    "track", track_id, "id", "Spotify answered with a local file, which has no id"
                )
            )
            continue
        row["fetched_at"] = now
        result.rows.append(row)


def _look_up_played_tracks(
    client: CatalogClient,
    ask: list[str],
    unresolved: Sequence[Mapping[str, Any]],
    now: dt.datetime,
    result: TrackSyncResult,
) -> None:
    """Ask by id for played tracks no listing shows; what gets no usable answer is quarantined
    and remembered as unresolved, with one more attempt counted."""
    before = {str(row["track_id"]): row for row in unresolved}
    for track_id, obj in zip(ask, client.get_tracks(ask), strict=True):
        field_name = WHOLE_RECORD
        if obj is None:
            reason = "Spotify returned null for a played track id: not in the catalogue"
        else:
            try:
                row = parse_track(obj)
            except SpotifyParseError as exc:
                field_name, reason = exc.field, str(exc)
            else:
                if row["track_id"] == track_id and row["album_id"] is not None:
                    row["fetched_at"] = now
                    result.rows.append(row)
                    result.played_found += 1
                    continue
                # A relinked answer (another id) or one without an album cannot attribute
                # the plays of this id; storing it would also ask this id again forever.
                field_name = "id" if row["track_id"] != track_id else "album.id"
                reason = (
                    f"Spotify answered for a played track id with track {row['track_id']!r}"
                    if row["track_id"] != track_id
                    else "Spotify answered for a played track id without its album"
                )
        stored = unresolved_row(track_id, reason, before.get(track_id), now)
        result.unresolved.append(stored)
        attempts = stored["attempts"]
        tries = f"; asked {attempts} of {MAX_ATTEMPTS} times" + (
            ", not asked again"
            if attempts >= MAX_ATTEMPTS
            else f", asked again after {RETRY_AFTER.days} days"
        )
        result.quarantined.append(Quarantined("played_track", track_id, field_name, reason + tries))


def fetch_playlists(
    client: CatalogClient,
    playlist_ids: Sequence[str],
    previous: Sequence[Mapping[str, Any]] = (),
) -> SyncResult:
    """Playlist metadata (name, owner, followers and the ``snapshot_id``), one call each."""
    stored = {row["playlist_id"]: dict(row) for row in previous}
    synced_at = _now()
    result = SyncResult(rows=[], fetched=_dedupe(playlist_ids))
    for playlist_id in result.fetched:
        kept = stored.get(playlist_id)
        try:
            row = parse_playlist(client.get_playlist(playlist_id))
        except RECORD_ERRORS as exc:
            result.quarantined.append(_refused("playlist", playlist_id, exc, bool(kept)))
            if kept:
                result.rows.append(kept)
                result.reused += 1
            continue
        row["synced_at"] = synced_at
        result.rows.append(row)
    return result


def sync_playlist_items(
    client: CatalogClient,
    playlists: Sequence[Mapping[str, Any]],
    previous: Sequence[Mapping[str, Any]] = (),
) -> SyncResult:
    """Items of every playlist, fetched unless the stored items have its ``snapshot_id``.

    A playlist whose items call fails for it alone (a 4xx: deleted, private) is quarantined and
    keeps its stored items, whose old ``snapshot_id`` makes the next sync try again. Items that
    are quarantined leave a gap at their position, and the playlist's rows are stored without a
    ``snapshot_id`` so that the next sync reads the whole playlist again.
    """
    stored: dict[str, list[Row]] = {}
    for row in previous:
        stored.setdefault(row["playlist_id"], []).append(dict(row))
    result = SyncResult(rows=[])
    fetched_at = _now()
    for playlist in playlists:
        playlist_id, snapshot_id = playlist["playlist_id"], playlist.get("snapshot_id")
        old = stored.get(playlist_id, [])
        # None == None must not count as unchanged: an unknown version is never reused.
        if (
            snapshot_id is not None
            and old
            and all(r.get("snapshot_id") == snapshot_id for r in old)
        ):
            result.rows.extend(old)
            result.reused += len(old)
            continue
        try:
            items = client.get_playlist_items(playlist_id)
        except RECORD_ERRORS as exc:
            result.quarantined.append(_refused("playlist_items", playlist_id, exc, bool(old)))
            result.rows.extend(old)
            result.reused += len(old)
            continue
        result.fetched.append(playlist_id)
        rows: list[Row] = []
        refused = 0
        for position, item in enumerate(items):
            try:
                row = parse_playlist_item(item, playlist_id, position)
            except SpotifyParseError as exc:
                result.quarantined.append(
                    _refused("playlist_item", f"{playlist_id}#{position}", exc)
                )
                refused += 1
                continue
            row["fetched_at"] = fetched_at
            rows.append(row)
        for row in rows:
            row["snapshot_id"] = snapshot_id if not refused else None
        result.rows.extend(rows)
    return result
