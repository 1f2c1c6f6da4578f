"""An erasure killed (SIGKILL) in the middle leaves every partition either as it was or as it
should be, and a re-run finishes it; the job runs from the CLI as the README shows."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from spotify_agent_assets.environment import AgentSettings
from spotify_agent_assets.lake import ParquetLake
from spotify_agent_assets.maintenance.erasure import ErasureStores, run_erasure
from spotify_agent_assets.maintenance.erasure_journal import load_journal, receipt_path
from spotify_agent_assets.maintenance.erasure_request import load_request
from spotify_agent_assets.sample_world.listening import ListeningWorld
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets.streams.erased_listeners import ledger_path
from spotify_agent_assets.streams.pseudonymize import load_pseudonym_key
from spotify_agent_assets_tests.conftest import write_roster
from spotify_agent_assets_tests.defs.graph_runs import graph_settings
from spotify_agent_assets_tests.maintenance.cli_runs import execute_job
from spotify_agent_assets_tests.maintenance.erasure_world import (
    build_world,
    exported_listeners,
    pseudonyms,
    without,
    write_request,
)

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::dagster.BetaWarning")]

ROOT = Path(__file__).resolve().parents[2]
# Runs one erasure and parks after the second rewritten partition, for the test to kill.
CHILD = """
import sys, time
from pathlib import Path
from spotify_agent_assets.environment import load_settings
from spotify_agent_assets.maintenance.erasure import ErasureStores, run_erasure
from spotify_agent_assets.streams.pseudonymize import load_pseudonym_key

settings = load_settings()
rewritten = []

def progress(message):
    if message.startswith("rewrote streams.stream_events"):
        rewritten.append(message)
        if len(rewritten) == 2:
            Path(sys.argv[2]).write_text("two partitions rewritten")
            time.sleep(600)

key = load_pseudonym_key(settings.data_dir, {})
run_erasure(ErasureStores.from_settings(settings), sys.argv[1], key, progress)
"""


@pytest.fixture(scope="module")
def streams_world(
    tmp_path_factory: pytest.TempPathFactory, world: SampleWorld
) -> Iterator[tuple[AgentSettings, ListeningWorld]]:
    settings = graph_settings(tmp_path_factory.mktemp("erasure-crash") / "run", world)
    with dg.instance_for_test() as instance:
        listening = build_world(settings, world, instance, full=False)
    yield settings, listening


def _environ(settings: AgentSettings, **extra: str) -> dict[str, str]:
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SPOTIFY_", "MLFLOW_", "AWS_", "DAGSTER_"))
    }
    return {
        **environ,
        "SPOTIFY_AGENT_ENV": "local",
        "SPOTIFY_AGENT_DATA_DIR": str(settings.data_dir),
        "SPOTIFY_AGENT_ROSTER": str(settings.roster_path),
        **extra,
    }


def _busiest_daily_listener(settings: AgentSettings, listening: ListeningWorld) -> str:
    """The listener of the daily files present on the most days."""
    ids = [i for i in listening.listeners()["listener_id"].to_pylist()]
    keys = pseudonyms(settings, ids)
    lake = ParquetLake(settings.lake_root)
    days = {
        day: set(lake.read("streams", "stream_events", [day])["listener_key"].to_pylist())
        for day in lake.partitions("streams", "stream_events")
    }
    exported = set(exported_listeners(settings))
    return max(
        (i for i in ids if i not in exported),
        key=lambda i: sum(keys[i] in present for present in days.values()),
    )


def _partitions(lake: ParquetLake) -> dict[str, list[dict]]:
    return {
        day: lake.read("streams", "stream_events", [day]).to_pylist()
        for day in lake.partitions("streams", "stream_events")
    }


def test_a_killed_erasure_leaves_each_partition_before_or_after_and_a_rerun_finishes(
    streams_world: tuple[AgentSettings, ListeningWorld], tmp_path: Path
) -> None:
    settings, listening = streams_world
    raw = _busiest_daily_listener(settings, listening)
    key = pseudonyms(settings, [raw])[raw]
    lake = ParquetLake(settings.lake_root)
    before = _partitions(lake)
    expected = {day: [r for r in rows if r["listener_key"] != key] for day, rows in before.items()}
    touched = [day for day in before if before[day] != expected[day]]
    assert len(touched) >= 3  # so the kill after two leaves some partitions untouched
    footers = {day: lake.read_footer("streams", "stream_events", day) for day in before}
    request = write_request(tmp_path / "request.json", [raw])
    marker = tmp_path / "marker"

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(request), str(marker)],
        cwd=ROOT,
        env=_environ(settings),
    )
    try:
        deadline = time.monotonic() + 240
        while not marker.exists():
            assert child.poll() is None, "the erasure ended before it could be killed"
            assert time.monotonic() < deadline, "the erasure never reached its second partition"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL

    # Killed mid-way: each partition is exactly as before or exactly as after, never between.
    killed = _partitions(lake)
    states = {
        day: "after" if killed[day] == expected[day] else "before"
        for day in before
        if day in touched
    }
    for day, rows in killed.items():
        assert rows in (before[day], expected[day]), day
    assert sorted(states.values()).count("after") == 2 and "before" in states.values()
    request_key = load_pseudonym_key(settings.data_dir, {})
    erasure_id = load_request(request, request_key).erasure_id
    journal = load_journal(settings.data_dir, erasure_id)
    assert journal is not None and journal["status"] == "planned" and journal["steps"] == {}
    assert request.exists()  # the raw id is still needed to finish
    assert key not in ledger_path(settings.data_dir).read_text()

    receipt = run_erasure(ErasureStores.from_settings(settings), request, request_key)
    assert _partitions(lake) == expected
    assert {day: lake.read_footer("streams", "stream_events", day) for day in before} == footers
    assert not request.exists()
    assert load_journal(settings.data_dir, erasure_id)["status"] == "done"
    # The receipt counts what the plan found, including the rows the killed run removed.
    removed = sum(
        f["rows"] for f in receipt["removed"]["lake"] if f["table"] == "streams.stream_events"
    )
    assert removed == sum(len(before[d]) - len(expected[d]) for d in before)
    stored = receipt_path(settings.data_dir, erasure_id).read_text()
    assert raw not in stored and key not in stored
    assert not list(Path(settings.lake_root).rglob(".*.tmp"))


def test_the_job_runs_from_the_cli_with_the_ids_in_a_request_file(
    streams_world: tuple[AgentSettings, ListeningWorld], tmp_path: Path, world: SampleWorld
) -> None:
    settings, _ = streams_world
    raw = exported_listeners(settings)[0]
    key = pseudonyms(settings, [raw])[raw]
    lake = ParquetLake(settings.lake_root)
    events = lake.read("streams", "stream_events")
    assert key in set(events["listener_key"].to_pylist())
    request = write_request(tmp_path / "request.json", [raw])
    config = tmp_path / "erasure.yaml"
    config.write_text(f"request_file: {request}\n")
    home = tmp_path / "dagster_home"
    home.mkdir()
    write_roster(tmp_path / "artists.yaml", world)
    environ = _environ(settings, DAGSTER_HOME=str(home))
    completed = execute_job("gdpr_erasure_job", environ, config, timeout=400)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-4000:]
    assert raw not in output and key not in output
    assert without(events, {key}) == without(lake.read("streams", "stream_events"), set())
    assert not (Path(settings.landing_dir) / "streams" / "extended_history" / raw).exists()
    assert not request.exists()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        [run] = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert json.dumps(run.run_config).count(raw) == 0
        logs = "".join(str(entry) for entry in instance.all_logs(run.run_id))
        assert raw not in logs and key not in logs
        reported = instance.get_latest_materialization_event(dg.AssetKey("stream_events"))
        assert reported is not None and reported.run_id == run.run_id
