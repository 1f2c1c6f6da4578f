"""What every model registered in MLflow shares: store access, experiments, registered names,
versions found by their training fingerprint.

Only `mlflow.MlflowClient` objects bound to a given ``tracking_uri`` are used, never MLflow's
fluent API, which reads and writes process-wide state (see ``audio.model_registry``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlflow import MlflowClient

FINGERPRINT_TAG = "fingerprint"


@dataclass(frozen=True)
class RegisteredModel:
    """One registered model version; ``reused`` when it was already there."""

    name: str
    version: str
    run_id: str
    reused: bool


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
