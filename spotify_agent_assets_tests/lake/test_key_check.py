"""Key checks in DuckDB over stored lake files: whole tables and the partitions a run wrote."""

# No `from __future__ import annotations`: Dagster inspects the `context` annotation at runtime.
import datetime as dt
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest

from spotify_agent_assets.defs.lake import LakeIOManager, LakeResource
from spotify_agent_assets.defs.table_checks import KEY_CHECK, SCHEMA_CHECK, build_table_checks
from spotify_agent_assets.defs.table_metadata import contract_metadata
from spotify_agent_assets.lake import ParquetLake, TableNotFoundError
from spotify_agent_assets.lake.key_check import check_key
from spotify_agent_assets.lake.table_contract import Column, TableContract


@pytest.fixture
def lake(tmp_path: Path) -> ParquetLake:
    return ParquetLake(str(tmp_path / "lake"))


def _events(lake: ParquetLake, day: str, ids: list[str | None]) -> None:
    lake.write(pa.table({"event_id": pa.array(ids, pa.string())}), "streams", "events", day)


def test_the_whole_table_is_read_without_partitions(lake: ParquetLake) -> None:
    _events(lake, "2026-10-01", ["a", "b"])
    _events(lake, "2026-10-02", ["c", "a"])
    _events(lake, "2026-10-03", ["d", None, "d", "d"])

    report = check_key(lake, "streams", "events", ["event_id"])

    assert (report.rows, report.null_keys, report.duplicate_keys) == (8, 1, 2)
    assert report.examples == ["event_id=d (x3)", "event_id=a (x2)"]
    assert report.scope == "whole table" and not report.ok


def test_a_run_finds_its_duplicates_anywhere_in_the_table(lake: ParquetLake) -> None:
    _events(lake, "2026-10-01", ["a", "b"])
    _events(lake, "2026-10-02", ["b", "c"])  # b repeats an older day: not this run's doing
    _events(lake, "2026-10-03", ["a", "e"])  # the run's day repeats a of 2026-10-01

    report = check_key(lake, "streams", "events", ["event_id"], ["2026-10-03"])

    assert (report.rows, report.null_keys, report.duplicate_keys) == (2, 0, 1)
    assert report.examples == ["event_id=a (x2)"]
    assert report.partitions_checked == ["2026-10-03"]
    assert report.scope == "partitions 2026-10-03, probed against 2 other partition(s)"
    clean = check_key(lake, "streams", "events", ["event_id"], ["2026-10-01", "2026-10-03"])
    # Within the run (a twice) and across (b of 2026-10-01 is also in 2026-10-02).
    assert clean.duplicate_keys == 2


def test_a_key_holding_the_date_needs_no_probe(lake: ParquetLake) -> None:
    _events(lake, "2026-10-01", ["a"])
    _events(lake, "2026-10-02", ["a", "a"])

    report = check_key(lake, "streams", "events", ["date", "event_id"], ["2026-10-02"])

    assert report.duplicate_keys == 1 and report.rows == 2
    assert report.examples == ["date=2026-10-02, event_id=a (x2)"]
    assert "no cross-partition duplicates" in report.scope


def test_a_partition_the_run_did_not_write_is_named(lake: ParquetLake) -> None:
    _events(lake, "2026-10-01", ["a"])
    with pytest.raises(TableNotFoundError, match=r"streams\.events has no partition.*2026-10-05"):
        check_key(lake, "streams", "events", ["event_id"], ["2026-10-05"])
    with pytest.raises(TableNotFoundError, match=r"streams\.missing does not exist"):
        check_key(lake, "streams", "missing", ["event_id"])


EVENTS = TableContract(
    "events",
    ("event_id",),
    (
        Column("date", "date", "Day of the event", nullable=False),
        Column("event_id", "string", "Event id", nullable=False),
    ),
)
DAYS = dg.DailyPartitionsDefinition(start_date="2026-10-01", end_date="2026-10-10")


@dg.asset(group_name="streams", partitions_def=DAYS, metadata=contract_metadata(EVENTS))
def events(context: dg.AssetExecutionContext) -> pa.Table:
    """Two events on the run's day; ids from a run tag."""
    day = dt.date.fromisoformat(context.partition_key)
    ids = context.run.tags.get("ids", f"{day}-1,{day}-2").split(",")
    return pa.table({"date": pa.array([day] * len(ids), pa.date32()), "event_id": ids})


def _run(tmp_path: Path, day: str, ids: str | None = None) -> dg.ExecuteInProcessResult:
    lake = LakeResource(
        lake_root=str(tmp_path / "lake"), warehouse_path=str(tmp_path / "warehouse.duckdb")
    )
    return dg.materialize(
        [events, build_table_checks("streams", EVENTS)],
        partition_key=day,
        resources={"io_manager": LakeIOManager(storage=lake), "lake": lake},
        tags={"ids": ids} if ids else {},
        raise_on_error=False,
    )


def test_the_asset_checks_read_the_runs_partition_and_probe_the_rest(tmp_path: Path) -> None:
    first = _run(tmp_path, "2026-10-01")
    checks = {c.check_name: c for c in first.get_asset_check_evaluations()}
    assert checks[KEY_CHECK].passed and checks[SCHEMA_CHECK].passed
    assert checks[KEY_CHECK].metadata["scope"].value.startswith("partitions 2026-10-01")

    # A later day repeats an event of the first: the blocking key check fails on it.
    second = _run(tmp_path, "2026-10-02", ids="2026-10-01-1,new")
    assert not second.success  # blocking: the step fails, so nothing downstream runs
    checks = {c.check_name: c for c in second.get_asset_check_evaluations()}
    assert not checks[KEY_CHECK].passed
    assert checks[KEY_CHECK].metadata["examples"].value == ["event_id=2026-10-01-1 (x2)"]
    assert checks[KEY_CHECK].metadata["rows"].value == 2
    assert checks[SCHEMA_CHECK].metadata["files_checked"].value == 1


def test_the_schema_check_names_a_file_that_drifted(tmp_path: Path) -> None:
    _run(tmp_path, "2026-10-01")
    # A file an older writer left: event_id as a number.
    ParquetLake(str(tmp_path / "lake")).write(
        pa.table({"event_id": [1]}), "streams", "events", "2026-10-03"
    )
    result = _run(tmp_path, "2026-10-02")
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks[SCHEMA_CHECK].passed  # the run's own partition is fine

    lake = LakeResource(
        lake_root=str(tmp_path / "lake"), warehouse_path=str(tmp_path / "warehouse.duckdb")
    )
    # Run on its own (no partition): every file is read.
    whole = dg.materialize(
        [events, build_table_checks("streams", EVENTS)],
        selection=dg.AssetSelection.checks_for_assets(events),
        resources={"io_manager": LakeIOManager(storage=lake), "lake": lake},
        raise_on_error=False,
    )
    checks = {c.check_name: c for c in whole.get_asset_check_evaluations()}
    differences = checks[SCHEMA_CHECK].metadata["differences"].value
    (drifted,) = differences
    assert drifted.endswith("date=2026-10-03/part-0.parquet")
    assert differences[drifted] == ["column 'event_id' is int64, expected string"]
    assert not checks[SCHEMA_CHECK].passed
