"""Data folders to back up in tests, and the row-for-row views a restore is compared with."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from spotify_agent_assets.environment import AgentSettings, load_settings
from spotify_agent_assets.lake.parquet_lake import ParquetLake
from spotify_agent_assets.lake.warehouse import Warehouse, quote_identifier

KEY_HEX = "5a" * 32
OTHER_KEY_HEX = "a5" * 32
KEY = bytes.fromhex(KEY_HEX)
OTHER_KEY = bytes.fromhex(OTHER_KEY_HEX)


def small_settings(root: Path, backup_url: str | None = None, **extra: str) -> AgentSettings:
    environ = {
        "SPOTIFY_AGENT_ENV": "local",
        "SPOTIFY_AGENT_DATA_DIR": str(root / "data"),
        **extra,
    }
    if backup_url is not None:
        environ["SPOTIFY_AGENT_BACKUP_URL"] = backup_url
    return load_settings(environ)


def write_small_world(settings: AgentSettings, days: int = 3) -> None:
    """A lake with a partitioned and an unpartitioned table, a warehouse with a stored table and
    a view, an MLflow SQLite store with an artifact, the landing index and a pseudonym key."""
    lake = ParquetLake(settings.lake_root)
    first = dt.date(2026, 10, 1)
    for day in range(days):
        write_day(lake, (first + dt.timedelta(days=day)).isoformat(), seed=day)
    artists = pa.table({"artist_id": ["a1", "a2", "a3"], "name": ["One", "Two", "Three"]})
    lake.write(artists, "spotify", "artists")
    warehouse = Warehouse(settings.warehouse_path, lake)
    warehouse.register("streams", "plays", partitioned=True)
    with warehouse.writer() as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS analytics")
        connection.execute(
            "CREATE OR REPLACE TABLE analytics.plays_per_day AS "
            "SELECT date, count(*) AS plays, sum(ms) AS ms FROM streams.plays GROUP BY date"
        )
    mlflow = settings.data_dir / "mlflow"
    (mlflow / "artifacts" / "run1").mkdir(parents=True, exist_ok=True)
    (mlflow / "artifacts" / "run1" / "metrics.json").write_text(json.dumps({"auc": 0.9}))
    with closing(sqlite3.connect(mlflow / "mlflow.db")) as db:
        db.execute("CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, metric REAL)")
        db.execute("INSERT OR REPLACE INTO runs VALUES ('run1', 0.9)")
        db.commit()
    (settings.data_dir / "state").mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "state" / "landing_index.json").write_text('{"files": []}')
    (settings.data_dir / "secrets").mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "secrets" / "pseudonym.key").write_text("ab" * 32)


def write_day(lake: ParquetLake, day: str, seed: int, rows: int = 50) -> None:
    table = pa.table(
        {
            "listener": [f"l{(i * 7 + seed) % 13}" for i in range(rows)],
            "track": [f"t{(i * 3 + seed) % 17}" for i in range(rows)],
            "ms": [1000 * (i + seed) for i in range(rows)],
        }
    )
    lake.write(table, "streams", "plays", partition_key=day)


def lake_rows(lake_root: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every lake table's rows (all its visible Parquet files), sorted, by ``group/asset``."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    for path in sorted(lake_root.rglob("*.parquet")):
        relative = path.relative_to(lake_root).parts
        if any(part.startswith(".") for part in relative):
            continue
        rows = pq.read_table(path).to_pylist()
        name = f"{relative[0]}/{relative[1]}"
        tables.setdefault(name, []).extend(tuple(sorted(r.items())) for r in rows)
    return {name: sorted(rows, key=repr) for name, rows in tables.items()}


def warehouse_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored warehouse table's rows, sorted, by ``schema.table``."""
    with duckdb.connect(str(path), read_only=True) as connection:
        names = connection.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal"
        ).fetchall()
        return {
            f"{schema}.{table}": sorted(
                connection.execute(
                    f"SELECT * FROM {quote_identifier(schema)}.{quote_identifier(table)}"
                ).fetchall(),
                key=repr,
            )
            for schema, table in names
        }
