"""``retention_job`` over a built sample world: exactly the days before the cutoff leave the
lake, the landing zone, the daily dbt models and Dagster's partition status; the listener-level
tables are rebuilt as if the old days had never been; a later sensor tick brings nothing back,
and a re-run changes nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from spotify_agent_assets.defs.analytics.dbt_assets import DBT_ASSETS
from spotify_agent_assets.defs.maintenance.retention import retention_job
from spotify_agent_assets.defs.ml.assets import interaction_matrix
from spotify_agent_assets.defs.resources import build_resources
from spotify_agent_assets.defs.spotify import assets as spotify_assets
from spotify_agent_assets.defs.spotify.checks import spotify_table_checks
from spotify_agent_assets.defs.streams.assets import STREAM_ASSETS
from spotify_agent_assets.defs.streams.automation import stream_landing_sensor
from spotify_agent_assets.defs.streams.checks import STREAM_TABLE_CHECKS
from spotify_agent_assets.environment import AgentSettings, load_settings
from spotify_agent_assets.lake import ParquetLake
from spotify_agent_assets.lake.warehouse import Warehouse
from spotify_agent_assets.maintenance.retention import (
    apply_stream_retention,
    read_ingestion_floor,
)
from spotify_agent_assets.sample_world.landing_files import write_sample_landing_zone
from spotify_agent_assets.sample_world.listening import ListeningWorld
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.defs.graph_runs import (
    DAILY_MODELS,
    graph_settings,
    materialize_keys,
)
from spotify_agent_assets_tests.maintenance.cli_runs import dagster_home

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::dagster.BetaWarning"),
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy:DeprecationWarning"),
]

FIRST = dt.date(2026, 10, 1)
DAYS = 6
CUTOFF = FIRST + dt.timedelta(days=3)
STREAM_TABLES = ("stream_events", "stream_quarantine")
DAILY_TABLES = (
    "analytics.fct_streams_daily",
    "analytics.artist_daily_metrics",
    "analytics.market_breakdown",
    "intermediate.int_track_completions_daily",
)


def _defs(settings: AgentSettings) -> dg.Definitions:
    return dg.Definitions(
        assets=[
            *dg.load_assets_from_modules([spotify_assets]),
            *STREAM_ASSETS,
            *DBT_ASSETS,
            interaction_matrix,
        ],
        asset_checks=[*spotify_table_checks, *STREAM_TABLE_CHECKS],
        resources=build_resources(settings),
    )


def _group(defs: dg.Definitions, name: str) -> list[str]:
    graph = defs.resolve_asset_graph()
    return sorted(
        k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).group_name == name
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, world: SampleWorld) -> Path:
    """A data folder and a Dagster home with streams, catalogue, dbt models and the matrix."""
    root = tmp_path_factory.mktemp("retention") / "built"
    settings = graph_settings(root, world)
    listening = ListeningWorld(world, n_listeners=80, first_day=FIRST, days=DAYS)
    write_sample_landing_zone(listening, Path(settings.landing_dir))
    defs = _defs(settings)
    days = [(FIRST + dt.timedelta(days=i)).isoformat() for i in range(DAYS)]
    home = dagster_home(root / "dagster_home")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        materialize_keys(defs, instance, _group(defs, "streams"), days)
        materialize_keys(defs, instance, _group(defs, "spotify"))
        materialize_keys(defs, instance, _group(defs, "spotify_history"), days)
        dbt_keys = {k.to_user_string() for a in DBT_ASSETS for k in a.keys}
        materialize_keys(defs, instance, sorted(dbt_keys - DAILY_MODELS))
        materialize_keys(defs, instance, sorted(DAILY_MODELS), days)
        materialize_keys(defs, instance, ["interaction_matrix"])
    return root


@pytest.fixture
def copy(built: Path, tmp_path: Path) -> tuple[AgentSettings, Path]:
    """The built world copied, with the warehouse's lake views pointed at the copy."""
    root = tmp_path / "run"
    shutil.copytree(built, root)
    settings = _settings_at(root)
    warehouse = Warehouse(settings.warehouse_path, ParquetLake(settings.lake_root))
    for group_dir in sorted(Path(settings.lake_root).iterdir()):
        if not group_dir.is_dir() or group_dir.name.startswith("_"):
            continue
        for table_dir in sorted(group_dir.iterdir()):
            partitioned = any(p.name.startswith("date=") for p in table_dir.iterdir())
            warehouse.register(group_dir.name, table_dir.name, partitioned=partitioned)
    return settings, root / "dagster_home"


def _settings_at(root: Path) -> AgentSettings:
    """The settings graph_settings made for ``root`` (its roster written there)."""
    return load_settings(
        {
            "SPOTIFY_AGENT_ENV": "local",
            "SPOTIFY_AGENT_DATA_DIR": str(root / "data"),
            "SPOTIFY_AGENT_ROSTER": str(root / "artists.yaml"),
        }
    )


def _retention_days() -> int:
    return (dt.datetime.now(dt.UTC).date() - CUTOFF).days


def _run(settings: AgentSettings, instance: dg.DagsterInstance) -> dict[str, Any]:
    result = retention_job.execute_in_process(
        run_config={
            "ops": {"apply_event_retention": {"config": {"retention_days": _retention_days()}}}
        },
        resources=build_resources(settings),
        instance=instance,
    )
    assert result.success
    [output] = [
        event.step_output_data
        for event in result.events_for_node("apply_event_retention")
        if event.is_successful_output
    ]
    return {key: value.value for key, value in output.metadata.items()}


def _lake_files(settings: AgentSettings) -> dict[str, str]:
    root = Path(settings.lake_root)
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _rows(settings: AgentSettings, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def _recent(settings: AgentSettings) -> dict[str, list[tuple]]:
    return {
        table: _rows(settings, f"select * from {table} where date >= ? order by all", [CUTOFF])
        for table in DAILY_TABLES
    }


def test_retention_deletes_exactly_the_old_days_and_rebuilds_their_dependents(
    copy: tuple[AgentSettings, Path],
) -> None:
    settings, home = copy
    landing = Path(settings.landing_dir) / "streams"
    files_before = _lake_files(settings)
    recent_before = _recent(settings)
    landing_before = sorted(str(p.relative_to(landing)) for p in landing.rglob("*") if p.is_file())
    old_day_files = [p for p in landing_before if p[:10] < CUTOFF.isoformat() and p[:4] == "2026"]
    assert old_day_files, "the sample zone should have daily files before the cutoff"
    [(old_events,)] = _rows(
        settings, "select count(*) from streams.stream_events where date < ?", [CUTOFF]
    )
    assert old_events > 0

    with dg.DagsterInstance.from_config(str(home)) as instance:
        summary = _run(settings, instance)

        # Lake: exactly the days from the cutoff on, in both tables; the others byte-identical.
        lake = ParquetLake(settings.lake_root)
        kept = [(FIRST + dt.timedelta(days=i)).isoformat() for i in range(3, DAYS)]
        for table in STREAM_TABLES:
            assert lake.partitions("streams", table) == kept, table
            assert summary["partitions_deleted"][table] == [
                (FIRST + dt.timedelta(days=i)).isoformat() for i in range(3)
            ]
        assert summary["rows_deleted"]["stream_events"] == old_events
        assert summary["retention_days"] == _retention_days()
        assert summary["cutoff"] == CUTOFF.isoformat()
        files_after = _lake_files(settings)
        for path, digest in files_after.items():
            if path.startswith("streams/") and "date=" in path:
                assert files_before[path] == digest, path
        assert read_ingestion_floor(lake) == CUTOFF

        # Dagster: each deleted partition says so in its history (the SQL event log storage
        # cannot wipe single partitions).
        old = [(FIRST + dt.timedelta(days=i)).isoformat() for i in range(3)]
        for name in (*STREAM_TABLES, "fct_streams_daily", "int_track_listener_first_seen"):
            records = instance.fetch_observations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey(name), asset_partitions=old), limit=50
            ).records
            assert sorted(r.partition_key for r in records) == old, name
            assert all(
                r.asset_observation.metadata["retention_cutoff"].value == CUTOFF.isoformat()
                for r in records
            )

        # Landing: daily files of old days are gone; the listeners' exports span the cutoff.
        landing_after = sorted(
            str(p.relative_to(landing)) for p in landing.rglob("*") if p.is_file()
        )
        assert not set(old_day_files) & set(landing_after)
        assert set(landing_after) == set(landing_before) - set(old_day_files)
        assert summary["landing_files_spanning_cutoff_kept"] > 0

        # A later sensor tick, even from a brand-new cursor, requests none of the deleted days.
        resources = {"stream_landing": build_resources(settings)["stream_landing"]}
        with dg.build_sensor_context(resources=resources, instance=instance) as ctx:
            tick = stream_landing_sensor(ctx)
        requested = [] if isinstance(tick, dg.SkipReason) else tick.run_requests
        assert requested == []

        # Asked for by hand (a backfill), a deleted day is refused, naming the floor.
        refused = dg.materialize(
            STREAM_ASSETS,
            partition_key=old[0],
            resources=build_resources(settings),
            instance=instance,
            raise_on_error=False,
        )
        assert not refused.success
        [failure] = refused.get_step_failure_events()
        assert f"before {CUTOFF}, the first day retention_job keeps" in (
            failure.step_failure_data.error.message
        )
        assert lake.partitions("streams", "stream_events") == kept

        # A re-run finds nothing older than the cutoff and changes nothing.
        warehouse_before_rerun = _recent(settings)
        again = _run(settings, instance)
        assert again["partitions_deleted"] == {t: [] for t in STREAM_TABLES}
        assert again["rebuilt"] == [] and again["dagster_partitions_reported"] == {}
        assert _lake_files(settings) == files_after
        assert _recent(settings) == warehouse_before_rerun

    # Warehouse: no daily model holds an old day; the days kept are unchanged.
    for table in DAILY_TABLES:
        [(oldest,)] = _rows(settings, f"select min(date) from {table}")
        assert oldest >= CUTOFF, table
    assert _recent(settings) == recent_before

    _assert_rebuilt_without_old_days(settings)


def _assert_rebuilt_without_old_days(settings: AgentSettings) -> None:
    """The listener-level tables as if the old days had never been."""
    first_seen = _rows(
        settings,
        "select track_id, listener_key, date from intermediate.int_track_listener_first_seen order by all",
    )
    expected = _rows(
        settings,
        "select track_id, listener_key, min(date) from streams.stream_events group by all order by all",
    )
    assert first_seen == expected
    performance = _rows(
        settings,
        "select track_id, plays, listeners from analytics.track_performance where plays > 0 order by all",
    )
    counted = _rows(
        settings,
        "select track_id, count(*), count(distinct listener_key) from streams.stream_events "
        "where track_id in (select track_id from analytics.dim_track) group by all order by all",
    )
    assert performance == counted
    [(first_played, pairs)] = _rows(
        settings, "select min(first_played), count(*) from ml.interaction_matrix"
    )
    assert first_played >= CUTOFF
    matrix = _rows(
        settings, "select listener_key, track_id, plays from ml.interaction_matrix order by all"
    )
    plays = _rows(
        settings,
        "select listener_key, track_id, count(*) from streams.stream_events "
        "where date <= (select max(last_played) from ml.interaction_matrix) group by all order by all",
    )
    assert matrix == plays and pairs == len(plays)


def test_a_run_killed_after_the_lake_deletes_is_finished_by_the_next(
    copy: tuple[AgentSettings, Path],
) -> None:
    """As if the op died after deleting the lake days and the marts' rows, before dbt rebuilt
    the listener tables and before Dagster was told: the next run does exactly what was left."""
    settings, home = copy
    resources = build_resources(settings)
    landing = resources["stream_landing"]
    filesystem = landing.filesystem()
    lake = ParquetLake(settings.lake_root)
    apply_stream_retention(lake, CUTOFF, filesystem, landing.refreshed_index(filesystem))
    with duckdb.connect(str(settings.warehouse_path)) as con:
        for table in (*DAILY_TABLES, "intermediate.int_track_listener_first_seen"):
            con.execute(f"delete from {table} where date < ?", [CUTOFF])
    old = [(FIRST + dt.timedelta(days=i)).isoformat() for i in range(3)]

    with dg.DagsterInstance.from_config(str(home)) as instance:
        summary = _run(settings, instance)
        assert summary["partitions_deleted"] == {t: [] for t in STREAM_TABLES}
        assert summary["rebuilt"] == [
            "int_track_listener_first_seen",
            "track_performance",
            "interaction_matrix",
        ]
        assert summary["dagster_partitions_reported"]["stream_events"] == "observed deleted 3"
        records = instance.fetch_observations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("stream_events"), asset_partitions=old),
            limit=50,
        ).records
        assert sorted(r.partition_key for r in records) == old
        assert _run(settings, instance)["changed"] is False
    _assert_rebuilt_without_old_days(settings)
