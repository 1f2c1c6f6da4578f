"""After the CLI has materialized what is in the landing zones, `dagster sensor preview` of both
landing sensors requests no run: a brand-new cursor sees every file as new, and every file's
content is already stored. A new file then gives a run again."""

from __future__ import annotations

import datetime as dt
import shlex
import subprocess
from pathlib import Path

import pytest

from spotify_agent_assets.sample_world.audio import audio_ground_truth, render_clip
from spotify_agent_assets.sample_world.audio_landing_files import write_clip
from spotify_agent_assets.sample_world.landing_files import write_sample_landing_zone
from spotify_agent_assets.sample_world.listening import ListeningWorld
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.test_cli_materialize import ACTIVATE, ROOT, cli_env

pytestmark = pytest.mark.slow

FIRST = dt.date(2026, 10, 2)
DAYS = 3
AUDIO = "key:audio_catalog or key:audio_quarantine or key:audio_features"


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = " ".join(shlex.quote(a) for a in ["dagster", *args])
    done = subprocess.run(
        ["bash", "-c", f"source {shlex.quote(str(ACTIVATE))} && {command}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done


def preview(sensor: str, env: dict[str, str]) -> str:
    done = cli("sensor", "preview", sensor, "-m", "spotify_agent_assets.definitions", env=env)
    return done.stdout + done.stderr


def test_landing_sensors_request_nothing_once_the_zones_are_stored(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    landing = tmp_path / "data" / "landing"
    world = SampleWorld()
    listening = ListeningWorld(world, n_listeners=100, first_day=FIRST, days=DAYS)
    write_sample_landing_zone(listening, landing)
    music = [t for t in audio_ground_truth(world) if t.content_type == "music"][:3]
    for truth in music:
        write_clip(
            render_clip(truth, world.seed), landing / "audio" / truth.file_name, truth.sample_rate
        )

    before = preview("stream_landing_sensor", env)
    assert "run requests for 1 run(s)" in before, before[-2000:]

    last = FIRST + dt.timedelta(days=DAYS)  # the last UTC day may hold a few late plays
    materialize = ["asset", "materialize", "-m", "spotify_agent_assets.definitions"]
    cli(
        *materialize, "--select", "group:streams", "--partition-range", f"{FIRST}...{last}", env=env
    )
    cli(*materialize, "--select", AUDIO, env=env)

    for sensor in ("stream_landing_sensor", "audio_landing_sensor"):
        after = preview(sensor, env)
        assert "run requests for 0 run(s)" in after or "skipping" in after.lower(), after[-2000:]
        assert "run requests for 1 run(s)" not in after

    # One more clip: the audio sensor asks for a run again.
    extra = [t for t in audio_ground_truth(world) if t.content_type == "music"][3]
    write_clip(
        render_clip(extra, world.seed), landing / "audio" / extra.file_name, extra.sample_rate
    )
    assert "run requests for 1 run(s)" in preview("audio_landing_sensor", env)
