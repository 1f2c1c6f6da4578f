"""The sample world's catalogue: determinism, size, planted anomalies and playlist quirks."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, timedelta

import pytest

from spotify_agent_assets.sample_world.world import (
    ALL_GENRES,
    BREAKOUT_DAY,
    DEFAULT_AS_OF,
    FOLLOWER_DROP_DAY,
    WORLD_START,
    SampleWorld,
    namespace_rng,
)

ISRC = re.compile(r"[A-Z]{2}[A-Z0-9]{3}\d{7}")
SPOTIFY_ID = re.compile(r"[0-9A-Za-z]{22}")


@pytest.fixture(scope="module")
def world() -> SampleWorld:
    return SampleWorld(seed=7)


def _dump(world: SampleWorld, day: date) -> str:
    payload = {
        "artists": [world.artist_json(a.id, day) for a in world.artists()],
        "albums": [world.album_json(a.id, day, market="US") for a in world.visible_albums(day)],
        "tracks": [world.track_json(t.id, day) for t in world.visible_tracks(day)],
        "playlists": [world.playlist_json(p, day, market="SE") for p in world.playlist_ids()],
    }
    return json.dumps(payload, sort_keys=False)


def test_same_seed_gives_identical_json_and_other_seed_differs(world: SampleWorld) -> None:
    assert _dump(SampleWorld(seed=7), DEFAULT_AS_OF) == _dump(world, DEFAULT_AS_OF)
    assert _dump(SampleWorld(seed=8), DEFAULT_AS_OF) != _dump(world, DEFAULT_AS_OF)


def test_namespaces_are_independent_streams() -> None:
    assert namespace_rng(7, "listeners").random() == namespace_rng(7, "listeners").random()
    assert namespace_rng(7, "listeners").random() != namespace_rng(7, "audio").random()


def test_catalogue_size_and_identifiers(world: SampleWorld) -> None:
    assert len(world.artists()) >= 30
    visible = world.visible_tracks(DEFAULT_AS_OF)
    assert len(visible) >= 400
    ids = [a.id for a in world.artists()] + [a.id for a in world.albums()]
    ids += [t.id for t in world.tracks()] + world.playlist_ids()
    assert all(SPOTIFY_ID.fullmatch(i) for i in ids)
    assert len(set(ids)) == len(ids)
    isrcs = [t.isrc for t in world.tracks()]
    assert all(ISRC.fullmatch(i) for i in isrcs)
    assert len(set(isrcs)) == len(isrcs)
    assert all(90_000 <= t.duration_ms <= 420_999 for t in world.tracks())
    assert any(len(t.artist_ids) > 1 for t in visible), "no track with a featured artist"
    assert {t.explicit for t in visible} == {True, False}
    assert len(world.roster()) == len(world.artists())


def test_artists_have_spotify_like_genres(world: SampleWorld) -> None:
    for artist in world.artists():
        assert 1 <= len(artist.genres) <= 4
        assert set(artist.genres) <= set(ALL_GENRES)
    assert len({g for a in world.artists() for g in a.genres}) >= 10


def test_paging_fodder_exists(world: SampleWorld) -> None:
    longest_album = max(len(world.album_track_ids(a.id, DEFAULT_AS_OF)) for a in world.albums())
    assert longest_album > 50
    most_releases = max(len(world.artist_album_ids(a.id, DEFAULT_AS_OF)) for a in world.artists())
    assert most_releases > 20
    biggest = max(len(world.playlist_entries(p, DEFAULT_AS_OF)) for p in world.playlist_ids())
    assert biggest > 100
    assert len(world.playlist_ids()) >= 8
    assert {a.album_type for a in world.albums()} == {"album", "single", "compilation"}


def test_breakout_and_drop_stand_out_in_follower_series(world: SampleWorld) -> None:
    events = {e.kind: e for e in world.ground_truth}
    assert events["breakout"].day == BREAKOUT_DAY
    assert events["follower_drop"].day == FOLLOWER_DROP_DAY
    assert events["breakout"].artist_id != events["follower_drop"].artist_id

    breakout = events["breakout"].artist_id
    before = BREAKOUT_DAY - timedelta(days=1)
    assert world.followers(breakout, BREAKOUT_DAY) > 1.4 * world.followers(breakout, before)
    assert world.popularity(breakout, BREAKOUT_DAY) >= world.popularity(breakout, before) + 6
    later = BREAKOUT_DAY + timedelta(days=5)
    assert world.followers(breakout, later) > 1.15 * world.followers(breakout, BREAKOUT_DAY)

    dropped = events["follower_drop"].artist_id
    ratio = world.followers(dropped, FOLLOWER_DROP_DAY) / world.followers(
        dropped, FOLLOWER_DROP_DAY - timedelta(days=1)
    )
    assert 0.8 < ratio < 0.9

    # Everyone else only grows slowly, so the planted events are the only outliers.
    for artist in world.artists():
        for offset in range(1, 90):
            day = WORLD_START + timedelta(days=offset)
            if (artist.id, day) in {(breakout, BREAKOUT_DAY), (dropped, FOLLOWER_DROP_DAY)}:
                continue
            change = world.followers(artist.id, day) / world.followers(
                artist.id, day - timedelta(days=1)
            )
            if artist.id == breakout and day > BREAKOUT_DAY:
                assert change > 1.0
            else:
                assert 1.0 <= change < 1.01, (artist.name, day, change)


def test_days_before_the_world_are_refused(world: SampleWorld) -> None:
    with pytest.raises(ValueError, match="before the sample world starts"):
        world.followers(world.artists()[0].id, WORLD_START - timedelta(days=1))


def test_later_as_of_sees_new_releases(world: SampleWorld) -> None:
    later = DEFAULT_AS_OF + timedelta(days=60)
    now_ids = {a.id for a in world.visible_albums(DEFAULT_AS_OF)}
    later_ids = {a.id for a in world.visible_albums(later)}
    assert now_ids < later_ids
    assert any(a.release_date >= WORLD_START for a in world.visible_albums(DEFAULT_AS_OF))


def test_snapshot_id_changes_exactly_when_content_changes(world: SampleWorld) -> None:
    changes = 0
    for playlist_id in world.playlist_ids():
        for offset in range(1, 150):
            day = WORLD_START + timedelta(days=offset)
            yesterday = day - timedelta(days=1)
            keys = [e.key for e in world.playlist_entries(playlist_id, day)]
            old_keys = [e.key for e in world.playlist_entries(playlist_id, yesterday)]
            snapshot_changed = world.snapshot_id(playlist_id, day) != world.snapshot_id(
                playlist_id, yesterday
            )
            assert snapshot_changed == (keys != old_keys)
            changes += snapshot_changed
    assert changes > 20


def test_every_playlist_quirk_appears(world: SampleWorld) -> None:
    items = [
        item
        for playlist_id in world.playlist_ids()
        for item in world.playlist_json(playlist_id, DEFAULT_AS_OF, market="US")["tracks"]["items"]
    ]
    assert any(item["track"] is None for item in items)
    local = [item["track"] for item in items if item["is_local"]]
    assert local and all(t["id"] is None and t["uri"].startswith("spotify:local:") for t in local)
    assert all(t["album"]["id"] is None and t["artists"][0]["id"] is None for t in local)
    episodes = [i["track"] for i in items if i["track"] and i["track"]["type"] == "episode"]
    assert episodes and all(e["episode"] is True and e["track"] is False for e in episodes)
    assert all(e["show"]["type"] == "show" for e in episodes)
    removed = [
        i["track"]
        for i in items
        if i["track"] and i["track"]["type"] == "track" and not i["is_local"]
        if not world.track_visible(i["track"]["id"], DEFAULT_AS_OF)
    ]
    assert removed
    assert all(t["available_markets"] == [] and t["is_playable"] is False for t in removed)
    kinds = Counter(e.kind for p in world.playlists() for e in p.entries)
    assert {"track", "local", "episode", "missing"} <= set(kinds)


def test_removed_tracks_leave_album_listings(world: SampleWorld) -> None:
    removed = [t for t in world.tracks() if t.removed_on is not None]
    assert removed
    for track in removed:
        assert track.removed_on is not None
        before = track.removed_on - timedelta(days=1)
        assert track.id in world.album_track_ids(track.album_id, before)
        assert track.id not in world.album_track_ids(track.album_id, track.removed_on)
    assert any(t.removed_on <= DEFAULT_AS_OF for t in removed if t.removed_on is not None)
