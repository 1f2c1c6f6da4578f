"""Shared builds for the dbt tests: dbt runs cost seconds each, so the fixture lake is built
and the unpartitioned models run once per session; tests copy the warehouse file to go on."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from spotify_agent_assets.analytics_dbt.project import DBT_ENV, dbt_executable
from spotify_agent_assets.analytics_dbt.run_vars import dbt_vars_arg
from spotify_agent_assets.analytics_dbt.run_window import RunWindow, write_run_window
from spotify_agent_assets.defs.analytics.dbt_assets import (
    DBT_ASSETS,
    DBT_PROJECT_DIR,
    analytics_daily_dbt_models,
    analytics_dbt_models,
)
from spotify_agent_assets.defs.analytics.dbt_resource import build_dbt_resource
from spotify_agent_assets.defs.lake.io_manager import LakeIOManager
from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.environment import load_settings
from spotify_agent_assets.lake import ParquetLake, Warehouse
from spotify_agent_assets_tests.dbt.fixtures import DAYS, build_lake

ANALYTICS_TABLES = (
    "fct_streams_daily",
    "artist_daily_metrics",
    "market_breakdown",
    "dim_track",
    "dim_artist",
    "track_performance",
)
DAILY_TABLES = ("fct_streams_daily", "artist_daily_metrics", "market_breakdown")


def resources(warehouse: Warehouse) -> dict[str, Any]:
    """As in the code location: the lake IO manager is the default (dbt outputs must bypass it)."""
    settings = load_settings({"SPOTIFY_AGENT_DATA_DIR": str(warehouse.path.parent)})
    lake = LakeResource(lake_root=warehouse.lake.root, warehouse_path=str(warehouse.path))
    return {
        "lake": lake,
        "io_manager": LakeIOManager(storage=lake),
        "dbt": build_dbt_resource(settings),
    }


def run_models(warehouse: Warehouse, **kwargs: Any) -> dg.ExecuteInProcessResult:
    """The unpartitioned models (staging views, dimensions, track_performance)."""
    return dg.materialize([analytics_dbt_models], resources=resources(warehouse), **kwargs)


def run_daily(
    warehouse: Warehouse, first: str, last: str | None = None, **kwargs: Any
) -> dg.ExecuteInProcessResult:
    """The daily models for one day, or for first..last in one run (one dbt invocation)."""
    if last is None:
        kwargs["partition_key"] = first
    else:
        kwargs["tags"] = {
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
        }
    return dg.materialize(
        DBT_ASSETS,
        selection=[analytics_daily_dbt_models],
        resources=resources(warehouse),
        **kwargs,
    )


def copy_warehouse(source: Warehouse, path: Path, lake: ParquetLake | None = None) -> Warehouse:
    """A copy of the warehouse file (dbt has closed it) on the same lake unless told otherwise."""
    assert not source.path.with_name(source.path.name + ".wal").exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source.path, path)
    return Warehouse(path, lake or source.lake)


def copy_lake(built: Built, root: Path) -> tuple[ParquetLake, Warehouse]:
    """The fixture lake and the built warehouse copied under ``root``, views re-pointed there."""
    shutil.copytree(built.warehouse.lake.root, root / "lake")
    lake = ParquetLake(str(root / "lake"))
    warehouse = copy_warehouse(built.warehouse, root / "warehouse.duckdb", lake)
    for group, asset, partitioned in (
        ("streams", "stream_events", True),
        ("spotify", "spotify_tracks", False),
        ("spotify", "spotify_albums", False),
        ("spotify", "spotify_artists", False),
        ("spotify_history", "artist_snapshots", True),
    ):
        warehouse.register(group, asset, partitioned)
    return lake, warehouse


def daily_tables(warehouse: Warehouse) -> dict[str, list[tuple]]:
    return {table: table_rows(warehouse, table) for table in DAILY_TABLES}


def set_run_window(warehouse: Warehouse, window: RunWindow | None) -> None:
    """The window the next dbt command builds, as a Dagster run sets it."""
    with closing(duckdb.connect(str(warehouse.path))) as connection:
        write_run_window(connection, window)


def dbt_cli(warehouse: Warehouse, *args: str) -> None:
    """dbt run by hand (``dbt build --full-refresh``, ...) on ``warehouse``, as an operator
    would; its own target and log folders, so the project's manifest stays as it is."""
    scratch = warehouse.path.parent / "dbt_cli"
    command = [
        dbt_executable(),
        *args,
        "--vars",
        dbt_vars_arg(warehouse.path),
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(scratch / "target"),
        "--log-path",
        str(scratch / "logs"),
    ]
    done = subprocess.run(
        command, env={**os.environ, **DBT_ENV}, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]


def query(warehouse: Warehouse, sql: str) -> list[tuple]:
    with closing(duckdb.connect(str(warehouse.path), read_only=True)) as connection:
        return connection.execute(sql).fetchall()


def table_rows(warehouse: Warehouse, table: str, schema: str = "analytics") -> list[tuple]:
    return sorted(query(warehouse, f"SELECT * FROM {schema}.{table}"), key=repr)


def failed_checks(result: dg.ExecuteInProcessResult) -> list[str]:
    """Names of the checks that did not pass (empty when all passed)."""
    return [c.check_name for c in result.get_asset_check_evaluations() if not c.passed]


@dataclass(frozen=True)
class Built:
    warehouse: Warehouse
    result: dg.ExecuteInProcessResult


@pytest.fixture(scope="session")
def dbt_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """The fixture lake, its warehouse views and the unpartitioned models built once."""
    _, warehouse = build_lake(tmp_path_factory.mktemp("dbt_lake"))
    result = run_models(warehouse)
    yield Built(warehouse, result)


@pytest.fixture(scope="session")
def dbt_range(dbt_base: Built, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """dbt_base plus the daily models over all fixture days in one run."""
    warehouse = copy_warehouse(
        dbt_base.warehouse, tmp_path_factory.mktemp("dbt_range") / "warehouse.duckdb"
    )
    return Built(warehouse, run_daily(warehouse, DAYS[0], DAYS[-1]))
