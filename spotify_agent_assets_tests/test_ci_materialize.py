"""The CI example, ``ci/materialize.py``: exit 0 and every check listed when the data is good;
a non-zero exit naming the check when a blocking check fails.

Two days of a 20-listener sample land in a temporary data folder; ``group:streams`` for one day
passes its checks. A copy of that day's stored events is then planted under another day, as a
stray file from an older writer would be, and the same materialization must fail on
``stream_events``' blocking key check (a key written by the run is stored twice in the table).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from spotify_agent_assets.sample_world.landing_files import write_sample_landing_zone
from spotify_agent_assets.sample_world.listening import ListeningWorld
from spotify_agent_assets.sample_world.world import SampleWorld

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "ci" / "materialize.py"
DAY = "2026-10-02"
STRAY_DAY = "2026-10-09"


def run_script(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_ci_script_passes_good_data_and_fails_on_a_blocking_check(tmp_path: Path) -> None:
    # As a CI job's shell: no DAGSTER_HOME, so the script must pick and prepare the local one.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "DAGSTER_"))}
    env["SPOTIFY_AGENT_DATA_DIR"] = str(tmp_path / "data")
    listening = ListeningWorld(
        SampleWorld(), n_listeners=20, first_day=dt.date.fromisoformat(DAY), days=2
    )
    write_sample_landing_zone(listening, tmp_path / "data" / "landing")

    good = run_script(env, "--select", "group:streams", "--partition", DAY)
    assert good.returncode == 0, good.stdout[-3000:] + good.stderr[-3000:]
    assert "ci/materialize: PASSED blocking check stream_events key_unique_not_null" in good.stdout
    assert "FAILED" not in good.stdout
    assert (tmp_path / "data" / "dagster_home" / "dagster.yaml").is_file()

    stored = tmp_path / "data" / "lake" / "streams" / "stream_events"
    (stored / f"date={STRAY_DAY}").mkdir()
    for part in (stored / f"date={DAY}").glob("*.parquet"):
        shutil.copy(part, stored / f"date={STRAY_DAY}" / part.name)

    bad = run_script(env, "--select", "group:streams", "--partition", DAY)
    assert bad.returncode != 0, bad.stdout[-3000:]
    assert (
        "ci/materialize: FAILED blocking check stream_events key_unique_not_null: "
        "key (event_id) violated" in bad.stdout
    )
    assert "blocking check failed: stream_events key_unique_not_null" in bad.stderr


def test_ci_script_refuses_prod_without_an_instance(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "DAGSTER_"))}
    env.update(SPOTIFY_AGENT_ENV="prod", SPOTIFY_AGENT_DATA_DIR=str(tmp_path / "data"))
    refused = run_script(env, "--select", "group:streams")
    assert refused.returncode != 0
    assert "DAGSTER_HOME is not set" in refused.stderr
    assert not (tmp_path / "data").exists()


def test_sample_workflow_runs_the_script_with_its_inputs_from_the_environment() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "materialize.yml").read_text())
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    runs = "\n".join(step.get("run", "") for step in steps)
    assert "ci/materialize.py" in runs
    # Inputs reach the shell as variables, never pasted into the script text (injection).
    assert "${{" not in runs
