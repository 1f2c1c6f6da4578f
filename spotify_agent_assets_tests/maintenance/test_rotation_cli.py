"""``log_and_run_rotation_job`` from the command line, as the README shows it: an old finished
run leaves the instance, a recent one stays, an idle audit log is compressed."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import uuid
from pathlib import Path

import dagster as dg
import pytest

from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.conftest import write_roster
from spotify_agent_assets_tests.maintenance.cli_runs import (
    cli_environment,
    dagster_home,
    execute_job,
    output_metadata,
)


@pytest.mark.slow
def test_rotation_job_runs_from_the_cli(tmp_path: Path, world: SampleWorld) -> None:
    now = dt.datetime.now(dt.UTC)
    home = dagster_home(tmp_path / "dagster_home")
    ids = {}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for label, age in (("old", 40), ("recent", 2)):
            run = dg.DagsterRun(
                job_name=f"job_{label}",
                run_id=str(uuid.uuid4()),
                status=dg.DagsterRunStatus.SUCCESS,
            )
            instance.run_storage.add_historical_run(run, now - dt.timedelta(days=age))
            ids[label] = run.run_id
    logs = tmp_path / "data" / "logs"
    logs.mkdir(parents=True)
    lines = [f'{{"n": {i}}}' for i in range(1000)]
    (logs / "audit-1.jsonl").write_text("\n".join(lines) + "\n")
    stamp = (now - dt.timedelta(days=2)).timestamp()
    os.utime(logs / "audit-1.jsonl", (stamp, stamp))
    environ = cli_environment(
        tmp_path / "data", home, write_roster(tmp_path / "artists.yaml", world)
    )

    completed = execute_job("log_and_run_rotation_job", environ)

    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-3000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = {run.job_name: run for run in instance.get_runs()}
        assert set(runs) == {"job_recent", "log_and_run_rotation_job"}
        assert instance.get_run_by_id(ids["old"]) is None
        metadata = output_metadata(instance, runs["log_and_run_rotation_job"].run_id)
    assert metadata["runs_deleted"] == 1 and metadata["audit_logs_compressed"] == 1
    assert gzip.decompress((logs / "audit-1.jsonl.gz").read_bytes()).decode().splitlines() == lines
    assert not (logs / "audit-1.jsonl").exists()
