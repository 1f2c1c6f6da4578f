"""A small but real local deployment for the UI tests: what `make run` leaves, in less time.

    SPOTIFY_AGENT_DATA_DIR=... DAGSTER_HOME=... python -m spotify_agent_assets_tests.ui.ui_world

Runs in its own process because the code location reads its settings from the environment
when ``spotify_agent_assets.definitions`` is imported. It writes the instance's
``dagster.yaml`` as `make run` does, fills the stream landing zone with two weeks of a
150-listener sample, and materializes, in process and recorded in that instance (so the UI shows
every materialization and check), what the UI tests look at: the streams, the catalogue, the
Spotify history, every dbt model, the Python analytics (the weekly artist report among them)
and the recommender down to ``user_recommendations``. The audio and activation groups stay
unmaterialized: no UI test reads them and audio analysis alone would double the time.

Last, it plants a duplicate ``playlist_id`` row in the lake's ``spotify_playlists`` table and
runs that table's checks alone, so its blocking key check has a recorded failure to show.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

# Two weeks, ending on the sample world's last day: the weekly report's ISO week and the week
# before it have data, and the recommender has a hold-out week to be scored on.
LAST_DAY = dt.date(2026, 10, 31)
DAYS = 14
LISTENERS = 150
FIRST_DAY = LAST_DAY - dt.timedelta(days=DAYS - 1)
# The table whose blocking key check is made to fail, and its key.
BROKEN_TABLE = ("spotify", "spotify_playlists")
BROKEN_KEY = "playlist_id"
TABLE_CHECKS = ("key_unique_not_null", "schema_matches_contract")
# What the tests need to know of the build, written into the data folder.
FACTS_FILE = "ui_world.json"


def day_keys() -> list[str]:
    return [(FIRST_DAY + dt.timedelta(days=i)).isoformat() for i in range(DAYS)]


def plant_duplicate_key(lake_root: Path) -> str:
    """Append a copy of the first row of the broken table as a second Parquet file of that
    table (as a stray file from an older writer would be); the id that is now twice there."""
    import pyarrow.parquet as pq

    folder = lake_root.joinpath(*BROKEN_TABLE)
    files = sorted(folder.glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"no Parquet file under {folder} to copy a row from")
    first = pq.read_table(files[0]).slice(0, 1)
    pq.write_table(first, folder / "stray-duplicate.parquet")
    return str(first.column(BROKEN_KEY)[0].as_py())


def build() -> None:
    import dagster as dg

    from spotify_agent_assets.environment import load_settings
    from spotify_agent_assets.local_instance import ensure_local_instance
    from spotify_agent_assets.sample_world.landing_files import write_sample_landing_zone
    from spotify_agent_assets.sample_world.listening import ListeningWorld
    from spotify_agent_assets.sample_world.world import SampleWorld

    settings = load_settings()
    ensure_local_instance(Path(os.environ["DAGSTER_HOME"]))
    started = time.monotonic()
    listening = ListeningWorld(SampleWorld(), n_listeners=LISTENERS, first_day=FIRST_DAY, days=DAYS)
    write_sample_landing_zone(listening, Path(settings.landing_dir))

    from spotify_agent_assets.definitions import defs
    from spotify_agent_assets_tests.defs.graph_runs import build_everything, materialize_keys

    with dg.DagsterInstance.get() as instance:
        build_everything(defs, instance, day_keys())
        materialize_keys(
            defs, instance, ["interaction_matrix", "recommender_model", "user_recommendations"]
        )
        duplicate = plant_duplicate_key(Path(settings.lake_root))
        # The table's own key and schema checks (one multi-check), not the asset's inline ones.
        checks = dg.AssetSelection.checks(
            *(dg.AssetCheckKey(dg.AssetKey(BROKEN_TABLE[-1]), name) for name in TABLE_CHECKS)
        )
        result = dg.materialize(
            [*defs.assets, *defs.asset_checks],  # type: ignore[list-item]
            selection=checks,
            resources=defs.resources,
            instance=instance,
            raise_on_error=False,
        )
        failed = [
            e.asset_check_key.name for e in result.get_asset_check_evaluations() if not e.passed
        ]
        if failed != ["key_unique_not_null"]:
            raise AssertionError(f"expected only the planted key failure, got {failed}")
    facts = {"duplicate_playlist_id": duplicate, "days": day_keys()}
    (Path(settings.data_dir) / FACTS_FILE).write_text(json.dumps(facts))
    print(
        f"ui world built in {time.monotonic() - started:.0f} s; "
        f"duplicate {BROKEN_KEY} {duplicate} planted in {'.'.join(BROKEN_TABLE)}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    build()
