"""A dbt model's materialization carries its column schema (types as built, descriptions from
the yml) and its column-level lineage (`defs/analytics/dbt_columns.py`)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from spotify_agent_assets.defs.analytics.dbt_assets import DBT_ASSETS
from spotify_agent_assets_tests.dbt.conftest import Built, copy_warehouse, resources

pytestmark = pytest.mark.slow

DIM_TRACK = dg.AssetKey("dim_track")


def lineage(metadata: dict) -> dict[str, set[tuple[str, str]]]:
    """``{column: {(upstream asset, upstream column)}}`` of ``dagster/column_lineage``."""
    value = metadata["dagster/column_lineage"].value
    return {
        column: {(dep.asset_key.to_user_string(), dep.column_name) for dep in deps}
        for column, deps in value.deps_by_column.items()
    }


def test_a_model_records_column_lineage_and_its_documented_schema(
    dbt_range: Built, tmp_path: Path
) -> None:
    warehouse = copy_warehouse(dbt_range.warehouse, tmp_path / "warehouse.duckdb")
    cwd = os.getcwd()
    started = time.monotonic()
    result = dg.materialize(
        DBT_ASSETS, selection=dg.AssetSelection.assets(DIM_TRACK), resources=resources(warehouse)
    )
    elapsed = time.monotonic() - started
    assert result.success
    (materialization,) = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.asset_key == DIM_TRACK
    ]
    metadata = dict(materialization.metadata)

    # Lineage: dim_track's catalogue columns come from stg_tracks; a taken-down track's from
    # track_artist_history (dbt snapshot), so primary_artist_id has both.
    found = lineage(metadata)
    assert ("stg_tracks", "track_name") in found["track_name"]
    assert {("stg_tracks", "primary_artist_id"), ("track_artist_history", "primary_artist_id")} <= (
        found["primary_artist_id"]
    )
    assert set(found) >= {"track_id", "album_id", "in_catalogue"}

    # Schema: the built table's columns and types, each with the yml's description.
    schema = metadata["dagster/column_schema"].value
    with duckdb.connect(str(warehouse.path), read_only=True) as connection:
        built = connection.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'analytics' AND table_name = 'dim_track' ORDER BY ordinal_position"
        ).fetchall()
    # Named and ordered as built, typed by the adapter (dbt spells VARCHAR its own way).
    assert [c.name for c in schema.columns] == [name for name, _ in built]
    types = {c.name: c.type.lower() for c in schema.columns}
    assert types["duration_ms"] == "bigint" and types["track_id"].startswith("character varying")
    described = {c.name: c.description for c in schema.columns}
    assert described["track_id"] == "Spotify track id."
    assert all(described.values()), "every column keeps its yml description"

    # The fetch ran inside the dbt project's folder and left the step where it was (relative
    # paths such as config/*.yaml resolve against it).
    assert os.getcwd() == cwd

    # The step left no handle on the file: this process can open it for writing.
    duckdb.connect(str(warehouse.path)).close()
    print(f"\ndim_track materialized with column metadata in {elapsed:.1f}s")
