"""The pieces of retention on their own: the cutoff, the retention setting, the ingestion floor,
which landing files go, and the jobs and schedules in the code location."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import dagster as dg
import pytest

from spotify_agent_assets.environment import EnvironmentConfigError, load_settings
from spotify_agent_assets.lake import ParquetLake
from spotify_agent_assets.lake.table_contract import arrow_schema
from spotify_agent_assets.maintenance.retention import (
    RetentionConfigError,
    apply_stream_retention,
    expired_landing_files,
    raise_ingestion_floor,
    read_ingestion_floor,
    retention_cutoff,
)
from spotify_agent_assets.streams.landing_index import IndexedFile, LandingFile, LandingIndex
from spotify_agent_assets.streams.tables import STREAM_EVENTS, STREAM_QUARANTINE
from spotify_agent_assets_tests.s3_server import S3Server

D = dt.date


def test_the_cutoff_is_the_first_day_kept() -> None:
    assert retention_cutoff(D(2026, 12, 7), 30) == D(2026, 11, 7)
    for bad in (0, -3, 1.5, True, "30"):
        with pytest.raises(RetentionConfigError, match="retention_days"):
            retention_cutoff(D(2026, 12, 7), bad)  # type: ignore[arg-type]


def test_the_retention_setting_is_validated(tmp_path: Path) -> None:
    environ = {"SPOTIFY_AGENT_DATA_DIR": str(tmp_path)}
    assert load_settings(environ).event_retention_days == 730
    assert load_settings(environ).audit_log_dir == tmp_path.resolve() / "logs"
    ok = {**environ, "SPOTIFY_AGENT_EVENT_RETENTION_DAYS": " 90 "}
    assert load_settings(ok).event_retention_days == 90
    for bad in ("0", "-1", "two years", "1.5"):
        wrong = {**environ, "SPOTIFY_AGENT_EVENT_RETENTION_DAYS": bad}
        with pytest.raises(EnvironmentConfigError, match="SPOTIFY_AGENT_EVENT_RETENTION_DAYS"):
            load_settings(wrong)


def test_the_ingestion_floor_only_moves_forward(tmp_path: Path) -> None:
    lake = ParquetLake(str(tmp_path / "lake"))
    assert read_ingestion_floor(lake) is None
    assert raise_ingestion_floor(lake, D(2026, 10, 4)) == D(2026, 10, 4)
    # A later run with a longer retention does not reopen days already deleted.
    assert raise_ingestion_floor(lake, D(2026, 9, 1)) == D(2026, 10, 4)
    assert raise_ingestion_floor(lake, D(2026, 10, 9)) == D(2026, 10, 9)
    assert read_ingestion_floor(lake) == D(2026, 10, 9)
    assert lake.partitions("streams", "stream_events") == []  # no table sees the marker


def test_only_landing_files_wholly_before_the_cutoff_are_deleted() -> None:
    def entry(path: str, days: list[D], home: D) -> IndexedFile:
        return IndexedFile(LandingFile(path, 10, 1), tuple(days), home, f"id-{path}")

    index = LandingIndex(
        {
            "2026-10-01/a.jsonl": entry("2026-10-01/a.jsonl", [D(2026, 10, 1)], D(2026, 10, 1)),
            # The cutoff day itself is kept.
            "late.csv": entry("late.csv", [D(2026, 10, 2)], D(2026, 10, 2)),
            "export/x.json": entry("export/x.json", [D(2026, 9, 1), D(2026, 10, 5)], D(2026, 9, 1)),
            "2026-10-06/b.jsonl": entry("2026-10-06/b.jsonl", [D(2026, 10, 6)], D(2026, 10, 6)),
            "broken.jsonl": entry("broken.jsonl", [], D(2026, 9, 30)),
        }
    )
    purge = expired_landing_files(index, D(2026, 10, 2))
    assert purge.deleted == ("2026-10-01/a.jsonl", "broken.jsonl")
    assert purge.kept_spanning == ("export/x.json",)


def test_both_jobs_and_their_schedules_are_in_the_code_location() -> None:
    from spotify_agent_assets.definitions import defs

    for job, schedule, cron in (
        ("retention_job", "weekly_retention", "30 3 * * 0"),
        ("log_and_run_rotation_job", "daily_log_and_run_rotation", "30 1 * * *"),
    ):
        assert defs.get_job_def(job).name == job
        definition = defs.get_schedule_def(schedule)
        assert definition.job_name == job and definition.cron_schedule == cron
        assert definition.execution_timezone == "UTC"
        assert definition.default_status == dg.DefaultScheduleStatus.RUNNING


def test_retention_on_an_s3_lake_deletes_old_days_and_keeps_the_floor(
    s3_server: S3Server,
) -> None:
    lake = ParquetLake(s3_server.url(f"retention-{uuid.uuid4().hex[:8]}"), s3_server.settings())
    assert read_ingestion_floor(lake) is None  # a missing object reads as no floor
    for contract in (STREAM_EVENTS, STREAM_QUARANTINE):
        for day in ("2026-10-01", "2026-10-02", "2026-10-03"):
            lake.write(arrow_schema(contract).empty_table(), "streams", contract.name, day)

    result = apply_stream_retention(lake, D(2026, 10, 3))

    assert result.tables["stream_events"].days == ("2026-10-01", "2026-10-02")
    for contract in (STREAM_EVENTS, STREAM_QUARANTINE):
        assert lake.partitions("streams", contract.name) == ["2026-10-03"]
    assert read_ingestion_floor(lake) == D(2026, 10, 3)
    again = apply_stream_retention(lake, D(2026, 10, 3))
    assert not again.changed
