"""The MLflow tracking store that trained models and their metrics go to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

if TYPE_CHECKING:
    from spotify_agent_assets.audio.classification import TrainedClassifier
    from spotify_agent_assets.audio.model_registry import RegisteredModel


class MlflowTrackingResource(dg.ConfigurableResource):
    """Where runs, metrics and registered model versions are kept.

    Locally a SQLite store under ``<data>/mlflow/`` (the model registry needs a database) with
    artifacts beside it; in prod the store named by ``MLFLOW_TRACKING_URI``: a tracking server
    keeps its own artifact location unless ``SPOTIFY_AGENT_MLFLOW_ARTIFACT_ROOT`` names one, a
    database needs that ``s3://`` root. The client uploads model files there itself, with
    MLflow's ``MLFLOW_S3_ENDPOINT_URL`` and the AWS variables. Credentials for a server come
    from MLflow's own ``MLFLOW_TRACKING_*`` environment variables and never pass through here.
    """

    tracking_uri: str = Field(description="MLflow tracking URI (sqlite:///..., https://...).")
    artifact_root: str | None = Field(
        default=None,
        description="Artifact location of new experiments (a folder or s3://); unset: the "
        "server's.",
    )

    def log_classifier(
        self,
        trained: TrainedClassifier,
        *,
        registered_name: str,
        experiment: str,
        tags: Mapping[str, str] | None = None,
    ) -> RegisteredModel:
        """Log and register ``trained`` in this store (see `audio.model_registry`)."""
        from spotify_agent_assets.audio.model_registry import log_classifier

        return log_classifier(
            trained,
            tracking_uri=self.tracking_uri,
            artifact_root=self.artifact_root,
            experiment=experiment,
            registered_name=registered_name,
            tags=tags,
        )
