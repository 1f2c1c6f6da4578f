"""The one module that decides the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from spotify_agent_assets.environment import (
    PROJECT_ROOT,
    AgentEnvironment,
    EnvironmentConfigError,
    load_settings,
)


def test_local_defaults_live_under_data(tmp_path: Path) -> None:
    settings = load_settings({"SPOTIFY_AGENT_DATA_DIR": str(tmp_path)})
    assert settings.env is AgentEnvironment.LOCAL
    assert settings.lake_root == str(tmp_path / "lake")
    assert settings.warehouse_path == tmp_path / "warehouse.duckdb"
    assert settings.dagster_home == tmp_path / "dagster_home"
    assert settings.landing_dir == str(tmp_path / "landing")
    assert settings.roster_path == PROJECT_ROOT / "config" / "artists.yaml"
    assert settings.use_sample_world


def test_default_data_dir_is_the_repo_data_folder() -> None:
    assert load_settings({}).data_dir == PROJECT_ROOT / "data"


def test_credentials_switch_off_the_sample_world() -> None:
    settings = load_settings({"SPOTIFY_CLIENT_ID": "a", "SPOTIFY_CLIENT_SECRET": "b"})
    assert not settings.use_sample_world


def test_half_the_credentials_is_an_error_naming_the_missing_one() -> None:
    with pytest.raises(EnvironmentConfigError, match="SPOTIFY_CLIENT_SECRET is not set"):
        load_settings({"SPOTIFY_CLIENT_ID": "a"})


def test_unknown_environment_names_the_allowed_ones() -> None:
    with pytest.raises(EnvironmentConfigError, match=r"'staging'.*local, prod"):
        load_settings({"SPOTIFY_AGENT_ENV": "staging"})


def test_prod_requires_an_s3_lake_and_credentials() -> None:
    creds = {"SPOTIFY_CLIENT_ID": "a", "SPOTIFY_CLIENT_SECRET": "b"}
    with pytest.raises(EnvironmentConfigError, match="SPOTIFY_AGENT_LAKE_URL must be an s3://"):
        load_settings({"SPOTIFY_AGENT_ENV": "prod", **creds})
    with pytest.raises(EnvironmentConfigError, match="must be set in prod"):
        load_settings({"SPOTIFY_AGENT_ENV": "prod", "SPOTIFY_AGENT_LAKE_URL": "s3://b/lake"})
    with pytest.raises(EnvironmentConfigError, match="MLFLOW_TRACKING_URI must be set in prod"):
        load_settings(
            {"SPOTIFY_AGENT_ENV": "prod", "SPOTIFY_AGENT_LAKE_URL": "s3://b/lake", **creds}
        )
    with pytest.raises(EnvironmentConfigError, match="SPOTIFY_AGENT_BACKUP_URL must be an s3://"):
        load_settings(
            {
                "SPOTIFY_AGENT_ENV": "prod",
                "SPOTIFY_AGENT_LAKE_URL": "s3://b/lake",
                "MLFLOW_TRACKING_URI": "https://mlflow.internal",
                "SPOTIFY_AGENT_BACKUP_URL": "/var/backups",
                **creds,
            }
        )
    prod = load_settings(
        {
            "SPOTIFY_AGENT_ENV": "PROD",
            "SPOTIFY_AGENT_LAKE_URL": "s3://b/lake",
            "MLFLOW_TRACKING_URI": "https://mlflow.internal",
            "SPOTIFY_AGENT_BACKUP_URL": "s3://b/backups",
            **creds,
        }
    )
    assert prod.env is AgentEnvironment.PROD and prod.lake_root == "s3://b/lake"
    assert not prod.use_sample_world
    assert prod.mlflow_tracking_uri == "https://mlflow.internal"
    assert prod.mlflow_artifact_root is None
    assert prod.backup_destination == "s3://b/backups"


def test_local_mlflow_is_a_sqlite_store_in_the_data_dir(tmp_path: Path) -> None:
    local = load_settings({"SPOTIFY_AGENT_DATA_DIR": str(tmp_path)})
    store = tmp_path.resolve() / "mlflow"
    assert local.mlflow_tracking_uri == f"sqlite:///{store / 'mlflow.db'}"
    assert local.mlflow_artifact_root == str(store / "artifacts")
    assert local.audio_landing_dir == f"{local.landing_dir}/audio"


def test_landing_zone_can_be_an_s3_prefix(tmp_path: Path) -> None:
    local = load_settings({"SPOTIFY_AGENT_DATA_DIR": str(tmp_path)})
    assert local.landing_dir == str(tmp_path.resolve() / "landing")
    remote = load_settings(
        {"SPOTIFY_AGENT_DATA_DIR": str(tmp_path), "SPOTIFY_AGENT_LANDING_URL": "s3://drop/zone/"}
    )
    assert remote.landing_dir == "s3://drop/zone"


def test_an_mlflow_server_uri_is_bound_as_an_env_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster as dg

    from spotify_agent_assets.defs.resources import build_resources

    settings = load_settings({"SPOTIFY_AGENT_DATA_DIR": str(tmp_path)})
    local = build_resources(settings)["mlflow"]
    assert local.tracking_uri == settings.mlflow_tracking_uri
    # A server URI may carry credentials: Dagster must resolve it at run time, not store it.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://user:sentinel-token@mlflow.internal")
    remote = build_resources(settings)["mlflow"]
    assert remote.tracking_uri == dg.EnvVar("MLFLOW_TRACKING_URI")
