"""The DuckDB warehouse: views over the local lake, idempotence and the single-writer lock."""

from __future__ import annotations

import fcntl
import multiprocessing
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from spotify_agent_assets.lake import ParquetLake, Warehouse

TABLES = ("spotify_tracks", "spotify_albums", "spotify_artists")


@pytest.fixture
def lake(tmp_path: Path) -> ParquetLake:
    return ParquetLake(str(tmp_path / "lake"))


@pytest.fixture
def warehouse(tmp_path: Path, lake: ParquetLake) -> Warehouse:
    return Warehouse(tmp_path / "warehouse.duckdb", lake)


def test_view_is_queryable_from_a_fresh_process(
    warehouse: Warehouse, lake: ParquetLake, tmp_path: Path
) -> None:
    lake.write(pd.DataFrame({"track_id": ["a", "b", "c"]}), "spotify", "spotify_tracks")
    assert warehouse.register("spotify", "spotify_tracks", partitioned=False) == (
        "spotify.spotify_tracks"
    )

    # What an analyst does: open the file elsewhere (another cwd) with plain duckdb.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    query = (
        "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
        "print(c.execute('select count(*) from spotify.spotify_tracks').fetchone()[0])"
    )
    done = subprocess.run(
        [sys.executable, "-c", query, str(warehouse.path)],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3"


def test_partitioned_view_sees_every_partition_and_replacements(
    warehouse: Warehouse, lake: ParquetLake
) -> None:
    lake.write(pd.DataFrame({"plays": [1, 2]}), "spotify", "daily_plays", "2024-01-01")
    lake.write(pd.DataFrame({"plays": [3]}), "spotify", "daily_plays", "2024-01-02")
    warehouse.register("spotify", "daily_plays", partitioned=True)
    lake.write(pd.DataFrame({"plays": [10]}), "spotify", "daily_plays", "2024-01-01")

    with duckdb.connect(str(warehouse.path), read_only=True) as connection:
        rows = connection.execute(
            "select cast(date as varchar), sum(plays) from spotify.daily_plays "
            "group by all order by 1"
        ).fetchall()
    assert rows == [("2024-01-01", 10), ("2024-01-02", 3)]


def files_read(connection: duckdb.DuckDBPyConnection, sql: str) -> tuple[int, list[str]]:
    """How many Parquet files DuckDB opened for ``sql`` and the names it lists (it abbreviates
    long lists), from its EXPLAIN ANALYZE profile."""
    import json

    connection.execute("SET enable_profiling = 'json'")
    profile = json.loads(connection.execute(f"EXPLAIN ANALYZE {sql}").fetchall()[0][1])
    count, names = 0, []
    nodes = [profile]
    while nodes:
        node = nodes.pop()
        info = node.get("extra_info", {})
        if "Total Files Read" in info:
            count += int(info["Total Files Read"])
            names += [name.strip() for name in info.get("Filename(s)", "").split(",")]
        nodes += node.get("children", [])
    return count, names


def test_a_query_filtered_on_date_opens_only_those_days_files(
    warehouse: Warehouse, lake: ParquetLake
) -> None:
    days = [f"2024-01-{day:02d}" for day in range(1, 8)]
    for number, day in enumerate(days):
        lake.write(pd.DataFrame({"plays": [number]}), "spotify", "daily_plays", day)
    warehouse.register("spotify", "daily_plays", partitioned=True)

    with duckdb.connect(str(warehouse.path), read_only=True) as connection:
        columns = connection.execute("DESCRIBE spotify.daily_plays").fetchall()
        assert {row[0]: row[1] for row in columns}["date"] == "DATE"
        count, names = files_read(
            connection,
            "SELECT sum(plays) FROM spotify.daily_plays "
            "WHERE date BETWEEN DATE '2024-01-03' AND DATE '2024-01-04'",
        )
        assert count == 2
        assert sorted(Path(name).parent.name for name in names) == [
            "date=2024-01-03",
            "date=2024-01-04",
        ]
        # Without a filter every day's file is read (so the count above is not vacuous).
        assert files_read(connection, "SELECT sum(plays) FROM spotify.daily_plays")[0] == 7


def test_register_is_idempotent(warehouse: Warehouse, lake: ParquetLake) -> None:
    lake.write(pd.DataFrame({"a": [1, 2]}), "spotify", "spotify_tracks")
    for _ in range(3):
        warehouse.register("spotify", "spotify_tracks", partitioned=False)

    assert warehouse.views() == ["spotify.spotify_tracks"]
    with warehouse.connect() as connection:
        assert connection.execute("select count(*) from spotify.spotify_tracks").fetchone() == (2,)


def test_register_picks_up_a_changed_schema(warehouse: Warehouse, lake: ParquetLake) -> None:
    lake.write(pd.DataFrame({"a": [1]}), "spotify", "spotify_tracks")
    warehouse.register("spotify", "spotify_tracks", partitioned=False)
    lake.write(pd.DataFrame({"a": [1], "b": ["x"]}), "spotify", "spotify_tracks")
    warehouse.register("spotify", "spotify_tracks", partitioned=False)

    with warehouse.connect() as connection:
        assert connection.execute("select b from spotify.spotify_tracks").fetchall() == [("x",)]


def test_invalid_names_never_reach_sql(warehouse: Warehouse) -> None:
    with pytest.raises(ValueError, match="invalid lake group name"):
        warehouse.register('spotify"; drop table x; --', "tracks", partitioned=False)
    assert not warehouse.path.exists()


def test_paths_with_quotes_are_escaped(tmp_path: Path) -> None:
    lake = ParquetLake(str(tmp_path / "it's a lake"))
    warehouse = Warehouse(tmp_path / "warehouse.duckdb", lake)
    lake.write(pd.DataFrame({"a": [1]}), "spotify", "spotify_tracks")
    warehouse.register("spotify", "spotify_tracks", partitioned=False)
    with warehouse.connect() as connection:
        assert connection.execute("select a from spotify.spotify_tracks").fetchall() == [(1,)]


def test_writer_holds_the_exclusive_lock(warehouse: Warehouse) -> None:
    with (
        warehouse.writer(),
        open(warehouse.lock_path, "a") as other,
        pytest.raises(BlockingIOError),
    ):
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    with open(warehouse.lock_path, "a") as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_connect_creates_an_empty_warehouse(warehouse: Warehouse) -> None:
    with warehouse.connect() as connection:
        assert connection.execute("select 1").fetchone() == (1,)
    assert warehouse.views() == []


def register_repeatedly(warehouse_path: str, lake_root: str, rounds: int) -> None:
    warehouse = Warehouse(warehouse_path, ParquetLake(lake_root))
    for _ in range(rounds):
        for asset in TABLES:
            warehouse.register("spotify", asset, partitioned=False)


def test_concurrent_registration_from_processes(warehouse: Warehouse, lake: ParquetLake) -> None:
    for rows, asset in enumerate(TABLES, start=1):
        lake.write(pd.DataFrame({"n": range(rows)}), "spotify", asset)
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(
            target=register_repeatedly, args=(str(warehouse.path), lake.root, 15), daemon=True
        )
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]

    assert warehouse.views() == [f"spotify.{asset}" for asset in sorted(TABLES)]
    with duckdb.connect(str(warehouse.path), read_only=True) as connection:
        counts = [
            connection.execute(f"select count(*) from spotify.{asset}").fetchone()[0]
            for asset in TABLES
        ]
    assert counts == [1, 2, 3]
