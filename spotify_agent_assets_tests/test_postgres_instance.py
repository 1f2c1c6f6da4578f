"""The production instance config (top-level dagster.yaml) against the real local PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.postgres


def test_materialization_is_recorded_in_postgres_through_dagster_yaml(
    tmp_path: Path, postgres_database: str, postgres_dagster_home: Path, world
) -> None:
    from spotify_agent_assets.defs.resources import build_resources
    from spotify_agent_assets.defs.spotify import assets as spotify_assets
    from spotify_agent_assets.environment import load_settings
    from spotify_agent_assets_tests.conftest import write_roster

    settings = load_settings(
        {
            "SPOTIFY_AGENT_DATA_DIR": str(tmp_path / "data"),
            "SPOTIFY_AGENT_ROSTER": str(write_roster(tmp_path / "r.yaml", world)),
        }
    )
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        result = dg.materialize(
            [spotify_assets.artist_roster, spotify_assets.spotify_artists],
            resources=build_resources(settings),
            instance=instance,
        )
        assert result.success
        run = instance.get_run_by_id(result.run_id)
        assert run is not None and run.is_success
        latest = instance.get_latest_materialization_event(dg.AssetKey("spotify_artists"))
        assert latest is not None and latest.run_id == result.run_id

    import psycopg2

    con = psycopg2.connect(host="127.0.0.1", user="postgres", dbname=postgres_database)
    try:
        with con.cursor() as cur:
            cur.execute("select count(*) from runs where run_id = %s", (result.run_id,))
            assert cur.fetchone()[0] == 1
    finally:
        con.close()
