"""The two assets in Dagster: curated_playlists over stored tables, playlist_write_plan in a dry
run, then writing to the emulator twice (the second makes no write call), and the failures
that must be clear: a bad spec, an unknown seed, writing to the sample world."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from spotify_agent_assets.defs.activation.playlist_resources import (
    PlaylistSpecsResource,
    SpotifyUserResource,
)
from spotify_agent_assets.defs.activation.playlists import ASSETS, CHECKS
from spotify_agent_assets.defs.resources import build_resources
from spotify_agent_assets.environment import AgentSettings
from spotify_agent_assets.lake import ParquetLake
from spotify_agent_assets.sample_world.api import SAMPLE_REFRESH_TOKEN
from spotify_agent_assets.sample_world.emulator import SpotifyEmulator
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.activation.playlist_world import (
    top_artists,
    upstream_rows,
    write_specs,
    write_upstream,
)
from spotify_agent_assets_tests.conftest import EMULATOR_ID, EMULATOR_SECRET

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning")


def _specs(world: SampleWorld) -> list[dict[str, Any]]:
    first, second, third = top_artists(world, 3)
    return [
        {"name": "Big Mix", "seeds": {"artists": [first, second]}, "mood": "upbeat",
         "length": 130, "max_per_artist": 100},
        {"name": "Short Calm", "seeds": {"artists": [third]}, "mood": "calm",
         "duration_minutes": 20, "explicit": False, "segment": "all_listeners"},
    ]  # fmt: skip


def _run(
    settings: AgentSettings,
    specs: Path,
    user: SpotifyUserResource,
    instance: dg.DagsterInstance,
    write: bool = False,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    resources = build_resources(settings) | {
        "playlist_specs": PlaylistSpecsResource(path=str(specs)),
        "spotify_user": user,
    }
    return dg.materialize(
        [*ASSETS, *CHECKS],
        resources=resources,
        instance=instance,
        run_config={"ops": {"playlist_write_plan": {"config": {"write": write}}}},
        raise_on_error=raise_on_error,
    )


def _emulator_user(emulator: SpotifyEmulator) -> SpotifyUserResource:
    return SpotifyUserResource(
        client_id=EMULATOR_ID,
        client_secret=EMULATOR_SECRET,
        refresh_token=SAMPLE_REFRESH_TOKEN,
        api_base_url=emulator.api_base_url,
        accounts_url=emulator.accounts_url,
    )


def test_dry_run_then_write_twice(
    settings: AgentSettings, world: SampleWorld, emulator: SpotifyEmulator, tmp_path: Path
) -> None:
    lake = ParquetLake(settings.lake_root)
    write_upstream(lake, upstream_rows(world))
    specs = write_specs(tmp_path / "playlists.yaml", _specs(world))
    user = _emulator_user(emulator)
    store = emulator.api.user_playlists
    with dg.instance_for_test() as instance:
        checks = _run(settings, specs, user, instance).get_asset_check_evaluations()
        curated = lake.read("activation", "curated_playlists").to_pylist()
        dry = lake.read("activation", "playlist_write_plan").to_pylist()
        assert store.writes == 0
        _run(settings, specs, user, instance, write=True)
        written = lake.read("activation", "playlist_write_plan").to_pylist()
        writes = store.writes
        _run(settings, specs, user, instance, write=True)
        again = lake.read("activation", "playlist_write_plan").to_pylist()
        assert lake.read("activation", "curated_playlists").to_pylist() == curated

    spec_check = [c for c in checks if c.check_name == "playlists_follow_their_specs"]
    assert len(spec_check) == 1 and spec_check[0].passed
    big = [r for r in curated if r["playlist_key"] == "big-mix"]
    assert [r["position"] for r in big] == list(range(1, 131))
    assert all(r["reason"] for r in curated)
    short_minutes = sum(r["duration_ms"] for r in curated if r["playlist_key"] == "short-calm")
    assert 20 <= short_minutes / 60_000 <= 25

    def calls(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(r["playlist_key"], r["step"], r["action"], r["track_uris"], r["position"])
                for r in rows]  # fmt: skip

    assert {r["mode"] for r in dry} == {"dry_run"} and not any(r["executed"] for r in dry)
    assert calls(written) == calls(dry)  # the dry run's plan is what the write did
    assert all(r["executed"] and r["snapshot_after"] for r in written)
    assert writes == len(written) == 5  # 2 creates, 2 replaces, 1 add (130 = 100 + 30)
    assert [r["action"] for r in again] == ["unchanged", "unchanged"]
    assert store.writes == writes  # the second write made no write call
    for key in ("big-mix", "short-calm"):
        playlist_id = next(r["spotify_playlist_id"] for r in written if r["playlist_key"] == key)
        held = store.track_ids(playlist_id)
        assert held == [r["track_id"] for r in curated if r["playlist_key"] == key]


def test_spec_and_seed_errors_fail_naming_the_field(
    settings: AgentSettings, world: SampleWorld, tmp_path: Path
) -> None:
    write_upstream(ParquetLake(settings.lake_root), upstream_rows(world))
    user = SpotifyUserResource(use_sample_world=True)
    cases = [
        ({"mood": "sleepy"}, "playlists[1].mood"),
        ({"duration_minutes": -1}, "playlists[1].duration_minutes"),
        ({"seeds": {"artists": ["0" * 22]}}, "playlists[1].seeds.artists[0]"),
    ]
    with dg.instance_for_test() as instance:
        for change, field in cases:
            entries = _specs(world)
            entries[1] = {k: v for k, v in entries[1].items() if k not in change} | change
            if "duration_minutes" in change:
                entries[1].pop("length", None)
            specs = write_specs(tmp_path / "bad.yaml", entries)
            result = _run(settings, specs, user, instance, raise_on_error=False)
            assert not result.success
            failure = result.failure_data_for_node("curated_playlists")
            assert failure is not None and field in str(failure.error.message)


def test_sample_world_dry_run_plans_creation_and_refuses_to_write(
    settings: AgentSettings, world: SampleWorld, tmp_path: Path
) -> None:
    lake = ParquetLake(settings.lake_root)
    write_upstream(lake, upstream_rows(world))
    specs = write_specs(tmp_path / "playlists.yaml", _specs(world))
    user = SpotifyUserResource(use_sample_world=True)
    with dg.instance_for_test() as instance:
        _run(settings, specs, user, instance)
        plan = lake.read("activation", "playlist_write_plan").to_pylist()
        result = _run(settings, specs, user, instance, write=True, raise_on_error=False)
    assert [r["action"] for r in plan if r["step"] == 1] == ["create", "create"]
    assert not result.success
    failure = result.failure_data_for_node("playlist_write_plan")
    assert failure is not None and "SPOTIFY_REFRESH_TOKEN" in str(failure.error.message)


def test_write_back_refuses_tracks_curated_for_an_older_spec(
    settings: AgentSettings, world: SampleWorld, tmp_path: Path
) -> None:
    write_upstream(ParquetLake(settings.lake_root), upstream_rows(world))
    entries = _specs(world)
    specs = write_specs(tmp_path / "playlists.yaml", entries)
    user = SpotifyUserResource(use_sample_world=True)
    with dg.instance_for_test() as instance:
        _run(settings, specs, user, instance)
        write_specs(specs, [entries[0], entries[1] | {"description": "Renamed purpose"}])
        result = dg.materialize(
            [*ASSETS, *CHECKS],
            selection=dg.AssetSelection.assets("playlist_write_plan"),
            resources=build_resources(settings)
            | {"playlist_specs": PlaylistSpecsResource(path=str(specs)), "spotify_user": user},
            instance=instance,
            raise_on_error=False,
        )
    failure = result.failure_data_for_node("playlist_write_plan")
    assert failure is not None and "'short-calm' as curated from an older spec" in str(
        failure.error.message
    )


SENTINEL = "SENTINEL-REFRESH-TOKEN-51c2"


def test_refresh_token_never_leaves_the_environment(
    tmp_path: Path,
    world: SampleWorld,
    emulator: SpotifyEmulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Bound as dg.EnvVar: in no event, metadata, run config, log line or error, whether
    Spotify accepts the token or refuses it."""
    import logging

    from dagster._serdes import serialize_value

    from spotify_agent_assets.environment import load_settings

    caplog.set_level(logging.DEBUG)
    specs = write_specs(tmp_path / "playlists.yaml", _specs(world))
    for name, value in {
        "SPOTIFY_AGENT_DATA_DIR": str(tmp_path / "data"),
        "SPOTIFY_AGENT_PLAYLISTS": str(specs),
        "SPOTIFY_CLIENT_ID": EMULATOR_ID,
        "SPOTIFY_CLIENT_SECRET": EMULATOR_SECRET,
        "SPOTIFY_REFRESH_TOKEN": SENTINEL,
        "SPOTIFY_API_BASE_URL": emulator.api_base_url,
        "SPOTIFY_ACCOUNTS_URL": emulator.accounts_url,
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    write_upstream(ParquetLake(settings.lake_root), upstream_rows(world))
    emulator.api.refresh_token = SENTINEL
    instance = dg.DagsterInstance.ephemeral()
    resources = build_resources(settings)
    config = {"ops": {"playlist_write_plan": {"config": {"write": True}}}}
    ok = dg.materialize(
        [*ASSETS, *CHECKS], resources=resources, instance=instance, run_config=config
    )
    assert ok.success and emulator.api.user_playlists.writes > 0
    emulator.api.refresh_token = "another-token"
    emulator.expire_tokens()
    failed = dg.materialize(
        [*ASSETS, *CHECKS], resources=resources, instance=instance, run_config=config,
        raise_on_error=False,
    )  # fmt: skip
    assert not failed.success
    errors = [
        e.step_failure_data.error.to_string()
        for e in failed.all_events
        if e.event_type == dg.DagsterEventType.STEP_FAILURE
    ]
    assert errors and any("refresh token" in e for e in errors)
    records = []
    for run in instance.get_runs():
        records.append(serialize_value(run))
        records.extend(serialize_value(e) for e in instance.all_logs(run.run_id))
    assert SENTINEL not in "\n".join(records)
    assert SENTINEL not in "\n".join(errors)
    assert caplog.records
    assert SENTINEL not in "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
