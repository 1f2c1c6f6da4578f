"""Run the whole graph (Spotify, streams, dbt, Python analytics) in process over a sample world,
as ``make run`` does from the CLI: for tests that follow data through every layer."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import dagster as dg

from spotify_agent_assets.defs.analytics.dbt_assets import DBT_ASSETS
from spotify_agent_assets.defs.analytics.python_assets import (
    ANALYTICS_ASSETS,
    ANALYTICS_TABLE_CHECKS,
)
from spotify_agent_assets.defs.resources import build_resources
from spotify_agent_assets.defs.spotify import assets as spotify_assets
from spotify_agent_assets.defs.spotify.checks import spotify_table_checks
from spotify_agent_assets.defs.streams.assets import STREAM_ASSETS
from spotify_agent_assets.defs.streams.checks import STREAM_TABLE_CHECKS
from spotify_agent_assets.environment import AgentSettings, load_settings
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.conftest import write_roster

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
DAILY_MODELS = {
    key.to_user_string() for a in DBT_ASSETS if a.partitions_def is not None for key in a.keys
}
PYTHON_ANALYTICS = {key.to_user_string() for a in ANALYTICS_ASSETS for key in a.keys}


def graph_settings(root: Path, world: SampleWorld) -> AgentSettings:
    root.mkdir(parents=True)
    roster = write_roster(root / "artists.yaml", world)
    return load_settings(
        {
            "SPOTIFY_AGENT_ENV": "local",
            "SPOTIFY_AGENT_DATA_DIR": str(root / "data"),
            "SPOTIFY_AGENT_ROSTER": str(roster),
        }
    )


def graph_defs(settings: AgentSettings) -> dg.Definitions:
    return dg.Definitions(
        assets=[
            *dg.load_assets_from_modules([spotify_assets]),
            *STREAM_ASSETS,
            *DBT_ASSETS,
            *ANALYTICS_ASSETS,
        ],
        asset_checks=[*spotify_table_checks, *STREAM_TABLE_CHECKS, *ANALYTICS_TABLE_CHECKS],
        resources=build_resources(settings),
    )


def materialize_keys(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    keys: Iterable[str],
    days: list[str] | None = None,
) -> None:
    keys = list(keys)
    selection = dg.AssetSelection.assets(*keys)
    tags = {RANGE_START: days[0], RANGE_END: days[-1]} if days and len(days) > 1 else None
    result = dg.materialize(
        [*defs.assets, *defs.asset_checks],  # type: ignore[list-item]
        selection=selection | dg.AssetSelection.checks_for_assets(*keys),
        resources=defs.resources,
        instance=instance,
        partition_key=days[0] if days and len(days) == 1 else None,
        tags=tags,
    )
    assert result.success


def build_everything(defs: dg.Definitions, instance: dg.DagsterInstance, days: list[str]) -> None:
    """What ``make run`` does, over ``days`` (ISO dates, consecutive): streams first, then the
    catalogue (which looks up played tracks), the dbt models and the Python analytics."""
    graph = defs.resolve_asset_graph()

    def group(name: str) -> list[str]:
        return [
            k.to_user_string()
            for k in graph.get_all_asset_keys()
            if graph.get(k).group_name == name
        ]

    materialize_keys(defs, instance, group("streams"), days)
    materialize_keys(defs, instance, group("spotify"))
    materialize_keys(defs, instance, group("spotify_history"), days)
    dbt_keys = {k.to_user_string() for a in DBT_ASSETS for k in a.keys}
    materialize_keys(defs, instance, sorted(dbt_keys - DAILY_MODELS))
    materialize_keys(defs, instance, sorted(DAILY_MODELS), days)
    materialize_keys(defs, instance, sorted(PYTHON_ANALYTICS))
