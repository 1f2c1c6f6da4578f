"""A backup of a world built by the whole graph restores row for row, and the next backup after
one partition changed uploads only that partition."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from contextlib import closing
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from spotify_agent_assets.environment import AgentSettings
from spotify_agent_assets.lake.parquet_lake import ParquetLake
from spotify_agent_assets.maintenance.backup import create_backup, list_backups
from spotify_agent_assets.maintenance.restore import check_latest_backup, restore_backup
from spotify_agent_assets.sample_world.landing_files import write_sample_landing_zone
from spotify_agent_assets.sample_world.listening import ListeningWorld
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.defs.graph_runs import build_everything, graph_defs, graph_settings
from spotify_agent_assets_tests.maintenance.backup_data import KEY, lake_rows, warehouse_rows

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::dagster.BetaWarning")]

FIRST = dt.date(2026, 10, 1)
DAYS = 2


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, world: SampleWorld) -> AgentSettings:
    """Streams, catalogue, dbt models and analytics over two days, plus a local MLflow store."""
    settings = graph_settings(tmp_path_factory.mktemp("backup") / "run", world)
    listening = ListeningWorld(world, n_listeners=40, first_day=FIRST, days=DAYS)
    write_sample_landing_zone(listening, Path(settings.landing_dir))
    days = [(FIRST + dt.timedelta(days=i)).isoformat() for i in range(DAYS)]
    with dg.instance_for_test() as instance:
        build_everything(graph_defs(settings), instance, days)
    mlflow = settings.data_dir / "mlflow"
    (mlflow / "artifacts" / "run1").mkdir(parents=True)
    (mlflow / "artifacts" / "run1" / "model.bin").write_bytes(b"weights" * 1000)
    with closing(sqlite3.connect(mlflow / "mlflow.db")) as db:
        db.execute("CREATE TABLE runs (run_id TEXT, metric REAL)")
        db.executemany("INSERT INTO runs VALUES (?, ?)", [("r1", 0.5), ("r2", 0.75)])
        db.commit()
    return settings


def with_store(settings: AgentSettings, folder: Path) -> AgentSettings:
    return dataclasses.replace(settings, backup_url=str(folder))


def test_backup_then_restore_reproduces_every_table_row_for_row(
    built: AgentSettings, tmp_path: Path
) -> None:
    settings = with_store(built, tmp_path / "store")
    result = create_backup(settings, KEY)
    assert 0 < result.files_new <= result.files_total
    target = tmp_path / "restored"
    report = restore_backup(settings, KEY, target, result.backup_id)
    assert report.backup_id == result.backup_id

    source_lake = lake_rows(Path(settings.lake_root))
    assert sum(1 for rows in source_lake.values() if rows) >= 8
    assert lake_rows(target / "lake") == source_lake
    source_warehouse = warehouse_rows(settings.warehouse_path)
    assert len(source_warehouse) >= 5 and sum(map(len, source_warehouse.values())) > 100
    assert warehouse_rows(target / "warehouse.duckdb") == source_warehouse
    # The manifest's counts are the tables' real sizes, not just self-consistent.
    for name, rows in source_lake.items():
        assert result.tables[f"lake:{name.replace('/', '.')}"] == len(rows)
    for name, rows in source_warehouse.items():
        assert result.tables[f"warehouse:{name}"] == len(rows)

    with closing(sqlite3.connect(target / "mlflow" / "mlflow.db")) as db:
        assert db.execute("SELECT * FROM runs ORDER BY run_id").fetchall() == [
            ("r1", 0.5),
            ("r2", 0.75),
        ]
    restored_model = target / "mlflow" / "artifacts" / "run1" / "model.bin"
    assert restored_model.read_bytes() == b"weights" * 1000
    key_file = settings.data_dir / "secrets" / "pseudonym.key"
    assert (target / "secrets" / "pseudonym.key").read_bytes() == key_file.read_bytes()
    index = settings.data_dir / "state" / "landing_index.json"
    assert (target / "state" / "landing_index.json").read_bytes() == index.read_bytes()
    assert (target / "roster" / settings.roster_path.name).read_bytes() == (
        settings.roster_path.read_bytes()
    )
    assert (target / "config" / "artists.yaml").is_file()


def test_next_backup_uploads_only_the_rewritten_partition(
    built: AgentSettings, tmp_path: Path
) -> None:
    settings = with_store(built, tmp_path / "store")
    first = create_backup(settings, KEY)
    lake = ParquetLake(settings.lake_root)
    day = FIRST.isoformat()
    events = lake.read("streams", "stream_events", [day])
    # Same rows in another order: other bytes, same table.
    lake.write(events.take(list(range(events.num_rows))[::-1]), "streams", "stream_events", day)

    second = create_backup(settings, KEY)
    assert second.files_total == first.files_total
    assert second.files_new == 1
    assert 0 < second.bytes_new < first.bytes_new / 5
    assert second.tables == first.tables
    # Every manifest is a full view: the second restores on its own, the new partition included.
    check = check_latest_backup(settings, KEY)
    assert check.backup_id == second.backup_id
    infos = list_backups(settings)
    assert [info.backup_id for info in infos] == [first.backup_id, second.backup_id]
    assert infos[-1].verified_at is not None and infos[0].verified_at is None
    target = tmp_path / "restored"
    restore_backup(settings, KEY, target, second.backup_id)
    partition = Path("streams", "stream_events", f"date={day}", "part-0.parquet")
    assert pq.read_table(target / "lake" / partition).equals(
        pq.read_table(Path(settings.lake_root) / partition)
    )
