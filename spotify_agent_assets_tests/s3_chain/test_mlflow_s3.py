"""Models registered in MLflow with their artifacts in S3 (SeaweedFS), loaded back from there.

The production layout when ``MLFLOW_TRACKING_URI`` is a database: runs, metrics and versions
in the database, model files under ``SPOTIFY_AGENT_MLFLOW_ARTIFACT_ROOT`` in object storage,
reached through MLflow's own ``MLFLOW_S3_ENDPOINT_URL`` and the AWS variables.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyarrow.fs import FileSelector

from spotify_agent_assets.environment import EnvironmentConfigError, load_settings
from spotify_agent_assets.lake.s3 import arrow_filesystem
from spotify_agent_assets.mlflow_registry import client_for
from spotify_agent_assets.recommend import evaluate_recommender, train_recommender
from spotify_agent_assets.recommend.registry import (
    load_recommender,
    log_recommender,
    training_fingerprint,
)
from spotify_agent_assets.recommend.synthetic import holdout_split, listening_log
from spotify_agent_assets_tests.conftest import EMULATOR_ID, EMULATOR_SECRET
from spotify_agent_assets_tests.s3_server import S3Server

pytestmark = [
    pytest.mark.s3,
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy:DeprecationWarning"),
]

NAME = "recommender"
PROD = {
    "SPOTIFY_AGENT_ENV": "prod",
    "SPOTIFY_AGENT_LAKE_URL": "s3://b/lake",
    "SPOTIFY_AGENT_BACKUP_URL": "s3://b/backups",
    "SPOTIFY_CLIENT_ID": EMULATOR_ID,
    "SPOTIFY_CLIENT_SECRET": EMULATOR_SECRET,
}


def test_where_model_files_go_is_checked_when_the_code_location_loads(tmp_path: Path) -> None:
    database = {**PROD, "MLFLOW_TRACKING_URI": "postgresql://mlflow@db/mlflow"}
    with pytest.raises(EnvironmentConfigError, match="ARTIFACT_ROOT must be an s3:// URL in prod"):
        load_settings(database)
    for bad in ("/var/mlflow", "gs://b/mlflow", "s3:///mlflow"):
        with pytest.raises(EnvironmentConfigError, match="SPOTIFY_AGENT_MLFLOW_ARTIFACT_ROOT"):
            load_settings({**database, "SPOTIFY_AGENT_MLFLOW_ARTIFACT_ROOT": bad})
    with_root = {**database, "SPOTIFY_AGENT_MLFLOW_ARTIFACT_ROOT": "s3://b/mlflow/"}
    assert load_settings(with_root).mlflow_artifact_root == "s3://b/mlflow"
    # A tracking server keeps its own artifact location unless one is named.
    server = {**PROD, "MLFLOW_TRACKING_URI": "https://mlflow.internal"}
    assert load_settings(server).mlflow_artifact_root is None
    local = load_settings(
        {"SPOTIFY_AGENT_DATA_DIR": str(tmp_path), "SPOTIFY_AGENT_MLFLOW_ARTIFACT_ROOT": "art"}
    )
    assert local.mlflow_artifact_root == str((Path.cwd() / "art").resolve())


def test_recommender_registers_with_artifacts_in_s3(
    tmp_path: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"mlflow-{uuid.uuid4().hex[:8]}"
    environment = {
        "SPOTIFY_AGENT_ENV": "prod",
        "SPOTIFY_AGENT_DATA_DIR": str(tmp_path / "data"),
        "SPOTIFY_AGENT_LAKE_URL": s3_server.url(f"{prefix}/lake"),
        "SPOTIFY_AGENT_BACKUP_URL": s3_server.url(f"{prefix}/backups"),
        "SPOTIFY_CLIENT_ID": EMULATOR_ID,
        "SPOTIFY_CLIENT_SECRET": EMULATOR_SECRET,
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "SPOTIFY_AGENT_MLFLOW_ARTIFACT_ROOT": s3_server.url(f"{prefix}/mlflow"),
    }
    settings = load_settings(environment)
    assert settings.mlflow_artifact_root == s3_server.url(f"{prefix}/mlflow")
    for name, value in {
        "MLFLOW_S3_ENDPOINT_URL": s3_server.endpoint_url,
        "AWS_ACCESS_KEY_ID": s3_server.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_access_key,
        "AWS_DEFAULT_REGION": s3_server.region,
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
    }.items():
        monkeypatch.setenv(name, value)

    train, validation = holdout_split(listening_log(200, 120, 8_000, styles=4, seed=3), seed=3)
    params = {"iterations": 3}
    model = train_recommender(train, params=params)
    metrics = evaluate_recommender(model, train, validation)
    registered = log_recommender(
        model,
        fingerprint=training_fingerprint(train, params, model.seed),
        metrics=metrics,
        baseline_metrics={"ndcg": 0.01, "recall": 0.01},
        card={"as_of": "2026-10-31", "training_rows": len(train)},
        tracking_uri=settings.mlflow_tracking_uri,
        artifact_root=settings.mlflow_artifact_root,
        experiment="recommender",
        registered_name=NAME,
    )
    assert not registered.reused

    client = client_for(settings.mlflow_tracking_uri)
    run = client.get_run(registered.run_id)
    assert run.info.artifact_uri.startswith(f"{settings.mlflow_artifact_root}/")
    assert run.data.metrics and set(metrics) <= set(run.data.metrics)
    version = client.get_model_version(NAME, registered.version)
    assert version.source.startswith(f"{settings.mlflow_artifact_root}/")

    fs = arrow_filesystem(s3_server.settings())
    stored = [
        info.path
        for info in fs.get_file_info(
            FileSelector(f"{s3_server.bucket}/{prefix}/mlflow", recursive=True)
        )
        if info.is_file
    ]
    # The model's own files, not only the run's metadata.
    assert any(path.endswith("/arrays.npz") for path in stored), stored

    loaded = load_recommender(settings.mlflow_tracking_uri, NAME, registered.version)
    np.testing.assert_array_equal(loaded.item_vectors, model.item_vectors)
    users = list(model.users[:5])
    pd.testing.assert_frame_equal(loaded.recommend(users), model.recommend(users))
