"""``interaction_matrix`` over ingested sample listening: every play counted, no raw id, and a
re-run that replaces the table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow.compute as pc
import pytest

from spotify_agent_assets.defs.ml.assets import ML_ASSETS, ML_TABLE_CHECKS
from spotify_agent_assets.defs.resources import build_resources
from spotify_agent_assets.defs.spotify import assets as spotify_assets
from spotify_agent_assets.defs.spotify.checks import spotify_table_checks
from spotify_agent_assets.defs.streams.assets import STREAM_ASSETS
from spotify_agent_assets.defs.streams.checks import STREAM_TABLE_CHECKS
from spotify_agent_assets.lake import ParquetLake
from spotify_agent_assets.sample_world.landing_files import write_sample_landing_zone
from spotify_agent_assets.sample_world.listening import ListeningWorld
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.defs.graph_runs import graph_settings, materialize_keys

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::dagster.BetaWarning")]

FIRST = dt.date(2026, 10, 1)
DAYS = 10


def test_interaction_matrix_counts_every_play_under_pseudonyms_and_reruns_alike(
    tmp_path: Path, world: SampleWorld
) -> None:
    settings = graph_settings(tmp_path / "run", world)
    listening = ListeningWorld(world, n_listeners=150, first_day=FIRST, days=DAYS)
    write_sample_landing_zone(listening, Path(settings.landing_dir))
    defs = dg.Definitions(
        assets=[*dg.load_assets_from_modules([spotify_assets]), *STREAM_ASSETS, *ML_ASSETS],
        asset_checks=[*spotify_table_checks, *STREAM_TABLE_CHECKS, *ML_TABLE_CHECKS],
        resources=build_resources(settings),
    )
    days = [(FIRST + dt.timedelta(days=i)).isoformat() for i in range(DAYS + 1)]
    graph = defs.resolve_asset_graph()
    streams = [
        k.to_user_string()
        for k in graph.get_all_asset_keys()
        if graph.get(k).group_name == "streams"
    ]
    spotify = [
        k.to_user_string()
        for k in graph.get_all_asset_keys()
        if graph.get(k).group_name == "spotify"
    ]
    lake = ParquetLake(settings.lake_root)
    with dg.instance_for_test() as instance:
        materialize_keys(defs, instance, streams, days)
        materialize_keys(defs, instance, spotify)
        materialize_keys(defs, instance, ["interaction_matrix"])  # with its blocking key check
        first = lake.read("ml", "interaction_matrix")
        materialize_keys(defs, instance, ["interaction_matrix"])
        again = lake.read("ml", "interaction_matrix")

    assert again.equals(first)  # replaced, not appended
    events = lake.read("streams", "stream_events")
    assert pc.sum(first["plays"]).as_py() == events.num_rows  # every closed day, every play
    assert set(first["listener_key"].to_pylist()) == set(events["listener_key"].to_pylist())
    raw_ids = set(listening.listeners()["listener_id"].to_pylist())
    assert not raw_ids & set(first["listener_key"].to_pylist())
    assert pc.min(first["weight"]).as_py() >= 0.0
    assert set(first["time_split"].to_pylist()) == {"train", "validation"}
    assert "holdout" in set(first["holdout_split"].to_pylist())
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        (rows,) = con.execute("select count(*) from ml.interaction_matrix").fetchone()
    assert rows == first.num_rows
