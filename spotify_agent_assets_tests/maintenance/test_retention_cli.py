"""``retention_job`` from the command line, as the README shows it: with a 30-day retention
the day two months back leaves the lake, yesterday stays, and the ingestion floor is set."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from spotify_agent_assets.lake import ParquetLake
from spotify_agent_assets.lake.table_contract import arrow_schema
from spotify_agent_assets.maintenance.retention import read_ingestion_floor
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets.streams.tables import STREAM_EVENTS, STREAM_QUARANTINE
from spotify_agent_assets_tests.conftest import write_roster
from spotify_agent_assets_tests.maintenance.cli_runs import (
    cli_environment,
    dagster_home,
    execute_job,
    output_metadata,
)


@pytest.mark.slow
def test_retention_job_runs_from_the_cli(tmp_path: Path, world: SampleWorld) -> None:
    today = dt.datetime.now(dt.UTC).date()
    old, recent = today - dt.timedelta(days=60), today - dt.timedelta(days=1)
    lake = ParquetLake(str(tmp_path / "data" / "lake"))
    for contract in (STREAM_EVENTS, STREAM_QUARANTINE):
        for day in (old, recent):
            lake.write(arrow_schema(contract).empty_table(), "streams", contract.name, str(day))
    home = dagster_home(tmp_path / "dagster_home")
    environ = cli_environment(
        tmp_path / "data",
        home,
        write_roster(tmp_path / "artists.yaml", world),
        SPOTIFY_AGENT_EVENT_RETENTION_DAYS="30",
    )

    completed = execute_job("retention_job", environ)

    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-3000:]
    for table in ("stream_events", "stream_quarantine"):
        assert lake.partitions("streams", table) == [recent.isoformat()], table
    assert read_ingestion_floor(lake) == today - dt.timedelta(days=30)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        [run] = instance.get_runs()
        assert run.job_name == "retention_job" and run.status == dg.DagsterRunStatus.SUCCESS
        metadata = output_metadata(instance, run.run_id)
    assert metadata["cutoff"] == (today - dt.timedelta(days=30)).isoformat()
    assert metadata["partitions_deleted"] == {
        "stream_events": [old.isoformat()],
        "stream_quarantine": [old.isoformat()],
    }
    assert metadata["changed"] is True
