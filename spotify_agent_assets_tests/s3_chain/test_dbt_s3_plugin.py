"""The dbt-duckdb plugin that gives the dbt models' connections httpfs and an S3 secret.

No server needed: what it sets up on a connection is read back from DuckDB itself. The run
through dbt against a real S3 server is `test_s3_chain.py`.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from spotify_agent_assets.analytics_dbt.duckdb_s3 import LAKE_ROOT_SETTING, Plugin
from spotify_agent_assets.analytics_dbt.project import find_project_dir
from spotify_agent_assets.analytics_dbt.run_vars import dbt_vars_arg
from spotify_agent_assets.lake.warehouse import CONNECTION_CONFIG, S3_SECRET_NAME

SECRET = "planted-secret-0123456789abcdef"


def plugin(lake_root: str) -> Plugin:
    return Plugin("duckdb_s3", {LAKE_ROOT_SETTING: lake_root})


def test_a_local_lake_needs_nothing() -> None:
    for root in ("", "/srv/lake", "./data/lake"):
        assert plugin(root).lake_root is None
    with duckdb.connect(config=CONNECTION_CONFIG) as connection:
        plugin("/srv/lake").configure_connection(connection)
        assert connection.execute("SELECT count(*) FROM duckdb_secrets()").fetchone() == (0,)


def test_unsupported_lake_roots_fail_naming_the_value() -> None:
    with pytest.raises(ValueError, match="'gs://bucket/lake' is not supported"):
        plugin("gs://bucket/lake")
    with pytest.raises(ValueError, match="not an s3:// URL"):
        plugin("s3://")


def test_an_s3_lake_gets_httpfs_and_a_temporary_scoped_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {
        "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:8333",
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "planted-key-id",
        "AWS_SECRET_ACCESS_KEY": SECRET,
    }.items():
        monkeypatch.setenv(name, value)
    with duckdb.connect(config=CONNECTION_CONFIG) as connection:
        plugin("s3://bucket/prod/lake/").configure_connection(connection)
        loaded = connection.execute(
            "SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'httpfs'"
        ).fetchone()
        secrets = connection.execute(
            "SELECT name, type, persistent, scope, secret_string FROM duckdb_secrets()"
        ).fetchall()
    assert loaded == (True,)
    [(name, kind, persistent, scope, text)] = secrets
    assert (name, kind, persistent, scope) == (
        S3_SECRET_NAME,
        "s3",
        False,
        ["s3://bucket/prod/lake"],
    )
    # Path-style over http for a self-hosted store; the secret itself is redacted.
    assert "url_style=path" in text and "use_ssl=false" in text
    assert "endpoint=127.0.0.1:8333" in text and "region=eu-west-1" in text
    assert SECRET not in text


def test_the_profile_names_the_plugin_and_no_credential() -> None:
    profile = (find_project_dir() / "profiles.yml").read_text()
    output = yaml.safe_load(profile)["spotify_agent"]["outputs"]["warehouse"]
    [entry] = output["plugins"]
    assert entry["module"] == "spotify_agent_assets.analytics_dbt.duckdb_s3"
    assert "lake_root" in entry["config"]["lake_root"]
    # No extension is installed (a download) and no secret is rendered into the profile.
    assert "extensions" not in output and "secrets" not in output
    assert "env_var('AWS" not in profile and 'env_var("AWS' not in profile
    assert output["settings"]["autoinstall_known_extensions"] is False


def test_the_lake_is_a_dbt_var_only_when_given() -> None:
    warehouse = Path("/data/warehouse.duckdb")
    assert dbt_vars_arg(warehouse) == '{"warehouse_path": "/data/warehouse.duckdb"}'
    assert dbt_vars_arg(warehouse, "s3://bucket/lake") == (
        '{"lake_root": "s3://bucket/lake", "warehouse_path": "/data/warehouse.duckdb"}'
    )
