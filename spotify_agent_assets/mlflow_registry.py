"""What every model registered in MLflow shares: store access, experiments, registered names,
versions found by their training fingerprint, and ``register_training``: one training as a
run, a logged model and a registered version, or the version already registered for it.

Only `mlflow.MlflowClient` objects bound to a given ``tracking_uri`` are used, never MLflow's
fluent API, which reads and writes process-wide state (see ``audio.model_registry``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlflow import MlflowClient

FINGERPRINT_TAG = "fingerprint"
MODEL_NAME = "model"  # the logged model's name within its run


@dataclass(frozen=True)
class RegisteredModel:
    """One registered model version; ``reused`` when it was already there."""

    name: str
    version: str
    run_id: str
    reused: bool


def register_training(
    *,
    tracking_uri: str,
    artifact_root: str | None,
    experiment: str,
    registered_name: str,
    fingerprint: str,
    tags: Mapping[str, str] | None,
    model_type: str,
    model_params: Mapping[str, str],
    log_run: Callable[[MlflowClient, str], None],
    save_model: Callable[[str, Any, str], str],
) -> RegisteredModel:
    """Register one training as a new version of ``registered_name``, or return the version
    already registered with ``fingerprint`` (``reused``; nothing is written).

    ``log_run(client, run_id)`` logs the run's params, metrics and artifacts; ``save_model(folder,
    logged_model, run_id)`` writes the model's files under the temporary ``folder`` and returns
    the folder to upload. ``tags`` go on the run and the version, beside ``fingerprint``.
    """
    check_name("registered_name", registered_name)
    check_name("experiment", experiment)
    client = client_for(tracking_uri)
    existing = version_with_fingerprint(client, registered_name, fingerprint)
    if existing is not None:
        return RegisteredModel(registered_name, str(existing.version), existing.run_id, True)
    experiment_id = experiment_for(client, experiment, artifact_root)
    run_tags = {**(tags or {}), FINGERPRINT_TAG: fingerprint}
    run_id = client.create_run(experiment_id, tags=run_tags).info.run_id
    try:
        log_run(client, run_id)
        model_id, location = _logged_model(
            client, experiment_id, run_id, fingerprint, model_type, model_params, save_model
        )
        ensure_registered_model(client, registered_name)
        version = client.create_model_version(
            registered_name,
            # The artifact location, not "models:/<model_id>": MLflow's SQL registry resolves
            # a models:/ source with a client on the *global* tracking URI.
            source=location,
            run_id=run_id,
            tags=run_tags,
            model_id=model_id,
        )
    except BaseException:
        client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id, status="FINISHED")
    return RegisteredModel(registered_name, str(version.version), run_id, False)


def _logged_model(
    client: MlflowClient,
    experiment_id: str,
    run_id: str,
    fingerprint: str,
    model_type: str,
    model_params: Mapping[str, str],
    save_model: Callable[[str, Any, str], str],
) -> tuple[str, str]:
    """A logged model (MLflow 3's model entity) linked to the run, its files uploaded: what
    ``mlflow.<flavor>.log_model`` does, step by step, without the fluent API."""
    import tempfile

    from mlflow.entities import LoggedModelOutput, LoggedModelStatus

    logged = client.create_logged_model(
        experiment_id,
        name=MODEL_NAME,
        source_run_id=run_id,
        tags={FINGERPRINT_TAG: fingerprint},
        params=dict(model_params),
        model_type=model_type,
    )
    try:
        client.log_outputs(run_id, [LoggedModelOutput(logged.model_id, step=0)])
        with tempfile.TemporaryDirectory() as tmp:
            client.log_model_artifacts(logged.model_id, save_model(tmp, logged, run_id))
    except BaseException:
        client.finalize_logged_model(logged.model_id, LoggedModelStatus.FAILED)
        raise
    client.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
    return logged.model_id, logged.artifact_location


def client_for(tracking_uri: str) -> MlflowClient:
    import mlflow

    return mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


@contextmanager
def downloaded_version(tracking_uri: str, name: str, version: str | int) -> Iterator[str]:
    """A local folder holding one registered version's files, removed on exit."""
    import tempfile

    import mlflow

    uri = client_for(tracking_uri).get_model_version_download_uri(name, str(version))
    with tempfile.TemporaryDirectory() as tmp:
        yield mlflow.artifacts.download_artifacts(
            artifact_uri=uri, dst_path=tmp, tracking_uri=tracking_uri
        )


def check_name(what: str, name: str) -> None:
    # Names end up inside MLflow filter strings, which have no escape for a single quote.
    if not name or "'" in name:
        raise ValueError(f"{what} must be a non-empty name without single quotes, got {name!r}")


def version_with_fingerprint(client: MlflowClient, name: str, fingerprint: str) -> Any | None:
    versions = client.search_model_versions(f"name = '{name}'")
    matching = [v for v in versions if v.tags.get(FINGERPRINT_TAG) == fingerprint]
    return min(matching, key=lambda v: int(v.version)) if matching else None


def experiment_for(client: MlflowClient, name: str, artifact_root: str | None) -> str:
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        return existing.experiment_id
    location = None
    if artifact_root is not None:
        # A bare path would be taken relative to the server; a file URI is unambiguous.
        location = artifact_root if "://" in artifact_root else file_uri(artifact_root)
    return client.create_experiment(name, artifact_location=location)


def file_uri(path: str) -> str:
    from pathlib import Path

    return Path(path).absolute().as_uri()


def now_ms() -> int:
    import time

    return int(time.time() * 1000)


def ensure_registered_model(client: MlflowClient, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        client.create_registered_model(name)
