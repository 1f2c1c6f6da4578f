"""How a run's days reach dbt: a row in the warehouse, not dbt vars, so dbt keeps its parse
between runs; the window restricts the models and their tests and is gone once dbt has exited."""

from __future__ import annotations

import datetime as dt
import subprocess
from contextlib import closing
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from spotify_agent_assets.analytics_dbt.project import DBT_ENV, dbt_executable, find_project_dir
from spotify_agent_assets.analytics_dbt.run_window import (
    RUN_WINDOW_RELATION,
    RunWindow,
    write_run_window,
)
from spotify_agent_assets.lake import Warehouse
from spotify_agent_assets.streams.event_schema import stream_events_schema
from spotify_agent_assets_tests.dbt.conftest import Built, query, run_daily, table_rows
from spotify_agent_assets_tests.dbt.test_dbt_incremental import copy_lake

pytestmark = pytest.mark.slow


def run_window_table(warehouse: Warehouse) -> list[tuple]:
    exists = query(
        warehouse,
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = 'dbt_run' AND table_name = 'run_window'",
    )
    return query(warehouse, f"SELECT * FROM {RUN_WINDOW_RELATION}") if exists[0][0] else []


def step_messages(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> list[str]:
    return [entry.user_message for entry in instance.all_logs(result.run_id)]


def test_a_run_builds_only_its_days_and_leaves_no_window(dbt_range: Built, tmp_path: Path) -> None:
    lake, warehouse = copy_lake(dbt_range, tmp_path)
    before = table_rows(warehouse, "fct_streams_daily")
    # Both days lose every event; only the run's day may notice.
    empty = stream_events_schema().empty_table()
    for day in ("2026-10-03", "2026-10-04"):
        lake.write(empty, "streams", "stream_events", partition_key=day)

    assert run_daily(warehouse, "2026-10-04").success

    after = table_rows(warehouse, "fct_streams_daily")
    assert after == [row for row in before if str(row[0]) != "2026-10-04"]
    assert any(str(row[0]) == "2026-10-03" for row in after)
    assert run_window_table(warehouse) == []


def test_the_next_run_reuses_dbt_parse(dbt_range: Built, tmp_path: Path) -> None:
    _, warehouse = copy_lake(dbt_range, tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    # The first run on this warehouse may parse everything (the cache may come from another
    # warehouse path or from `prepare`); the next, for another day, must not.
    assert run_daily(warehouse, "2026-10-03", instance=instance).success
    second = run_daily(warehouse, "2026-10-04", instance=instance)
    assert second.success
    messages = step_messages(instance, second)
    assert any("dbt reused its partial parse" in m for m in messages), messages
    assert not any("dbt parsed the whole project" in m for m in messages)


def test_tests_of_the_daily_models_read_only_the_run_window(
    dbt_range: Built, tmp_path: Path
) -> None:
    _, warehouse = copy_lake(dbt_range, tmp_path)
    # A duplicate row on 10-02 breaks fct_streams_daily's grain; a run for 10-04 does not see
    # it, a run for 10-02 rebuilds the day (and so repairs it).
    with closing(duckdb.connect(str(warehouse.path))) as connection:
        connection.execute(
            "INSERT INTO analytics.fct_streams_daily SELECT * FROM analytics.fct_streams_daily "
            "WHERE date = DATE '2026-10-02' LIMIT 1"
        )
    result = run_daily(warehouse, "2026-10-04", raise_on_error=False)
    assert result.success
    assert all(c.passed for c in result.get_asset_check_evaluations())
    evaluated = {c.check_name for c in result.get_asset_check_evaluations()}
    assert "unique_combination_of_columns_fct_streams_daily_date__track_id__country" in evaluated


def test_run_operation_sets_the_window_for_a_hand_run(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    project = find_project_dir()

    def dbt(*args: str) -> str:
        done = subprocess.run(
            [
                dbt_executable(),
                *args,
                "--project-dir",
                str(project),
                "--profiles-dir",
                str(project),
                "--target-path",
                str(tmp_path / "target"),
                "--log-path",
                str(tmp_path / "logs"),
                "--vars",
                f'{{"warehouse_path": "{path}"}}',
            ],
            capture_output=True,
            text=True,
            check=False,
            env={**DBT_ENV, "PATH": "/usr/bin:/bin"},
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    dbt("run-operation", "set_run_window", "--args", "{min_date: 2026-10-03, max_date: 2026-10-05}")
    with closing(duckdb.connect(str(path), read_only=True)) as connection:
        rows = connection.execute(
            f"SELECT min_date, max_date FROM {RUN_WINDOW_RELATION}"
        ).fetchall()
    assert rows == [(dt.date(2026, 10, 3), dt.date(2026, 10, 5))]
    dbt("run-operation", "clear_run_window")
    with closing(duckdb.connect(str(path))) as connection:
        assert connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'dbt_run'"
        ).fetchone() == (0,)
        # What Dagster writes is what the macros read.
        write_run_window(connection, RunWindow(dt.date(2026, 10, 1), dt.date(2026, 10, 2)))
        assert connection.execute(f"SELECT * FROM {RUN_WINDOW_RELATION}").fetchall() == [
            (dt.date(2026, 10, 1), dt.date(2026, 10, 2))
        ]
