"""Trained audio classifiers into the MLflow model registry, once per distinct training.

`log_classifier` records a `TrainedClassifier` as an MLflow run (params, held-out metrics with
one ``confusion_<true>_as_<predicted>`` metric per cell, the metrics JSON with the confusion
matrix) with the sklearn model logged to it and registered as a
new version of ``registered_name``, tagged ``fingerprint``. When a version with the same
fingerprint (the same training matrix, labels, features, hyper-parameters and scikit-learn) is
already registered, it is returned instead (``reused=True``) and nothing is written, so
re-materializing unchanged training is idempotent. `load_registered_model` loads a version's
estimator back.

Why it is built this way:

- Only `mlflow.MlflowClient` objects bound to the given ``tracking_uri`` (tracking and registry
  alike) are used, never the fluent API (``mlflow.start_run``, ``mlflow.sklearn.log_model``),
  which reads and writes process-wide state (the global tracking URI, the active run stack): a
  Dagster process or a test session may talk to several stores. `log_classifier` does what
  ``mlflow.sklearn.log_model`` does, step by step: a logged model (MLflow 3's model entity)
  linked to the run, its files written by ``mlflow.sklearn.save_model`` to a temporary
  directory and uploaded, then registered from its artifact location.
- Nothing reaches the network: ``pip_requirements`` is given explicitly (otherwise MLflow infers
  it by loading the model in a subprocess), there is no input example, and the model is saved
  in the skops format (MLflow's default off Databricks, loadable without unpickling arbitrary
  code). MLflow's usage telemetry is a separate matter: set ``MLFLOW_DISABLE_TELEMETRY=true``
  (or ``DO_NOT_TRACK=true``) in the process environment.
- The experiment is created with ``artifact_location=artifact_root`` when given; without it a
  SQLite store would put artifacts under the working directory's ``./mlruns``.
- Two processes logging the same new fingerprint at the same moment can both register a
  version; the registry has no unique constraint on tags. Materializations of one asset do not
  overlap, so this is not guarded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from spotify_agent_assets.mlflow_registry import (
    FINGERPRINT_TAG,
    MODEL_NAME,
    RegisteredModel,
    downloaded_version,
    now_ms,
    register_training,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from spotify_agent_assets.audio.classification import TrainedClassifier

METRICS_ARTIFACT = "held_out_metrics.json"
# Types in a saved `TrainedClassifier.estimator` that skops does not trust by default; it
# refuses to save or load a file holding any type not listed (a changed pipeline fails loudly).
SKOPS_TRUSTED_TYPES = (
    "numpy.dtype",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.model_selection._split.StratifiedKFold",
)


def log_classifier(
    trained: TrainedClassifier,
    *,
    tracking_uri: str,
    artifact_root: str | None,
    experiment: str,
    registered_name: str,
    tags: Mapping[str, str] | None = None,
) -> RegisteredModel:
    """Log and register `trained`, or return the version already registered with its fingerprint.

    `tags` go on the run and on the model version (beside ``fingerprint``).
    """
    return register_training(
        tracking_uri=tracking_uri,
        artifact_root=artifact_root,
        experiment=experiment,
        registered_name=registered_name,
        fingerprint=trained.fingerprint,
        tags=tags,
        model_type="classifier",
        model_params={key: _param_value(value) for key, value in trained.params.items()},
        log_run=lambda client, run_id: _log_run_data(client, run_id, trained),
        save_model=lambda folder, logged, run_id: _save_model(folder, logged, run_id, trained),
    )


def load_registered_model(tracking_uri: str, name: str, version: str | int) -> Any:
    """The sklearn estimator of one registered version (it takes `feature_matrix` rows)."""
    import mlflow.sklearn

    with downloaded_version(tracking_uri, name, version) as local:
        return mlflow.sklearn.load_model(local)


def _log_run_data(client: MlflowClient, run_id: str, trained: TrainedClassifier) -> None:
    from mlflow.entities import Metric, Param

    metrics = trained.metrics
    values: dict[str, float] = {
        "accuracy": metrics.accuracy,
        "baseline_accuracy": metrics.baseline_accuracy,
        "log_loss": metrics.log_loss,
        "brier_score": metrics.brier_score,
        "n_train": float(metrics.n_train),
        "n_test": float(metrics.n_test),
    }
    for label, scores in metrics.per_class.items():
        key = label.replace(" ", "_")
        values[f"recall_{key}"] = scores["recall"]
        values[f"precision_{key}"] = scores["precision"]
    # The confusion matrix cell by cell as well as in the artifact, so that runs can be compared
    # on it in the MLflow UI (which charts metrics, not JSON files).
    for row, truth in enumerate(trained.classes):
        for column, predicted in enumerate(trained.classes):
            key = f"confusion_{truth}_as_{predicted}".replace(" ", "_")
            values[key] = float(metrics.confusion[row][column])
    params = {
        **{key: _param_value(value) for key, value in trained.params.items()},
        "feature_names": json.dumps(list(trained.feature_names)),
        "classes": json.dumps(list(trained.classes)),
    }
    timestamp = now_ms()
    client.log_batch(
        run_id,
        metrics=[Metric(key, float(value), timestamp, 0) for key, value in values.items()],
        params=[Param(key, value) for key, value in params.items()],
    )
    client.log_dict(
        run_id,
        {"classes": list(trained.classes), **metrics.as_dict()},
        METRICS_ARTIFACT,
    )


def _param_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _save_model(folder: str, logged: Any, run_id: str, trained: TrainedClassifier) -> str:
    """The estimator in MLflow's sklearn format (skops) under ``folder``; returns its path."""
    import mlflow.sklearn
    from mlflow.models import Model

    local = os.path.join(folder, MODEL_NAME)
    mlflow.sklearn.save_model(
        trained.estimator,
        local,
        mlflow_model=Model(
            artifact_path=logged.artifact_location,
            run_id=run_id,
            model_uuid=logged.model_id,
            model_id=logged.model_id,
            metadata={
                "feature_names": list(trained.feature_names),
                "columns": list(trained.columns),
                "classes": list(trained.classes),
                FINGERPRINT_TAG: trained.fingerprint,
            },
        ),
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
        skops_trusted_types=list(SKOPS_TRUSTED_TYPES),
        pip_requirements=_pip_requirements(),
    )
    return local


def _pip_requirements() -> list[str]:
    # Explicit, so MLflow does not infer them by loading the model in a subprocess.
    from importlib.metadata import version

    return [
        f"{package}=={version(package)}"
        for package in ("mlflow", "scikit-learn", "numpy", "scipy", "skops")
    ]
