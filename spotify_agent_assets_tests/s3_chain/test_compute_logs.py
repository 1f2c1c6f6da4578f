"""Step stdout and stderr land in S3 through the production ``dagster.yaml``'s compute logs.

An instance whose ``DAGSTER_HOME`` holds the repository's ``dagster.yaml`` with its storage
left out (SQLite in the temporary home instead of PostgreSQL; the compute-log section is
unchanged), the bucket, prefix, endpoint and keys set as a deployment sets them, and a step
that prints: its output must be in the SeaweedFS bucket under the prefix, nowhere else.
"""

import sys
import uuid
from pathlib import Path

import dagster as dg
import pytest
import yaml
from pyarrow.fs import FileSelector

from spotify_agent_assets.lake.s3 import arrow_filesystem
from spotify_agent_assets_tests.s3_server import S3Server

pytestmark = [pytest.mark.s3]

REPO_INSTANCE_FILE = Path(__file__).resolve().parents[2] / "dagster.yaml"
OUT_MARK = f"stdout-{uuid.uuid4().hex}"
ERR_MARK = f"stderr-{uuid.uuid4().hex}"


@dg.asset
def printing_step(context: dg.AssetExecutionContext) -> None:
    """Prints one marker to each stream, as a library's progress output would."""
    print(OUT_MARK, flush=True)
    print(ERR_MARK, file=sys.stderr, flush=True)
    context.log.info("printed both markers")


def prod_like_home(home: Path) -> Path:
    config = yaml.safe_load(REPO_INSTANCE_FILE.read_text())
    assert config["compute_logs"]["class"] == "S3ComputeLogManager"
    # Postgres storage is tested elsewhere (test_postgres_instance.py); it adds nothing here.
    config.pop("storage")
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return home


def test_step_output_lands_in_the_s3_bucket(
    tmp_path: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"compute-logs-{uuid.uuid4().hex[:8]}"
    home = prod_like_home(tmp_path / "dagster_home")
    for name, value in {
        "DAGSTER_HOME": str(home),
        "DAGSTER_COMPUTE_LOGS_BUCKET": s3_server.bucket,
        "DAGSTER_COMPUTE_LOGS_PREFIX": prefix,
        "AWS_ENDPOINT_URL_S3": s3_server.endpoint_url,
        "AWS_DEFAULT_REGION": s3_server.region,
        "AWS_ACCESS_KEY_ID": s3_server.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_access_key,
    }.items():
        monkeypatch.setenv(name, value)
    # No shared or default credentials file may stand in for the variables above.
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))

    with dg.DagsterInstance.get() as instance:
        manager = type(instance.compute_log_manager).__name__
        assert manager == "S3ComputeLogManager", manager
        result = dg.materialize([printing_step], instance=instance)
        assert result.success

    fs = arrow_filesystem(s3_server.settings())
    objects = {
        info.path: fs.open_input_stream(info.path).read().decode()
        for info in fs.get_file_info(FileSelector(f"{s3_server.bucket}/{prefix}", recursive=True))
        if info.is_file
    }
    run_id = result.run_id
    out = [text for path, text in objects.items() if path.endswith(".out")]
    err = [text for path, text in objects.items() if path.endswith(".err")]
    assert any(OUT_MARK in text for text in out), sorted(objects)
    assert any(ERR_MARK in text for text in err), sorted(objects)
    assert all(f"/{prefix}/storage/{run_id}/" in f"/{path}" for path in objects), sorted(objects)
