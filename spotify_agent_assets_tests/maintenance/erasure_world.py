"""A small sample world built through the real graph, for the erasure tests: the landing zone
(JSON Lines, CSV, Parquet and extended-history exports), the streams tables, optionally the dbt
models and Python analytics, and the recommender (matrix, registered model, recommendations).
Plus the helpers that pick listeners and read every store for before/after comparisons."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pyarrow as pa

from spotify_agent_assets.defs.analytics.dbt_assets import DBT_ASSETS
from spotify_agent_assets.defs.analytics.python_assets import (
    ANALYTICS_ASSETS,
    ANALYTICS_TABLE_CHECKS,
)
from spotify_agent_assets.defs.ml.assets import ML_ASSETS, ML_TABLE_CHECKS
from spotify_agent_assets.defs.ml.serving import SERVING_ASSETS, SERVING_TABLE_CHECKS
from spotify_agent_assets.defs.resources import build_resources
from spotify_agent_assets.defs.spotify import assets as spotify_assets
from spotify_agent_assets.defs.spotify.checks import spotify_table_checks
from spotify_agent_assets.defs.streams.assets import STREAM_ASSETS
from spotify_agent_assets.defs.streams.checks import STREAM_TABLE_CHECKS
from spotify_agent_assets.environment import AgentSettings
from spotify_agent_assets.lake import ParquetLake
from spotify_agent_assets.sample_world.landing_files import write_sample_landing_zone
from spotify_agent_assets.sample_world.listening import ListeningWorld
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets.streams.pseudonymize import load_pseudonym_key, pseudonymize_one
from spotify_agent_assets_tests.defs.graph_runs import build_everything, materialize_keys

FIRST = dt.date(2026, 10, 2)
DAYS = 10  # the recommender needs plays before and within its last 7 days
WINDOW = [(FIRST + dt.timedelta(days=i)).isoformat() for i in range(DAYS + 1)]
LISTENER_TABLES = {
    ("streams", "stream_events"),
    ("streams", "stream_quarantine"),
    ("ml", "interaction_matrix"),
    ("ml", "user_recommendations"),
}


def world_defs(settings: AgentSettings) -> dg.Definitions:
    return dg.Definitions(
        assets=[
            *dg.load_assets_from_modules([spotify_assets]),
            *STREAM_ASSETS,
            *DBT_ASSETS,
            *ANALYTICS_ASSETS,
            *ML_ASSETS,
            *SERVING_ASSETS,
        ],
        asset_checks=[
            *spotify_table_checks,
            *STREAM_TABLE_CHECKS,
            *ANALYTICS_TABLE_CHECKS,
            *ML_TABLE_CHECKS,
            *SERVING_TABLE_CHECKS,
        ],
        resources=build_resources(settings),
    )


def build_world(
    settings: AgentSettings,
    world: SampleWorld,
    instance: dg.DagsterInstance,
    *,
    n_listeners: int = 30,
    full: bool = True,
) -> ListeningWorld:
    """Landing zone and stores over ``WINDOW``; ``full`` adds dbt, analytics and the ml group."""
    listening = ListeningWorld(world, n_listeners=n_listeners, first_day=FIRST, days=DAYS)
    write_sample_landing_zone(listening, Path(settings.landing_dir))
    defs = world_defs(settings)
    if not full:
        materialize_keys(defs, instance, ["stream_events", "stream_quarantine"], WINDOW)
        return listening
    build_everything(defs, instance, WINDOW)
    materialize_keys(defs, instance, ["interaction_matrix"])
    result = dg.materialize(
        [*defs.assets],  # type: ignore[list-item]
        selection=dg.AssetSelection.assets("recommender_model"),
        resources=defs.resources,
        instance=instance,
        run_config={
            "ops": {
                "recommender_model": {"config": {"search": False, "factors": 4, "iterations": 2}}
            }
        },
    )
    assert result.success
    materialize_keys(defs, instance, ["user_recommendations"])
    return listening


def pseudonyms(settings: AgentSettings, raw_ids: list[str]) -> dict[str, str]:
    key = load_pseudonym_key(settings.data_dir, {})
    return {raw: pseudonymize_one(raw, key) for raw in raw_ids}


def exported_listeners(settings: AgentSettings) -> list[str]:
    """Listeners delivered only through their own extended-history folder."""
    return sorted(
        p.name for p in (Path(settings.landing_dir) / "streams" / "extended_history").iterdir()
    )


def daily_file_listener(settings: AgentSettings, listening: ListeningWorld) -> str:
    """A listener of the daily files (JSON Lines, CSV, Parquet) who has recommendations and a
    quarantined record when one exists, so every table loses rows."""
    ids = listening.listeners()["listener_id"].to_pylist()
    keys = pseudonyms(settings, ids)
    lake = ParquetLake(settings.lake_root)
    quarantined = set(lake.read("streams", "stream_quarantine")["listener_key"].to_pylist())
    recommended = set(lake.read("ml", "user_recommendations")["listener_key"].to_pylist())
    exported = set(exported_listeners(settings))
    candidates = [i for i in ids if i not in exported and keys[i] in recommended]
    return next((i for i in candidates if keys[i] in quarantined), candidates[0])


def write_request(path: Path, raw_ids: list[Any]) -> Path:
    path.write_text(json.dumps({"listener_ids": raw_ids}))
    return path


def lake_rows(lake: ParquetLake) -> dict[str, pa.Table]:
    return {
        f"{group}.{asset}": lake.read(group, asset)
        for group, asset in sorted(LISTENER_TABLES)
        if lake.exists(group, asset)
    }


def without(table: pa.Table, keys: set[str]) -> list[dict[str, Any]]:
    """Rows of ``table`` whose listener_key is not in ``keys``, in a stable order."""
    rows = [r for r in table.to_pylist() if r.get("listener_key") not in keys]
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))


def warehouse_rows(settings: AgentSettings, table: str) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(f"select * from {table} order by all").fetchall()
