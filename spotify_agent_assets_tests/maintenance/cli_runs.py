"""Running a maintenance job as the README shows it, in a subprocess:
``dagster job execute -m spotify_agent_assets.definitions -j NAME``, with the data folder and
``DAGSTER_HOME`` in a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg

ROOT = Path(__file__).resolve().parents[2]


def dagster_home(path: Path) -> Path:
    """A fresh SQLite instance folder, telemetry off (nothing leaves the machine)."""
    path.mkdir(parents=True)
    (path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return path


def cli_environment(data_dir: Path, home: Path, roster: Path, **extra: str) -> dict[str, str]:
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SPOTIFY_", "SENTRY_", "MLFLOW_", "AWS_", "DAGSTER_"))
    }
    environ.update(
        {
            "DAGSTER_HOME": str(home),
            "SPOTIFY_AGENT_ENV": "local",
            "SPOTIFY_AGENT_DATA_DIR": str(data_dir),
            "SPOTIFY_AGENT_ROSTER": str(roster),
            **extra,
        }
    )
    return environ


def execute_job(
    job: str, environ: dict[str, str], *configs: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``dagster job execute -m spotify_agent_assets.definitions -j JOB [-c CONFIG ...]``."""
    dagster = Path(sys.executable).with_name("dagster")
    command = ["job", "execute", "-m", "spotify_agent_assets.definitions", "-j", job]
    for config in configs:
        command += ["-c", str(config)]
    return subprocess.run(
        [str(dagster), *command],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def output_metadata(instance: dg.DagsterInstance, run_id: str) -> dict[str, Any]:
    """The metadata of the run's one step output, as plain values."""
    [output] = [
        entry.dagster_event.step_output_data
        for entry in instance.all_logs(run_id)
        if entry.dagster_event and entry.dagster_event.event_type_value == "STEP_OUTPUT"
    ]
    return {key: value.value for key, value in output.metadata.items()}
