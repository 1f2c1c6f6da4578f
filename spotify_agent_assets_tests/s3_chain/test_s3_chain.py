"""The chain from landing files through dbt to the Python analytics and the ML group, with the
lake on S3.

``SPOTIFY_AGENT_ENV=prod`` settings against real local servers: the lake, the landing zone and
MLflow's artifact root are prefixes of a SeaweedFS bucket, the Spotify API is the emulator,
MLflow's database a SQLite file, and the warehouse file holds only views and the dbt models.
Every table is read back from S3 and checked against counts taken independently from the
world that wrote the landing files; the S3 secret must be in no file, log or event left behind.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pyarrow.fs import FileSelector

from spotify_agent_assets.analytics_dbt.project import find_project_dir
from spotify_agent_assets.defs.ml.assets import ML_ASSETS, ML_TABLE_CHECKS
from spotify_agent_assets.defs.ml.serving import SERVING_ASSETS, SERVING_TABLE_CHECKS
from spotify_agent_assets.environment import AgentSettings, load_settings
from spotify_agent_assets.lake import ParquetLake
from spotify_agent_assets.lake.s3 import arrow_filesystem
from spotify_agent_assets.lake.warehouse import Warehouse
from spotify_agent_assets.mlflow_registry import client_for
from spotify_agent_assets.sample_world.landing_files import write_sample_landing_zone
from spotify_agent_assets.sample_world.listening import ListeningWorld
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.conftest import EMULATOR_ID, EMULATOR_SECRET, write_roster
from spotify_agent_assets_tests.defs.graph_runs import (
    DAILY_MODELS,
    PYTHON_ANALYTICS,
    graph_defs,
    materialize_keys,
)
from spotify_agent_assets_tests.s3_server import S3Server

pytestmark = [
    pytest.mark.s3,
    pytest.mark.slow,
    pytest.mark.emulator,
    pytest.mark.filterwarnings("ignore::dagster.BetaWarning"),
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy:DeprecationWarning"),
]

DAYS = 8
LISTENERS = 60


def upload_folder(server: S3Server, local: Path, prefix: str) -> int:
    """Copy every file under ``local`` to ``s3://<bucket>/<prefix>/`` (same relative paths)."""
    fs = arrow_filesystem(server.settings())
    count = 0
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        with fs.open_output_stream(f"{server.bucket}/{prefix}/{path.relative_to(local)}") as out:
            out.write(path.read_bytes())
        count += 1
    return count


def prod_environment(server: S3Server, root: Path, prefix: str, emu: Any) -> dict[str, str]:
    """What a production deployment sets, pointed at the local servers."""
    return {
        "SPOTIFY_AGENT_ENV": "prod",
        "SPOTIFY_AGENT_DATA_DIR": str(root / "data"),
        "SPOTIFY_AGENT_LAKE_URL": server.url(f"{prefix}/lake"),
        "SPOTIFY_AGENT_LANDING_URL": server.url(f"{prefix}/landing"),
        "SPOTIFY_AGENT_BACKUP_URL": server.url(f"{prefix}/backups"),
        "SPOTIFY_AGENT_ROSTER": str(root / "artists.yaml"),
        "SPOTIFY_CLIENT_ID": EMULATOR_ID,
        "SPOTIFY_CLIENT_SECRET": EMULATOR_SECRET,
        "SPOTIFY_API_BASE_URL": emu.api_base_url,
        "SPOTIFY_ACCOUNTS_URL": emu.accounts_url,
        "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
        "SPOTIFY_AGENT_MLFLOW_ARTIFACT_ROOT": server.url(f"{prefix}/mlflow"),
        "MLFLOW_S3_ENDPOINT_URL": server.endpoint_url,
        "AWS_ENDPOINT_URL_S3": server.endpoint_url,
        "AWS_REGION": server.region,
        "AWS_ACCESS_KEY_ID": server.access_key_id,
        "AWS_SECRET_ACCESS_KEY": server.secret_access_key,
    }


def test_landing_to_analytics_on_s3(
    tmp_path: Path,
    world: SampleWorld,
    s3_server: S3Server,
    emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prefix = f"chain-{uuid.uuid4().hex[:8]}"
    write_roster(tmp_path / "artists.yaml", world)
    # The real API (the emulator stands in) reports only current values: artist snapshots can
    # be taken for yesterday, so the window ends there.
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    first = yesterday - dt.timedelta(days=DAYS - 1)
    listening = ListeningWorld(world, n_listeners=LISTENERS, first_day=first, days=DAYS)
    landing = tmp_path / "landing-files"
    write_sample_landing_zone(listening, landing / "streams")
    upload_folder(s3_server, landing, f"{prefix}/landing")
    environment = prod_environment(s3_server, tmp_path, prefix, emulator)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings: AgentSettings = load_settings(environment)
    assert settings.lake_root.startswith("s3://")

    days = [day.isoformat() for day in listening.window()]
    assert days[-1] == yesterday.isoformat()
    base = graph_defs(settings)
    defs = dg.Definitions(
        assets=[*base.assets, *ML_ASSETS, *SERVING_ASSETS],  # type: ignore[list-item]
        asset_checks=[*base.asset_checks, *ML_TABLE_CHECKS, *SERVING_TABLE_CHECKS],  # type: ignore[list-item]
        resources=base.resources,
    )
    with dg.instance_for_test() as instance:
        graph = defs.resolve_asset_graph()
        groups: dict[str, list[str]] = {}
        for key in graph.get_all_asset_keys():
            groups.setdefault(graph.get(key).group_name, []).append(key.to_user_string())
        materialize_keys(defs, instance, groups["streams"], days)
        materialize_keys(defs, instance, groups["spotify"])
        materialize_keys(defs, instance, groups["spotify_history"], days[-1:])
        dbt_keys = set(groups["analytics"]) - PYTHON_ANALYTICS
        materialize_keys(defs, instance, sorted(dbt_keys - DAILY_MODELS))
        materialize_keys(defs, instance, sorted(DAILY_MODELS), days)
        materialize_keys(defs, instance, sorted(PYTHON_ANALYTICS))
        # The ML group: its tables in the lake, the model's files under the S3 artifact root.
        materialize_keys(defs, instance, ["interaction_matrix"])
        trained = dg.materialize(
            [*defs.assets],  # type: ignore[list-item]
            selection=dg.AssetSelection.assets("recommender_model", "user_recommendations"),
            resources=defs.resources,
            instance=instance,
            run_config={"ops": {"recommender_model": {"config": {"search": False}}}},
        )
        assert trained.success
        logged = [
            str(record) for run in instance.get_runs() for record in instance.all_logs(run.run_id)
        ]
        # The instance's own files: captured stdout/stderr of every step (dbt's output too).
        logged += [
            p.read_bytes().decode(errors="replace")
            for p in Path(instance.root_directory).rglob("*")
            if p.is_file()
        ]
    assert not [line for line in logged if s3_server.secret_access_key in line]

    lake = ParquetLake(settings.lake_root, s3_server.settings())
    events = lake.read("streams", "stream_events")
    truth = pa.concat_tables([listening.events_for_day(day) for day in listening.window()])
    assert events.num_rows == truth.num_rows
    assert sorted(lake.partitions("streams", "stream_events")) == days
    # Plays per day and track, from the world that wrote the landing files.
    plays = Counter(
        (ts.date().isoformat(), track_id)
        for ts, track_id in zip(
            truth.column("ts").to_pylist(), truth.column("track_id").to_pylist(), strict=True
        )
    )

    warehouse = Warehouse(settings.warehouse_path, lake)
    with warehouse.reader() as connection:
        # The sources dbt read are views over the S3 lake, not local files.
        source = connection.execute(
            "SELECT sql FROM duckdb_views() WHERE schema_name = 'streams' "
            "AND view_name = 'stream_events'"
        ).fetchone()
        stored = {
            (day, track_id): n
            for day, track_id, n in connection.execute(
                "SELECT date::VARCHAR, track_id, sum(plays)::BIGINT "
                "FROM analytics.fct_streams_daily GROUP BY 1, 2"
            ).fetchall()
        }
        artists = connection.execute(
            "SELECT DISTINCT artist_id, date::VARCHAR FROM analytics.artist_daily_metrics "
            "WHERE plays > 0"
        ).fetchall()
    assert source is not None and f"{settings.lake_root}/streams/stream_events/" in source[0]
    assert stored == dict(plays)
    roster = {artist_id for artist_id, _ in world.roster()}
    assert artists and {artist for artist, _ in artists} <= roster
    assert {day for _, day in artists} == set(days)

    # The Python analytics' tables, read back from S3.
    trends = lake.read("analytics", "artist_trends")
    assert trends.num_rows > 0 and set(trends.column("artist_id").to_pylist()) <= roster
    assert {d.isoformat() for d in trends.column("date").to_pylist()} <= set(days)
    assert lake.exists("analytics", "streaming_anomalies")
    report = lake.read("analytics", "weekly_artist_report").to_pylist()
    assert report and {row["artist_id"] for row in report} <= roster
    fs = arrow_filesystem(s3_server.settings())
    for row in report:
        for uri in [row["markdown_uri"], row["html_uri"], *row["chart_uris"]]:
            assert uri.startswith(f"{settings.lake_root}/analytics/weekly_artist_report/files/")
            assert fs.get_file_info(uri.removeprefix("s3://")).size > 0, uri
    markdown = fs.open_input_stream(report[0]["markdown_uri"].removeprefix("s3://")).read()
    assert report[0]["week"].encode() in markdown

    interactions = lake.read("ml", "interaction_matrix")
    assert pc.sum(interactions.column("plays")).as_py() == truth.num_rows
    assert lake.read("ml", "user_recommendations").num_rows > 0
    [version] = client_for(settings.mlflow_tracking_uri).search_model_versions(
        "name = 'recommender'"
    )
    assert version.source.startswith(f"{settings.mlflow_artifact_root}/")
    artifacts = fs.get_file_info(
        FileSelector(settings.mlflow_artifact_root.removeprefix("s3://"), recursive=True)
    )
    assert any(info.path.endswith("/arrays.npz") for info in artifacts)

    # Nothing went to a local lake, and the S3 secret is in no file dbt or the warehouse left.
    assert not (settings.data_dir / "lake").exists()
    secret = s3_server.secret_access_key.encode()
    dbt_target = find_project_dir() / "target"
    written = [p for p in dbt_target.rglob("*") if p.is_file()]
    written += [p for p in settings.data_dir.rglob("*") if p.is_file()]
    assert [str(p) for p in written if secret in p.read_bytes()] == []
