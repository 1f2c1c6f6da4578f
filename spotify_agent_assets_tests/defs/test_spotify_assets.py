"""The Spotify assets end to end: sample world locally, the real spotipy path against the emulator."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
import yaml

from spotify_agent_assets.defs.spotify import assets as spotify_assets
from spotify_agent_assets.defs.spotify.quarantine import QUARANTINE_CHECK
from spotify_agent_assets.environment import AgentSettings
from spotify_agent_assets.lake.parquet_lake import ParquetLake
from spotify_agent_assets.sample_world.emulator import ALL_FAULT_KINDS, FaultPlan
from spotify_agent_assets.spotify import sync
from spotify_agent_assets.spotify.errors import SpotifyApiError, SpotifyRetriesExhaustedError
from spotify_agent_assets.spotify.tables import CONTRACTS, SPOTIFY_PLAYLISTS
from spotify_agent_assets_tests.conftest import EMULATOR_ID, EMULATOR_SECRET, yesterday
from spotify_agent_assets_tests.defs.harness import CATALOGUE_ASSETS, emulator_spotify, materialize

VOLATILE = {"synced_at", "fetched_at", "first_seen_at", "captured_at"}
TABLES = [
    "artist_roster",
    "spotify_artists",
    "spotify_albums",
    "spotify_tracks",
    "spotify_unresolved_tracks",
    "spotify_playlists",
    "playlist_tracks",
]


def table_rows(settings: AgentSettings, name: str, group: str = "spotify") -> list[tuple]:
    table = ParquetLake(settings.lake_root).read(group, name)
    keep = [c for c in table.column_names if c not in VOLATILE]
    rows = [tuple(str(row[c]) for c in keep) for row in table.select(keep).to_pylist()]
    return sorted(rows)


def test_local_sync_serves_the_sample_world_into_lake_and_warehouse(
    settings: AgentSettings,
) -> None:
    result = materialize(settings)
    assert result.success
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    (tracks,) = con.execute("select count(*) from spotify.spotify_tracks").fetchone()
    (artists,) = con.execute("select count(*) from spotify.spotify_artists").fetchone()
    quirks = dict(
        con.execute("select item_type, count(*) from spotify.playlist_tracks group by 1").fetchall()
    )
    assert tracks >= 400
    assert artists >= 25
    assert {"track", "episode", "local", "missing"} <= set(quirks)
    (isrc_missing,) = con.execute(
        "select count(*) from spotify.spotify_tracks where isrc is null"
    ).fetchone()
    assert isrc_missing == 0
    for name in TABLES:
        assert (Path(settings.lake_root) / "spotify" / name / "part-0.parquet").is_file()
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks), [c.check_name for c in checks if not c.passed]


def test_metadata_reports_rows_schema_preview_and_api_calls(settings: AgentSettings) -> None:
    result = materialize(settings)
    materializations = [
        e.step_materialization_data.materialization
        for e in result.get_asset_materialization_events()
    ]
    by_asset = {m.asset_key.path[-1]: m.metadata for m in materializations}
    tracks = by_asset["spotify_tracks"]
    assert tracks["dagster/row_count"].value >= 400
    assert {c.name for c in tracks["dagster/column_schema"].schema.columns} == set(
        CONTRACTS["spotify_tracks"].column_names
    )
    assert "| track_id |" in tracks["preview"].value
    assert tracks["api_requests"].value > 0
    assert by_asset["artist_roster"].get("api_requests") is None


@pytest.mark.emulator
def test_repeat_sync_fetches_no_album_tracks_and_no_playlist_items(
    settings: AgentSettings, emulator
) -> None:
    spotify = emulator_spotify(emulator, EMULATOR_ID, EMULATOR_SECRET)
    assert materialize(settings, spotify=spotify).success
    first_tables = {name: table_rows(settings, name) for name in TABLES}
    first = {p: emulator.count(p) for p in ("/v1/albums", "/v1/tracks", "/v1/playlists/")}
    assert first["/v1/albums"] > 0 and first["/v1/tracks"] > 0
    emulator.reset_log()

    assert materialize(settings, spotify=spotify).success
    second_paths = [r.path for r in emulator.requests]
    assert emulator.count("/v1/albums") == 0, "albums or album tracks were fetched again"
    assert emulator.count("/v1/tracks") == 0
    item_calls = [
        p for p in second_paths if p.endswith(("/tracks", "/items")) and "/playlists/" in p
    ]
    assert item_calls == [], "playlist items were fetched although no snapshot_id changed"
    # What a repeat sync must pay: the roster's artists, their release listings, playlist metadata.
    assert emulator.count("/v1/artists") > 0
    # Carried over, not emptied and not duplicated: the second sync replaces each table.
    assert {name: table_rows(settings, name) for name in TABLES} == first_tables


@pytest.mark.emulator
@pytest.mark.slow
def test_thirty_percent_faults_give_the_same_tables(
    tmp_path: Path, settings: AgentSettings, world, emulator
) -> None:
    from spotify_agent_assets.environment import load_settings
    from spotify_agent_assets_tests.conftest import write_roster

    clean_settings = settings
    faulty_settings = load_settings(
        {
            "SPOTIFY_AGENT_DATA_DIR": str(tmp_path / "faulty"),
            "SPOTIFY_AGENT_ROSTER": str(write_roster(tmp_path / "roster2.yaml", world)),
        }
    )
    spotify = emulator_spotify(
        emulator, EMULATOR_ID, EMULATOR_SECRET, request_timeout_s=0.5, max_attempts=12
    )
    assert materialize(clean_settings, spotify=spotify).success

    emulator.reset_log()
    emulator.faults = FaultPlan(rate=0.3, kinds=ALL_FAULT_KINDS, seed=3, slow_seconds=1.0)
    assert materialize(faulty_settings, spotify=spotify).success
    faults = {r.fault for r in emulator.requests if r.fault}
    assert len([r for r in emulator.requests if r.fault]) >= 10
    assert {"429_retry_after", "500", "slow", "expired_token"} <= faults

    for name in TABLES:
        assert table_rows(faulty_settings, name) == table_rows(clean_settings, name), name


def test_rematerializing_a_snapshot_partition_replaces_it(settings: AgentSettings) -> None:
    assert materialize(settings, [spotify_assets.artist_roster]).success
    for _ in range(2):
        assert materialize(
            settings, [spotify_assets.artist_snapshots], partition_key="2026-10-20"
        ).success
    lake = ParquetLake(settings.lake_root)
    table = lake.read("spotify_history", "artist_snapshots")
    roster = lake.read("spotify", "artist_roster")
    assert table.num_rows == roster.num_rows
    assert lake.partitions("spotify_history", "artist_snapshots") == ["2026-10-20"]


def test_thirty_day_backfill_runs_as_one_run(settings: AgentSettings) -> None:
    assert materialize(settings, [spotify_assets.artist_roster]).success
    result = materialize(
        settings,
        [spotify_assets.artist_snapshots],
        tags={
            "dagster/asset_partition_range_start": "2026-10-02",
            "dagster/asset_partition_range_end": "2026-10-31",
        },
    )
    assert result.success
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    days, per_day_dupes = con.execute(
        "select count(distinct date), count(*) - count(distinct (date, artist_id)) "
        "from spotify_history.artist_snapshots"
    ).fetchone()
    assert days == 30
    assert per_day_dupes == 0


@pytest.mark.emulator
def test_invalid_roster_id_fails_before_any_api_call_and_keeps_the_lake(
    settings: AgentSettings, emulator, world
) -> None:
    spotify = emulator_spotify(emulator, EMULATOR_ID, EMULATOR_SECRET)
    assert materialize(settings, spotify=spotify).success
    lake_dir = Path(settings.lake_root)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in lake_dir.rglob("*.parquet")}
    emulator.reset_log()

    roster = Path(settings.roster_path)
    doc = yaml.safe_load(roster.read_text())
    doc["artists"].insert(3, {"id": "spotify:artist:not-a-valid-id!", "name": "Typo"})
    roster.write_text(yaml.safe_dump(doc, sort_keys=False))

    result = materialize(settings, spotify=spotify, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    message = failure.step_failure_data.error.to_string()
    assert "not-a-valid-id!" in message and str(roster) in message
    assert emulator.requests == [], "an API call was made despite an invalid roster"
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in lake_dir.rglob("*.parquet")}
    assert after == before


def test_snapshot_of_a_past_day_is_refused_against_the_live_api(
    settings: AgentSettings, emulator
) -> None:
    spotify = emulator_spotify(emulator, EMULATOR_ID, EMULATOR_SECRET)
    assert materialize(settings, [spotify_assets.artist_roster]).success
    result = materialize(
        settings,
        [spotify_assets.artist_snapshots],
        spotify=spotify,
        partition_key="2026-10-01",
        raise_on_error=False,
    )
    assert not result.success
    assert emulator.count("/v1/artists") == 0
    ok = materialize(
        settings, [spotify_assets.artist_snapshots], spotify=spotify, partition_key=yesterday()
    )
    assert ok.success


def test_catalogue_assets_are_all_covered() -> None:
    assert {k.path[-1] for a in CATALOGUE_ASSETS for k in a.keys} == set(TABLES)


def test_an_unknown_artist_is_quarantined_and_the_rest_syncs(tmp_path: Path, world) -> None:
    from spotify_agent_assets.environment import load_settings
    from spotify_agent_assets_tests.conftest import write_roster

    unknown = "0000000000000000000000"  # well-formed, but no such artist
    roster = write_roster(tmp_path / "r.yaml", world, extra_artists=[{"id": unknown}])
    settings = load_settings(
        {"SPOTIFY_AGENT_DATA_DIR": str(tmp_path / "data"), "SPOTIFY_AGENT_ROSTER": str(roster)}
    )
    result = materialize(settings, [spotify_assets.artist_roster, spotify_assets.spotify_artists])
    assert result.success
    artists = ParquetLake(settings.lake_root).read("spotify", "spotify_artists")
    assert artists.num_rows == len(world.roster())
    (event,) = [
        e.step_materialization_data.materialization
        for e in result.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("spotify_artists")
    ]
    assert event.metadata["quarantined"].value == 1
    (record,) = event.metadata["quarantined_records"].value.records
    assert record.data["entity_id"] == unknown and "unknown artist" in record.data["reason"]


# ---- which failures the RetryPolicy repeats ---------------------------------------------------

FAST_RETRY = dg.RetryPolicy(max_retries=3, delay=0)


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The network assets' RetryPolicy without its delay, so a repeat costs no wall time."""
    for asset in [*CATALOGUE_ASSETS, spotify_assets.artist_snapshots]:
        if asset.op.retry_policy is not None:
            assert asset.op.retry_policy == spotify_assets.NETWORK_RETRY
            # Dagster keeps an op's policy in this attribute; max_retries stays what it is.
            monkeypatch.setattr(asset.op, "_retry_policy", FAST_RETRY)


def _attempts(result: dg.ExecuteInProcessResult, step: str) -> int:
    starts = (dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_RESTARTED)
    return sum(1 for e in result.all_events if e.step_key == step and e.event_type in starts)


def _without_snapshot_under_the_old_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    # The incident: a playlist without snapshot_id against a contract that refused null there.
    old = dataclasses.replace(
        SPOTIFY_PLAYLISTS,
        columns=tuple(
            dataclasses.replace(c, nullable=False) if c.name == "snapshot_id" else c
            for c in SPOTIFY_PLAYLISTS.columns
        ),
    )
    parse = sync.parse_playlist
    monkeypatch.setattr(sync, "parse_playlist", lambda obj: {**parse(obj), "snapshot_id": None})
    monkeypatch.setattr(spotify_assets, "SPOTIFY_PLAYLISTS", old)


def _followers_as_text(monkeypatch: pytest.MonkeyPatch) -> None:
    parse = sync.parse_playlist
    monkeypatch.setattr(sync, "parse_playlist", lambda obj: {**parse(obj), "followers": "many"})


def _raising(error: Exception) -> Callable[[pytest.MonkeyPatch], None]:
    def patch(monkeypatch: pytest.MonkeyPatch) -> None:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise error

        monkeypatch.setattr(sync, "fetch_playlists", fail)

    return patch


@pytest.mark.parametrize(
    ("patch", "attempts", "fragments"),
    [
        pytest.param(
            _without_snapshot_under_the_old_contract,
            1,
            ["'spotify_playlists'", "column 'snapshot_id'", "non-nullable"],
            id="contract-null",
        ),
        pytest.param(
            _followers_as_text,
            1,
            ["'spotify_playlists'", "column 'followers' (int64)", "holds str 'many'"],
            id="contract-type",
        ),
        pytest.param(
            _raising(KeyError("playlist_id")), 1, ["KeyError", "playlist_id"], id="code-bug"
        ),
        pytest.param(
            _raising(SpotifyApiError("playlists", 400, "invalid id")),
            1,
            ["HTTP 400", "invalid id"],
            id="http-4xx",
        ),
        pytest.param(
            _raising(SpotifyRetriesExhaustedError("playlist", 6, "HTTP 503: Service unavailable")),
            4,
            ["failed after 6 attempts"],
            id="transport-retried",
        ),
    ],
)
def test_only_transport_errors_are_retried(
    settings: AgentSettings,
    monkeypatch: pytest.MonkeyPatch,
    fast_retries: None,
    patch: Callable[[pytest.MonkeyPatch], None],
    attempts: int,
    fragments: list[str],
) -> None:
    patch(monkeypatch)
    result = materialize(settings, [spotify_assets.spotify_playlists], raise_on_error=False)
    assert not result.success
    assert _attempts(result, "spotify_playlists") == attempts
    (failure,) = [
        e
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.STEP_FAILURE and e.step_key == "spotify_playlists"
    ]
    message = failure.step_failure_data.error.to_string()
    for fragment in fragments:
        assert fragment in message


def test_every_spotify_api_asset_owns_a_non_blocking_quarantine_check() -> None:
    network = [a for a in [*CATALOGUE_ASSETS, spotify_assets.artist_snapshots] if a.op.retry_policy]
    assert len(network) == 6
    for asset in network:
        (spec,) = [s for s in asset.check_specs if s.name == QUARANTINE_CHECK]
        # spotify_tracks also writes its unresolved played ids; the check is on the tracks.
        assert spec.asset_key == dg.AssetKey(asset.op.name) and not spec.blocking


def test_played_tracks_taken_down_before_the_sync_are_in_spotify_tracks(
    settings: AgentSettings, world
) -> None:
    """Streams first, then the catalogue (as ``make run`` does): every played track resolves,
    the ones Spotify took down before the sync day included, though no album listing shows
    them; a repeat sync carries them without asking Spotify again."""
    import datetime as dt

    from spotify_agent_assets.defs.resources import build_resources
    from spotify_agent_assets.defs.spotify.resources import SAMPLE_WORLD_AS_OF
    from spotify_agent_assets.defs.streams.assets import stream_events
    from spotify_agent_assets.sample_world.landing_files import write_sample_landing_zone
    from spotify_agent_assets.sample_world.listening import ListeningWorld

    first_day, days = dt.date(2026, 10, 2), 2
    listening = ListeningWorld(world, n_listeners=150, first_day=first_day, days=days)
    write_sample_landing_zone(listening, Path(settings.landing_dir))
    last_day = first_day + dt.timedelta(days=days - 1)
    ingested = dg.materialize(
        [stream_events],
        resources=build_resources(settings),
        tags={
            "dagster/asset_partition_range_start": first_day.isoformat(),
            "dagster/asset_partition_range_end": last_day.isoformat(),
        },
    )
    assert ingested.success
    sync_day = dt.date.fromisoformat(SAMPLE_WORLD_AS_OF)
    taken_down = {t.id for t in world.tracks() if t.removed_on and t.removed_on <= sync_day}
    lake = ParquetLake(settings.lake_root)
    played = set(lake.read("streams", "stream_events").column("track_id").to_pylist())
    played_taken_down = played & taken_down
    assert played_taken_down, "the sample's plays should include tracks taken down later"

    assert materialize(settings).success
    tracks = {row["track_id"]: row for row in lake.read("spotify", "spotify_tracks").to_pylist()}
    listed = {
        t for row in lake.read("spotify", "spotify_albums").to_pylist() for t in row["track_ids"]
    }
    assert played_taken_down <= set(tracks) and not played_taken_down & listed
    for track_id in played_taken_down:
        assert tracks[track_id]["album_id"] == world.track(track_id).album_id
        assert tracks[track_id]["available_markets"] == []
    # Every play now resolves to a track, hence to its album and artists.
    assert played <= set(tracks)
    assert lake.read("spotify", "spotify_unresolved_tracks").num_rows == 0
    # Taken-down tracks nobody played are not looked up.
    assert not (taken_down - played) & set(tracks)

    again = materialize(settings)
    (metadata,) = [
        e.step_materialization_data.materialization.metadata
        for e in again.get_asset_materialization_events()
        if e.asset_key == dg.AssetKey("spotify_tracks")
    ]
    assert metadata["tracks_fetched"].value == 0
    assert metadata["played_track_ids"].value == len(played)
    assert played_taken_down <= set(
        lake.read("spotify", "spotify_tracks").column("track_id").to_pylist()
    )


def test_a_played_id_spotify_does_not_know_is_quarantined_once_and_remembered(
    settings: AgentSettings, world
) -> None:
    import pyarrow as pa

    unknown = "0000000000000000000000"  # well-formed, but no such track
    known = world.tracks()[0].id
    lake = ParquetLake(settings.lake_root)
    # Only the played ids matter to the sync: a stored day holding one unknown id.
    plays = pa.table({"track_id": [unknown, known, unknown, "not an id"]})
    lake.write(plays, "streams", "stream_events", partition_key="2026-10-02")

    first = materialize(settings)
    assert first.success
    (check,) = [
        c
        for c in first.get_asset_check_evaluations()
        if c.asset_key == dg.AssetKey("spotify_tracks") and c.check_name == QUARANTINE_CHECK
    ]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    (row,) = lake.read("spotify", "spotify_unresolved_tracks").to_pylist()
    assert row["track_id"] == unknown and row["attempts"] == 1 and "null" in row["reason"]
    assert unknown not in lake.read("spotify", "spotify_tracks").column("track_id").to_pylist()

    # The next sync reads the memory back and does not ask again within the retry interval.
    again = materialize(settings)
    checks = [c for c in again.get_asset_check_evaluations() if c.check_name == QUARANTINE_CHECK]
    assert checks and all(c.passed for c in checks)
    assert lake.read("spotify", "spotify_unresolved_tracks").to_pylist() == [row]


def test_spotify_tracks_can_be_materialized_alone(settings: AgentSettings) -> None:
    """Selecting the tracks table alone (the UI's Materialize on it) runs the step and stores
    that table; the unresolved ids' table, not selected, is left as it was."""
    from spotify_agent_assets.defs.resources import build_resources

    assert materialize(settings).success  # the catalogue it reads (roster, albums)
    result = dg.materialize(
        CATALOGUE_ASSETS,
        selection=dg.AssetSelection.assets("spotify_tracks"),
        resources=build_resources(settings),
    )
    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"spotify_tracks"}
    lake = ParquetLake(settings.lake_root)
    assert lake.read("spotify", "spotify_tracks").num_rows > 0
