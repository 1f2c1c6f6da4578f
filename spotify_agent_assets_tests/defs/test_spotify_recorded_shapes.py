"""Recorded real Spotify answers, bent, synced through spotipy over HTTP into the lake.

One sync carries the recorded artist, release, album, track, playlist and playlist item once as
recorded and once per optional or nullable field of the OpenAPI spec nulled, and once dropped
(see `spotify/recorded_shapes.py`). Every table lands; each bent record's row equals the
recorded one's except for the columns its field fills, which are null; a record without its
key is quarantined naming the field, and nothing else is. Further syncs bend types: the
unusable records are quarantined with field and reason and the rest lands.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from spotify_agent_assets.defs.spotify import assets as spotify_assets
from spotify_agent_assets.defs.spotify.quarantine import QUARANTINE_CHECK
from spotify_agent_assets.environment import AgentSettings, load_settings
from spotify_agent_assets.lake.parquet_lake import ParquetLake
from spotify_agent_assets.sample_world.emulator import SpotifyEmulator
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets.spotify.errors import WHOLE_RECORD
from spotify_agent_assets.spotify.tables import CONTRACTS
from spotify_agent_assets_tests.conftest import EMULATOR_ID, EMULATOR_SECRET
from spotify_agent_assets_tests.defs.harness import emulator_spotify, materialize
from spotify_agent_assets_tests.defs.recorded_catalogue import (
    RecordedCatalogue,
    spotify_id,
    with_id,
)
from spotify_agent_assets_tests.spotify.recorded_shapes import (
    EFFECTS,
    KEY_FIELDS,
    SHAPES,
    Bend,
    all_bends,
    shared_data_available,
)

pytestmark = pytest.mark.emulator

# Columns that differ between two records by construction: their keys and sync times.
OWN = {
    "spotify_artists": {"artist_id", "synced_at"},
    "spotify_albums": {"album_id", "first_seen_at"},
    "spotify_tracks": {"track_id", "fetched_at"},
    "spotify_playlists": {"playlist_id", "synced_at"},
    "playlist_tracks": {"position", "fetched_at"},
}
TABLE_OF = {
    "artist": "spotify_artists",
    "release": "spotify_albums",
    "album": "spotify_albums",
    "track": "spotify_tracks",
    "playlist": "spotify_playlists",
    "playlist_item": "playlist_tracks",
}
ENTITY_OF = {"artist": "artist", "release": "album", "album": "album", "track": "track"}
ENTITY_OF |= {"playlist": "playlist"}
# A table row of an album takes these columns from the full album, the rest from the listing.
FROM_FULL_ALBUM = {"label", "upc", "track_ids"}


@dataclass
class BentSync:
    """The tables, quarantine checks and ids of one sync of every bend."""

    tables: dict[str, list[dict[str, Any]]]
    checks: dict[str, dg.AssetCheckEvaluation]
    ids: dict[str, str]  # bend label (or "<shape>:recorded") -> the id it was served under
    positions: dict[str, int]  # item or release bend label -> its position in its listing
    item_playlist: str
    holder: str  # the artist whose listing holds the releases
    result: dg.ExecuteInProcessResult


def _settings(root: Path, roster: Path) -> AgentSettings:
    return load_settings(
        {
            "SPOTIFY_AGENT_ENV": "local",
            "SPOTIFY_AGENT_DATA_DIR": str(root / "data"),
            "SPOTIFY_AGENT_ROSTER": str(roster),
        }
    )


def _tables(settings: AgentSettings) -> dict[str, list[dict[str, Any]]]:
    lake = ParquetLake(settings.lake_root)
    return {name: lake.read("spotify", name).to_pylist() for name in OWN}


def _quarantine_checks(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {
        c.asset_key.path[-1]: c
        for c in result.get_asset_check_evaluations()
        if c.check_name == QUARANTINE_CHECK
    }


def _records(check: dg.AssetCheckEvaluation) -> list[dict[str, Any]]:
    return [r.data for r in check.metadata["quarantined_records"].value.records]


def _bent_catalogue() -> tuple[RecordedCatalogue, dict[str, str], dict[str, int]]:
    catalogue = RecordedCatalogue()
    ids: dict[str, str] = {}
    positions: dict[str, int] = {}
    recorded_item = SHAPES["playlist_item"].recorded()
    for shape in SHAPES:
        ids[f"{shape}:recorded"] = spotify_id(f"{shape}:recorded")
    _add(catalogue, "artist", ids["artist:recorded"], None)
    _add(catalogue, "release", ids["release:recorded"], None)
    _add(catalogue, "track", ids["track:recorded"], None)
    _add(catalogue, "playlist", ids["playlist:recorded"], None)
    positions["playlist_item:recorded"] = catalogue.add_item(recorded_item)
    for bend in all_bends():
        if bend.shape == "playlist_item":
            positions[bend.label] = catalogue.add_item(bend.apply(recorded_item))
        else:
            ids[bend.label] = spotify_id(bend.label)
            _add(catalogue, bend.shape, ids[bend.label], bend)
            positions[bend.label] = len(catalogue.fixed.artist_albums[catalogue.holder]) - 1
    return catalogue, ids, positions


def _add(catalogue: RecordedCatalogue, shape: str, object_id: str, bend: Bend | None) -> None:
    def bent(obj: dict[str, Any]) -> dict[str, Any]:
        obj = with_id(obj, object_id)
        return bend.apply(obj) if bend is not None else obj

    if shape == "artist":
        catalogue.add_artist(bent(SHAPES["artist"].recorded()), object_id)
    elif shape == "release":
        catalogue.add_release(object_id, listing=bent(SHAPES["release"].recorded()))
    elif shape == "album":
        full = with_id(SHAPES["album"].recorded(), object_id)
        full["tracks"]["items"] = []
        catalogue.add_release(object_id, full=bend.apply(full) if bend else full)
    elif shape == "track":
        catalogue.add_track(bent(catalogue.track_of_holder()), object_id)
    elif shape == "playlist":
        catalogue.add_playlist(bent(SHAPES["playlist"].recorded()), object_id)


@pytest.fixture(scope="module")
def bent_sync(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BentSync]:
    if not shared_data_available():
        pytest.skip("the shared Spotify API data (recordings and OpenAPI spec) is not available")
    catalogue, ids, positions = _bent_catalogue()
    # The recorded album is a release too: the baseline album row is the recorded release's.
    ids["album:recorded"] = ids["release:recorded"]
    root = tmp_path_factory.mktemp("bent")
    settings = _settings(root, catalogue.write_roster(root / "artists.yaml"))
    with SpotifyEmulator(
        SampleWorld(seed=7), credentials=(EMULATOR_ID, EMULATOR_SECRET), fixed=catalogue.fixed
    ) as emulator:
        result = materialize(
            settings, spotify=emulator_spotify(emulator, EMULATOR_ID, EMULATOR_SECRET)
        )
    yield BentSync(
        _tables(settings),
        _quarantine_checks(result),
        ids,
        positions,
        catalogue.item_playlist,
        catalogue.holder,
        result,
    )


def _row(sync: BentSync, bend: Bend | None, shape: str) -> dict[str, Any] | None:
    table = sync.tables[TABLE_OF[shape]]
    label = bend.label if bend is not None else f"{shape}:recorded"
    if shape == "playlist_item":
        position = sync.positions[label]
        found = [
            r for r in table if r["playlist_id"] == sync.item_playlist and r["position"] == position
        ]
    else:
        key = CONTRACTS[TABLE_OF[shape]].key[0]
        found = [r for r in table if r[key] == sync.ids[label]]
    assert len(found) <= 1
    return found[0] if found else None


def test_every_table_lands_and_only_keyless_records_are_quarantined(bent_sync: BentSync) -> None:
    assert bent_sync.result.success
    expected: dict[str, set[tuple[str, str]]] = {table: set() for table in OWN}
    for bend in all_bends():
        if bend.path in KEY_FIELDS:
            expected[TABLE_OF[bend.shape]].add((ENTITY_OF[bend.shape], bend.path))
    for table, check in bent_sync.checks.items():
        found = {(r["entity"], r["field"]) for r in _records(check)}
        assert found == expected.get(table, set()), table
        assert check.passed == (not expected.get(table)), table
        assert check.severity == dg.AssetCheckSeverity.WARN
    # The key checks read the stored tables: every landed row has its key.
    keys = [
        c
        for c in bent_sync.result.get_asset_check_evaluations()
        if c.check_name == "key_unique_not_null"
    ]
    assert keys and all(c.passed for c in keys)


@pytest.mark.parametrize("bend", all_bends(), ids=lambda b: b.label)
def test_a_bent_record_lands_with_null_where_its_field_was(bent_sync: BentSync, bend: Bend) -> None:
    row = _row(bent_sync, bend, bend.shape)
    if bend.path in KEY_FIELDS:
        assert row is None
        entity_id = bent_sync.ids[bend.label]
        if bend.shape == "release":
            # Without an id, a listed release is named by where it was found.
            position = bent_sync.positions[bend.label]
            entity_id = f"(no id: release {position} of artist {bent_sync.holder})"
        (record,) = [
            r
            for r in _records(bent_sync.checks[TABLE_OF[bend.shape]])
            if r["entity_id"] == entity_id
        ]
        assert record["field"] == bend.path
        assert "no usable `id`" in record["reason"]
        return
    baseline = _row(bent_sync, None, bend.shape)
    assert row is not None and baseline is not None
    effects = EFFECTS[bend.shape].get(bend.path, {})
    if bend.shape == "album":
        effects = {k: v for k, v in effects.items() if k in FROM_FULL_ALBUM}
    own = OWN[TABLE_OF[bend.shape]]
    expected = {k: v for k, v in {**baseline, **effects}.items() if k in row and k not in own}
    assert {k: v for k, v in row.items() if k not in own} == expected


def test_a_playlist_without_snapshot_id_stores_its_items_without_one(bent_sync: BentSync) -> None:
    for mode in ("null", "drop"):
        playlist_id = bent_sync.ids[f"playlist:{mode}:snapshot_id"]
        items = [r for r in bent_sync.tables["playlist_tracks"] if r["playlist_id"] == playlist_id]
        assert [r["item_type"] for r in items] == ["track", "missing"]
        assert all(r["snapshot_id"] is None for r in items)


# ---- wrong types and refusals: quarantined with field and reason, the rest lands ------------


def _catalogue_sync(
    root: Path, catalogue: RecordedCatalogue, emulator: SpotifyEmulator, assets: list[Any] | None
) -> tuple[dg.ExecuteInProcessResult, AgentSettings]:
    settings = _settings(root, catalogue.write_roster(root / "artists.yaml"))
    spotify = emulator_spotify(emulator, EMULATOR_ID, EMULATOR_SECRET)
    return materialize(settings, assets, spotify=spotify), settings


@pytest.fixture
def catalogue() -> RecordedCatalogue:
    if not shared_data_available():
        pytest.skip("the shared Spotify API data (recordings and OpenAPI spec) is not available")
    return RecordedCatalogue()


def test_unusable_records_are_quarantined_with_field_and_reason(
    tmp_path: Path, catalogue: RecordedCatalogue, world: SampleWorld
) -> None:
    artist = SHAPES["artist"].recorded()
    good, as_text, not_object = (spotify_id(f"artist {n}") for n in range(3))
    catalogue.add_artist(with_id(artist, good), good)
    catalogue.add_artist(with_id(artist, as_text) | {"followers": {"total": "306565"}}, as_text)
    catalogue.add_artist(["not", "an", "artist"], not_object)
    track, bad_track = spotify_id("track"), spotify_id("bad track")
    catalogue.add_track(with_id(catalogue.track_of_holder(), track), track)
    bad = with_id(catalogue.track_of_holder(), bad_track) | {"artists": {"id": "x"}}
    catalogue.add_track(bad, bad_track)
    item = SHAPES["playlist_item"].recorded()
    catalogue.add_item(item)
    catalogue.add_item("spotify:track:3n3Ppam7vgaVa1iaRUc9Lp")
    catalogue.add_item(item | {"track": {**item["track"], "artists": "The Killers"}})
    catalogue.add_item(item)
    deleted = spotify_id("deleted playlist")
    catalogue.add_playlist(with_id(SHAPES["playlist"].recorded(), deleted), deleted)

    with SpotifyEmulator(
        world, credentials=(EMULATOR_ID, EMULATOR_SECRET), fixed=catalogue.fixed
    ) as emulator:
        first, settings = _catalogue_sync(tmp_path, catalogue, emulator, None)
        # The playlist is deleted between its metadata call and its items call.
        del catalogue.fixed.playlist_items[deleted]
        catalogue.fixed.playlists[deleted]["snapshot_id"] = "changed"
        second, _ = _catalogue_sync(tmp_path, catalogue, emulator, None)

    assert first.success and second.success
    tables = _tables(settings)
    assert {r["artist_id"] for r in tables["spotify_artists"]} == {catalogue.holder, good}
    assert track in {r["track_id"] for r in tables["spotify_tracks"]}
    assert bad_track not in {r["track_id"] for r in tables["spotify_tracks"]}
    items = [r for r in tables["playlist_tracks"] if r["playlist_id"] == catalogue.item_playlist]
    assert [r["position"] for r in items] == [0, 3]
    # The deleted playlist keeps the items an earlier sync stored, under their old version.
    kept = [r for r in tables["playlist_tracks"] if r["playlist_id"] == deleted]
    assert [r["item_type"] for r in kept] == ["track", "missing"]
    assert {r["snapshot_id"] for r in kept} == {SHAPES["playlist"].recorded()["snapshot_id"]}

    checks = _quarantine_checks(second)
    found = {
        (table, r["entity"], r["entity_id"], r["field"])
        for table, check in checks.items()
        for r in _records(check)
    }
    assert found == {
        ("spotify_artists", "artist", as_text, "followers.total"),
        ("spotify_artists", "artist", not_object, WHOLE_RECORD),
        ("playlist_tracks", "playlist_items", deleted, WHOLE_RECORD),
        ("playlist_tracks", "playlist_item", f"{catalogue.item_playlist}#1", WHOLE_RECORD),
        ("playlist_tracks", "playlist_item", f"{catalogue.item_playlist}#2", "track.artists"),
    }
    # A track is fetched once; its quarantine shows in the sync that fetched it.
    (refused_track,) = _records(_quarantine_checks(first)["spotify_tracks"])
    assert (refused_track["entity_id"], refused_track["field"]) == (bad_track, "artists")
    reasons = {r["entity_id"]: r["reason"] for r in _records(checks["spotify_artists"])}
    assert "'306565'" in reasons[as_text] and "expected an integer" in reasons[as_text]
    assert (
        "HTTP 404"
        in {r["entity_id"]: r["reason"] for r in _records(checks["playlist_tracks"])}[deleted]
    )
    assert all(
        not c.passed and c.severity == dg.AssetCheckSeverity.WARN
        for c in checks.values()
        if _records(c)
    )


def test_a_playlist_without_snapshot_id_is_read_again_every_sync(
    tmp_path: Path, catalogue: RecordedCatalogue, world: SampleWorld
) -> None:
    recorded = SHAPES["playlist"].recorded()
    unversioned, versioned = spotify_id("no snapshot"), spotify_id("snapshot")
    catalogue.add_playlist({**with_id(recorded, unversioned), "snapshot_id": None}, unversioned)
    catalogue.add_playlist(with_id(recorded, versioned), versioned)
    playlists = [spotify_assets.spotify_playlists, spotify_assets.playlist_tracks]
    with SpotifyEmulator(
        world, credentials=(EMULATOR_ID, EMULATOR_SECRET), fixed=catalogue.fixed
    ) as emulator:
        for _ in range(2):
            result, settings = _catalogue_sync(tmp_path, catalogue, emulator, playlists)
            assert result.success
        item_calls = [r.path for r in emulator.requests if r.path.endswith("/items")]
    assert item_calls.count(f"/v1/playlists/{unversioned}/items") == 2
    assert item_calls.count(f"/v1/playlists/{versioned}/items") == 1
    stored = ParquetLake(settings.lake_root).read("spotify", "playlist_tracks").to_pylist()
    rows = [r for r in stored if r["playlist_id"] == unversioned]
    assert len(rows) == 2 and all(r["snapshot_id"] is None for r in rows)
