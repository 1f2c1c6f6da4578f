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
from spotify_agent_assets.spotify.played_tracks import MAX_ATTEMPTS, RETRY_AFTER, plan_lookups


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
    track_calls: list[list[str]] = field(default_factory=list)

    def get_artists(self, ids: Sequence[str]) -> list[Any]:
        return [self.artists.get(i) for i in ids]

    def get_albums(self, ids: Sequence[str]) -> list[Any]:
        return [self.albums.get(i) for i in ids]

    def get_tracks(self, ids: Sequence[str]) -> list[Any]:
        self.track_calls.append(list(ids))
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


# Played-track lookups need real-looking ids: anything else is never asked.
LISTED, GONE, UNKNOWN = "1" * 22, "2" * 22, "3" * 22
ALBUM, OTHER_ALBUM = "a" * 22, "b" * 22


def _taken_down(track_id: str, album_id: str) -> dict[str, Any]:
    # As the Web API answers for a track taken down: still there by id, playable nowhere.
    return {
        "id": track_id,
        "album": {"id": album_id},
        "artists": [{"id": "r" * 22}],
        "available_markets": [],
        "is_playable": False,
        "restrictions": {"reason": "market"},
    }


def test_a_played_track_no_listing_shows_is_fetched_once_then_carried() -> None:
    catalogue = Catalogue(tracks={LISTED: {"id": LISTED}, GONE: _taken_down(GONE, ALBUM)})
    albums = [{"album_id": ALBUM, "track_ids": [LISTED]}]
    first = sync.sync_tracks(catalogue, albums, played_ids=[GONE, LISTED])
    assert catalogue.track_calls == [[LISTED], [GONE]]
    by_id = {row["track_id"]: row for row in first.rows}
    assert set(by_id) == {LISTED, GONE} and first.played_found == 1
    assert by_id[GONE]["album_id"] == ALBUM and by_id[GONE]["primary_artist_id"] == "r" * 22
    assert not first.quarantined and not first.unresolved

    second = sync.sync_tracks(catalogue, albums, first.rows, [GONE, LISTED], first.unresolved)
    assert catalogue.track_calls == [[LISTED], [GONE]]  # nothing asked again
    assert {row["track_id"] for row in second.rows} == {LISTED, GONE} and second.reused == 2

    # The album leaves the listing: its listed track goes with it, the played one stays.
    third = sync.sync_tracks(catalogue, [], second.rows, [GONE])
    assert [row["track_id"] for row in third.rows] == [GONE] and catalogue.track_calls == [
        [LISTED],
        [GONE],
    ]
    # ... and once nobody's plays need it any more, it goes too.
    assert sync.sync_tracks(catalogue, [], third.rows, []).rows == []


def test_a_track_found_through_its_plays_does_not_make_its_album_seen() -> None:
    catalogue = Catalogue(tracks={LISTED: {"id": LISTED}, GONE: _taken_down(GONE, OTHER_ALBUM)})
    first = sync.sync_tracks(catalogue, [], played_ids=[GONE])
    assert [row["album_id"] for row in first.rows] == [OTHER_ALBUM]
    # The album is listed later (a roster artist joins): its tracks are fetched.
    albums = [{"album_id": OTHER_ALBUM, "track_ids": [LISTED]}]
    later = sync.sync_tracks(catalogue, albums, first.rows, [GONE])
    assert catalogue.track_calls[-1] == [LISTED]
    assert {row["track_id"] for row in later.rows} == {LISTED, GONE}


def _ago(days: int) -> dt.datetime:
    return dt.datetime.now(dt.UTC) - dt.timedelta(days=days)


def test_a_played_id_spotify_answers_null_for_is_quarantined_and_asked_a_bounded_number_of_times() -> (
    None
):
    catalogue = Catalogue()
    first = sync.sync_tracks(catalogue, [], played_ids=[UNKNOWN])
    assert first.rows == [] and catalogue.track_calls == [[UNKNOWN]]
    (refused,) = first.quarantined
    assert (refused.entity, refused.entity_id, refused.field) == (
        "played_track",
        UNKNOWN,
        "(record)",
    )
    assert "null" in refused.reason and f"asked 1 of {MAX_ATTEMPTS} times" in refused.reason
    (row,) = first.unresolved
    assert row["attempts"] == 1 and row["first_asked_at"] == row["last_asked_at"]

    # The next sync, the same day: not asked, remembered as it was, nothing quarantined.
    again = sync.sync_tracks(catalogue, [], played_ids=[UNKNOWN], unresolved=first.unresolved)
    assert len(catalogue.track_calls) == 1 and again.unresolved == first.unresolved
    assert not again.quarantined

    # Once RETRY_AFTER has passed it is asked again, up to MAX_ATTEMPTS times in all.
    unresolved = first.unresolved
    for attempt in range(2, MAX_ATTEMPTS + 1):
        aged = [{**unresolved[0], "last_asked_at": _ago(RETRY_AFTER.days)}]
        result = sync.sync_tracks(catalogue, [], played_ids=[UNKNOWN], unresolved=aged)
        (unresolved_row,) = result.unresolved
        assert unresolved_row["attempts"] == attempt
        assert unresolved_row["first_asked_at"] == row["first_asked_at"]
        unresolved = result.unresolved
    assert "not asked again" in result.quarantined[0].reason
    assert len(catalogue.track_calls) == MAX_ATTEMPTS
    aged = [{**unresolved[0], "last_asked_at": _ago(365)}]
    final = sync.sync_tracks(catalogue, [], played_ids=[UNKNOWN], unresolved=aged)
    assert len(catalogue.track_calls) == MAX_ATTEMPTS and final.unresolved == aged
    # No longer played: nothing left to resolve.
    assert sync.sync_tracks(catalogue, [], played_ids=[], unresolved=aged).unresolved == []


def test_a_played_id_answered_with_another_track_stays_unresolved() -> None:
    relinked = "4" * 22
    catalogue = Catalogue(tracks={GONE: {"id": relinked, "album": {"id": ALBUM}}})
    result = sync.sync_tracks(catalogue, [], played_ids=[GONE])
    assert result.rows == [] and [r["track_id"] for r in result.unresolved] == [GONE]
    assert result.quarantined[0].field == "id" and relinked in result.quarantined[0].reason


def test_played_lookups_are_capped_most_played_first_and_skip_values_that_are_no_ids() -> None:
    now = dt.datetime.now(dt.UTC)
    ids = [c * 22 for c in "ABCDEF"]
    due = {"track_id": ids[0], "attempts": 1, "first_asked_at": _ago(30), "last_asked_at": _ago(8)}
    resting = {**due, "track_id": ids[1], "last_asked_at": _ago(1)}
    played = [ids[0], ids[1], "spotify:track:xyz", ids[2], ids[3], ids[4], ids[5]]
    plan = plan_lookups(played, {ids[5]}, [due, resting], now, limit=2)
    # Never asked before comes first (a backlog drains), in play order; held ids are skipped.
    assert plan.ask == [ids[2], ids[3]]
    assert plan.deferred == 1 and plan.not_ids == 1  # ids[4] waits; the URI is never asked
    assert {r["track_id"] for r in plan.waiting} == {ids[0], ids[1]}
    assert plan_lookups(played, set(), [due, resting], now).ask == [*ids[2:], ids[0]]


def test_a_sync_without_plays_asks_nothing_more_than_before() -> None:
    catalogue = Catalogue(tracks={LISTED: {"id": LISTED}})
    albums = [{"album_id": ALBUM, "track_ids": [LISTED]}]
    result = sync.sync_tracks(catalogue, albums)
    assert catalogue.track_calls == [[LISTED]] and result.fetched == [LISTED]
    assert result.unresolved == [] and result.played_found == 0
