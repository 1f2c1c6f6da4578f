"""A run of some dbt models or checks builds and tests exactly those (the dbt selection a step
computes from its selected assets and checks)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from spotify_agent_assets.defs.analytics.dbt_assets import DBT_ASSETS
from spotify_agent_assets_tests.dbt.conftest import Built, copy_warehouse, resources, table_rows

pytestmark = pytest.mark.slow

DIM_TRACK = dg.AssetKey("dim_track")
UNIQUE = dg.AssetCheckKey(DIM_TRACK, "unique_dim_track_track_id")
NOT_NULL = dg.AssetCheckKey(DIM_TRACK, "not_null_dim_track_track_id")
# A test of fct_streams_daily that reads dim_track: dbt's indirect selection runs it with
# dim_track, though its check belongs to the daily models.
RELATIONSHIPS = "relationships_fct_streams_daily_track_id__track_id__ref_dim_track_"


def materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def observations(result: dg.ExecuteInProcessResult) -> set[tuple[str, str | None]]:
    return {
        (e.asset_key.to_user_string(), e.event_specific_data.asset_observation.description)
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_OBSERVATION
    }


def evaluated(result: dg.ExecuteInProcessResult) -> dict[dg.AssetCheckKey, bool]:
    return {e.asset_check_key: e.passed for e in result.get_asset_check_evaluations()}


def test_one_model_builds_alone_with_its_tests(dbt_range: Built, tmp_path: Path) -> None:
    warehouse = copy_warehouse(dbt_range.warehouse, tmp_path / "warehouse.duckdb")
    before = table_rows(warehouse, "dim_track")

    result = dg.materialize(
        DBT_ASSETS, selection=dg.AssetSelection.assets(DIM_TRACK), resources=resources(warehouse)
    )

    assert result.success
    assert materialized(result) == {"dim_track"}
    assert evaluated(result) == {UNIQUE: True, NOT_NULL: True}
    # The daily models' relationships test ran too; it is reported on its model, not as a
    # check of this run.
    assert any(
        key == "fct_streams_daily" and RELATIONSHIPS in (text or "")
        for key, text in observations(result)
    )
    assert table_rows(warehouse, "dim_track") == before


def test_a_check_left_out_is_not_run(dbt_range: Built, tmp_path: Path) -> None:
    warehouse = copy_warehouse(dbt_range.warehouse, tmp_path / "warehouse.duckdb")

    result = dg.materialize(
        DBT_ASSETS,
        selection=dg.AssetSelection.assets(DIM_TRACK).without_checks()
        | dg.AssetSelection.checks(UNIQUE),
        resources=resources(warehouse),
    )

    assert result.success
    assert materialized(result) == {"dim_track"}
    # Only the selected test runs (dbt's indirect selection off): no not_null, no test of
    # another model.
    assert evaluated(result) == {UNIQUE: True}
    assert observations(result) == set()
