from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spotify_agent_assets.audio.classification import (
    TrainedClassifier,
    feature_matrix,
    train_classifier,
)
from spotify_agent_assets.audio.feature_names import FEATURE_NAMES
from spotify_agent_assets.audio.model_registry import (
    FINGERPRINT_TAG,
    METRICS_ARTIFACT,
    load_registered_model,
    log_classifier,
)

# MLflow's SQL store configures SQLAlchemy mappers with a loader strategy SQLAlchemy deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy:DeprecationWarning")

FEATURES = ("speechiness", "loudness_db")
NAME = "content_type"
EXPERIMENT = "audio-classifiers"


def items(seed: int, n: int = 60) -> tuple[list[dict[str, Any]], list[str]]:
    rng = np.random.default_rng(seed)
    features, labels = [], []
    for index in range(n):
        label = "speech" if index % 3 == 0 else "music"
        values: dict[str, Any] = dict.fromkeys(FEATURE_NAMES)
        values.update(
            status="ok",
            speechiness=float((0.8 if label == "speech" else 0.3) + 0.1 * rng.normal()),
            loudness_db=float(-18 + 2 * rng.normal()),
        )
        features.append(values)
        labels.append(label)
    return features, labels


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One SQLite store for the module (creating its tables takes a few seconds), with the
    working directory moved to an empty folder to catch anything written relative to it."""
    root = tmp_path_factory.mktemp("mlflow")
    cwd = root / "cwd"
    cwd.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        yield {
            "tracking_uri": f"sqlite:///{root / 'mlflow.db'}",
            "artifact_root": str(root / "artifacts"),
            "root": root,
            "cwd": cwd,
        }


@pytest.fixture(scope="module")
def trained() -> TrainedClassifier:
    return train_classifier(*items(0), FEATURES)


def log(store: dict[str, Any], model: TrainedClassifier, **kwargs: Any):
    return log_classifier(
        model,
        tracking_uri=store["tracking_uri"],
        artifact_root=store["artifact_root"],
        experiment=EXPERIMENT,
        registered_name=NAME,
        **kwargs,
    )


def versions(store: dict[str, Any]) -> list[Any]:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=store["tracking_uri"])
    return sorted(client.search_model_versions(f"name = '{NAME}'"), key=lambda v: int(v.version))


def test_log_reuse_and_new_version(store: dict[str, Any], trained: TrainedClassifier) -> None:
    import mlflow

    global_uri = mlflow.get_tracking_uri()
    env_uri = os.environ.get("MLFLOW_TRACKING_URI")

    first = log(store, trained, tags={"head": "content_type"})
    assert (first.name, first.version, first.reused) == (NAME, "1", False)
    [version] = versions(store)
    assert version.tags[FINGERPRINT_TAG] == trained.fingerprint
    assert version.tags["head"] == "content_type"
    assert version.run_id == first.run_id

    client = mlflow.MlflowClient(tracking_uri=store["tracking_uri"])
    run = client.get_run(first.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.metrics["accuracy"] == pytest.approx(trained.metrics.accuracy)
    assert run.data.metrics["baseline_accuracy"] == pytest.approx(trained.metrics.baseline_accuracy)
    assert run.data.metrics["n_test"] == trained.metrics.n_test
    assert {"recall_music", "recall_speech", "log_loss"} <= set(run.data.metrics)
    assert json.loads(run.data.params["feature_names"]) == list(FEATURES)
    assert run.data.tags[FINGERPRINT_TAG] == trained.fingerprint
    metrics = json.loads(
        Path(store["artifact_root"], first.run_id, "artifacts", METRICS_ARTIFACT).read_text()
    )
    assert metrics["confusion"] == trained.metrics.confusion
    classes = list(trained.classes)
    for row, truth in enumerate(classes):
        for column, predicted in enumerate(classes):
            cell = run.data.metrics[f"confusion_{truth}_as_{predicted}"]
            assert cell == trained.metrics.confusion[row][column]
    assert metrics["classes"] == list(trained.classes)

    again = log(store, trained)
    assert again == type(first)(NAME, "1", first.run_id, True)
    assert len(versions(store)) == 1
    assert len(client.search_runs([run.info.experiment_id])) == 1

    other = train_classifier(*items(1), FEATURES)
    assert other.fingerprint != trained.fingerprint
    second = log(store, other)
    assert (second.version, second.reused) == ("2", False)
    assert second.run_id != first.run_id
    assert [v.tags[FINGERPRINT_TAG] for v in versions(store)] == [
        trained.fingerprint,
        other.fingerprint,
    ]
    assert log(store, trained).version == "1"

    # Nothing global changed and nothing landed in the working directory (./mlruns, mlflow.db).
    assert mlflow.get_tracking_uri() == global_uri
    assert os.environ.get("MLFLOW_TRACKING_URI") == env_uri
    assert list(store["cwd"].iterdir()) == []
    assert {path.name for path in Path(store["artifact_root"]).iterdir()} >= {
        first.run_id,
        "models",
    }


def test_a_registered_model_loads_back_and_predicts_the_same(
    store: dict[str, Any], trained: TrainedClassifier
) -> None:
    registered = log(store, trained)
    estimator = load_registered_model(store["tracking_uri"], NAME, registered.version)
    features, _ = items(2, n=30)
    matrix = feature_matrix(features, trained.feature_names)
    np.testing.assert_array_equal(
        estimator.predict_proba(matrix), trained.estimator.predict_proba(matrix)
    )


def test_names_mlflow_cannot_filter_on_are_refused(
    store: dict[str, Any], trained: TrainedClassifier
) -> None:
    with pytest.raises(ValueError, match="registered_name must be a non-empty name"):
        log_classifier(
            trained,
            tracking_uri=store["tracking_uri"],
            artifact_root=None,
            experiment=EXPERIMENT,
            registered_name="it's",
        )
