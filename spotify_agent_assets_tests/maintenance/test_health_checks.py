"""The store and service health checks, each against a working target and a broken one.

Unwritable folders are made by putting a regular file where the zone's parent folder should be:
tests may run as root, where ``chmod`` does not stop a write, but no one can create a folder
under a file.
"""

from __future__ import annotations

import dataclasses
import socket
import uuid
from pathlib import Path

import pyarrow as pa
import pytest

from spotify_agent_assets.lake.parquet_lake import ParquetLake
from spotify_agent_assets.lake.warehouse import Warehouse
from spotify_agent_assets.maintenance import health_checks
from spotify_agent_assets.maintenance.health_results import REDACTED, run_check
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets.spotify.client import SpotifyCatalogClient
from spotify_agent_assets_tests.conftest import EMULATOR_ID, EMULATOR_SECRET
from spotify_agent_assets_tests.s3_server import S3Server

# --- Spotify --------------------------------------------------------------------------------


def _emulator_client(emulator, secret: str) -> SpotifyCatalogClient:
    from spotify_agent_assets.spotify.retry import RetrySettings

    return SpotifyCatalogClient(
        client_id=EMULATOR_ID,
        client_secret=secret,
        api_base_url=emulator.api_base_url,
        accounts_url=emulator.accounts_url,
        retry=RetrySettings(max_attempts=2, base_delay_s=0.01),
    )


def test_spotify_check_fetches_a_token_and_reads_an_artist(emulator, world: SampleWorld) -> None:
    artist_id = world.roster()[0][0]
    result = health_checks.check_spotify(
        lambda: _emulator_client(emulator, EMULATOR_SECRET), artist_id, sample_world=False
    )
    assert result.ok, result
    assert emulator.count("/api/token") == 1 and emulator.count("/v1/") == 1
    assert emulator.api_base_url in result.detail


def test_spotify_check_with_a_wrong_secret_reports_the_auth_failure(
    emulator, world: SampleWorld
) -> None:
    wrong = f"wrong-secret-{uuid.uuid4().hex}"
    result = run_check(
        "spotify_api",
        lambda: health_checks.check_spotify(
            lambda: _emulator_client(emulator, wrong), world.roster()[0][0], sample_world=False
        ),
        secrets=[wrong],
    )
    assert not result.ok
    assert "SpotifyAuthError" in result.detail and "invalid_client" in result.detail
    assert emulator.count("/v1/") == 0  # no API call without a token
    assert wrong not in repr(result)


def test_spotify_check_on_the_sample_world_says_so() -> None:
    from spotify_agent_assets.defs.spotify.resources import SpotifyResource

    spotify = SpotifyResource(use_sample_world=True)
    artist_id = SampleWorld(seed=spotify.sample_seed).roster()[0][0]
    result = health_checks.check_spotify(spotify.catalog_client, artist_id, sample_world=True)
    assert result.ok
    assert "sample world" in result.detail and "Spotify itself was not called" in result.detail
    assert result.observed.startswith("1 token request(s), 1 API request(s)")


def test_spotify_check_fails_for_an_artist_the_api_does_not_return(emulator) -> None:
    result = run_check(
        "spotify_api",
        lambda: health_checks.check_spotify(
            lambda: _emulator_client(emulator, EMULATOR_SECRET),
            "0" * 22,  # well-formed id of no artist
            sample_world=False,
        ),
    )
    assert not result.ok and "0" * 22 in result.detail


# --- Zones writable -------------------------------------------------------------------------


def test_zone_check_writes_reads_and_deletes_a_probe(tmp_path: Path) -> None:
    zone = tmp_path / "landing" / "streams"
    result = health_checks.check_zone_writable("stream_landing_writable", str(zone))
    assert result.ok, result
    assert list(zone.iterdir()) == []  # the probe is gone


def test_zone_check_fails_where_the_folder_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "landing"
    blocker.write_text("a file where the landing folder should be")
    result = run_check(
        "stream_landing_writable",
        lambda: health_checks.check_zone_writable("stream_landing_writable", f"{blocker}/streams"),
    )
    assert not result.ok
    assert "streams" in result.detail and "Error" in result.detail


def test_zone_check_fails_on_a_read_only_folder(tmp_path: Path) -> None:
    import os

    zone = tmp_path / "lake"
    zone.mkdir()
    zone.chmod(0o500)
    try:
        if os.access(zone, os.W_OK):
            pytest.skip("running as root: chmod does not stop writes (the test above covers it)")
        result = run_check(
            "lake_writable", lambda: health_checks.check_zone_writable("lake_writable", str(zone))
        )
        assert not result.ok and "Permission" in result.detail
    finally:
        zone.chmod(0o700)


def test_zone_check_on_s3(s3_server: S3Server) -> None:
    root = s3_server.url(f"health-{uuid.uuid4().hex[:8]}/landing/audio")
    result = health_checks.check_zone_writable("audio_landing_writable", root, s3_server.settings())
    assert result.ok, result


def test_zone_check_on_s3_with_a_wrong_secret_fails_without_showing_it(
    s3_server: S3Server,
) -> None:
    wrong = f"wrong-{uuid.uuid4().hex}"
    settings = dataclasses.replace(s3_server.settings(), secret_access_key=wrong)
    root = s3_server.url(f"health-{uuid.uuid4().hex[:8]}/lake")
    result = run_check(
        "lake_writable",
        lambda: health_checks.check_zone_writable("lake_writable", root, settings),
        secrets=[wrong],
    )
    assert not result.ok
    assert wrong not in repr(result)


# --- Warehouse ------------------------------------------------------------------------------


def _warehouse(tmp_path: Path) -> Warehouse:
    lake = ParquetLake(str(tmp_path / "lake"))
    lake.write(pa.table({"id": [1, 2, 3]}), "spotify", "spotify_artists")
    lake.write(pa.table({"id": [4]}), "streams", "stream_events", "2026-10-01")
    warehouse = Warehouse(tmp_path / "warehouse.duckdb", lake)
    warehouse.register("spotify", "spotify_artists", partitioned=False)
    warehouse.register("streams", "stream_events", partitioned=True)
    with warehouse.writer() as connection:
        connection.execute("CREATE SCHEMA analytics")
        connection.execute("CREATE TABLE analytics.dim_artist AS SELECT 1 AS id")
    return warehouse


def test_warehouse_check_reads_every_table_and_view(tmp_path: Path) -> None:
    result = health_checks.check_warehouse(_warehouse(tmp_path))
    assert result.ok, result
    assert result.observed == "3/3 relations answer"


def test_warehouse_check_names_a_view_whose_files_vanished(tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path)
    for path in (tmp_path / "lake" / "streams" / "stream_events").rglob("*.parquet"):
        path.unlink()
    result = health_checks.check_warehouse(warehouse)
    assert not result.ok
    assert result.observed == "2/3 relations answer"
    assert "streams.stream_events" in result.detail
    assert "spotify.spotify_artists" not in result.detail


def test_warehouse_check_fails_on_a_missing_or_corrupt_file(tmp_path: Path) -> None:
    lake = ParquetLake(str(tmp_path / "lake"))
    missing = Warehouse(tmp_path / "none.duckdb", lake)
    result = run_check("warehouse", lambda: health_checks.check_warehouse(missing))
    assert not result.ok and "does not exist" in result.detail
    assert not missing.path.exists()  # the check does not create an empty warehouse

    corrupt = tmp_path / "corrupt.duckdb"
    corrupt.write_bytes(b"not a duckdb file" * 100)
    result = run_check("warehouse", lambda: health_checks.check_warehouse(Warehouse(corrupt, lake)))
    assert not result.ok and "corrupt.duckdb" in result.detail


# --- MLflow ---------------------------------------------------------------------------------


def test_mlflow_check_searches_a_sqlite_store(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    MlflowClient(tracking_uri=uri).create_experiment(
        "health", artifact_location=str(tmp_path / "artifacts")
    )
    result = health_checks.check_mlflow(uri)
    assert result.ok, result
    assert result.observed == "2 experiment(s)"  # Default and ours


def test_mlflow_check_fails_on_an_unreadable_sqlite_file(tmp_path: Path) -> None:
    database = tmp_path / "mlflow.db"
    database.write_bytes(b"garbage, not SQLite" * 64)
    result = run_check("mlflow", lambda: health_checks.check_mlflow(f"sqlite:///{database}"))
    assert not result.ok and "file is not a database" in result.detail, result
    missing = tmp_path / "absent.db"
    result = run_check("mlflow", lambda: health_checks.check_mlflow(f"sqlite:///{missing}"))
    assert not result.ok and "does not exist" in result.detail
    assert not missing.exists()  # MLflow was not let create an empty store


def test_mlflow_check_fails_on_an_unreachable_server_without_showing_credentials() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    uri = f"http://health-user:tracking-password@127.0.0.1:{port}"
    result = run_check("mlflow", lambda: health_checks.check_mlflow(uri))
    assert not result.ok
    assert "tracking-password" not in repr(result)
    assert result.seconds < 60  # not MLflow's minutes of default retries


# --- Disk -----------------------------------------------------------------------------------


def test_free_disk_check_against_its_threshold(tmp_path: Path) -> None:
    import shutil

    free = shutil.disk_usage(tmp_path).free
    assert health_checks.check_free_disk(tmp_path, 1).ok
    result = health_checks.check_free_disk(tmp_path, free + 2**40)
    assert not result.ok
    assert "below the minimum" in result.detail and result.threshold.startswith(">= ")


def test_free_disk_check_refuses_a_negative_threshold(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="min_free_bytes must be >= 0"):
        health_checks.check_free_disk(tmp_path, -1)


def test_errors_are_redacted_before_they_are_recorded() -> None:
    def leaks() -> health_checks.CheckResult:
        raise RuntimeError("failed at postgresql://dagster:pg-pass@db/dagster with key s3cr3t")

    result = run_check("instance_storage", leaks, secrets=["s3cr3t"])
    assert not result.ok
    assert "pg-pass" not in result.detail and "s3cr3t" not in result.detail
    assert REDACTED in result.detail and result.detail.startswith("RuntimeError: ")
