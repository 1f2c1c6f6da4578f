"""The promised command line: `dagster asset materialize -m spotify_agent_assets.definitions`."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[1]


ACTIVATE = Path(sys.prefix) / "bin" / "activate"


def cli_env(tmp_path: Path) -> dict[str, str]:
    # As a user's shell would be: no DAGSTER_HOME, so the virtualenv's activate script (set up
    # by `make setup`) must choose the local instance, not the prod dagster.yaml in the repo root.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "DAGSTER_"))}
    env["SPOTIFY_AGENT_DATA_DIR"] = str(tmp_path / "data")
    return env


def dagster(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    assert "spotify_agent_assets: local Dagster instance" in ACTIVATE.read_text(), (
        f"{ACTIVATE} was not prepared by `make setup`; run the tests with `make test`"
    )
    command = " ".join(
        shlex.quote(a)
        for a in [
            "dagster",
            "asset",
            "materialize",
            "-m",
            "spotify_agent_assets.definitions",
            *args,
        ]
    )
    return subprocess.run(
        ["bash", "-c", f"source {shlex.quote(str(ACTIVATE))} && {command}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def sample_landing_zone(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spotify_agent_assets.sample_world.write_landing_zone"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_streams_then_spotify_materialize_from_the_cli_into_the_warehouse(tmp_path: Path) -> None:
    # In `make run`'s order: plays first (two of its days here), then the catalogue, whose
    # track sync looks up the played tracks no album listing shows.
    env = cli_env(tmp_path)
    zone = sample_landing_zone(env)
    assert zone.returncode == 0, zone.stderr[-4000:]
    streams = dagster(
        "--select", "group:streams", "--partition-range", "2026-10-02...2026-10-03", env=env
    )
    assert streams.returncode == 0, streams.stderr[-4000:]
    done = dagster("--select", "group:spotify", env=env)
    assert done.returncode == 0, done.stderr[-4000:]
    history = dagster(
        "--select", "group:spotify_history", "--partition-range", "2026-10-30...2026-10-31", env=env
    )
    assert history.returncode == 0, history.stderr[-4000:]

    warehouse = tmp_path / "data" / "warehouse.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (tracks,) = con.execute("select count(*) from spotify.spotify_tracks").fetchone()
        (days,) = con.execute(
            "select count(distinct date) from spotify_history.artist_snapshots"
        ).fetchone()
        (unattributed,) = con.execute(
            "select count(*) from streams.stream_events e "
            "anti join spotify.spotify_tracks t using (track_id)"
        ).fetchone()
    assert tracks >= 400
    assert days == 2
    assert unattributed == 0  # taken-down tracks included
    # The run is recorded in the instance the UI reads.
    assert any((tmp_path / "data" / "dagster_home").rglob("*.db"))
