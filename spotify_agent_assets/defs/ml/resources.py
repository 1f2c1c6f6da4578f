"""The MLflow tracking store that trained models and their metrics go to."""

from __future__ import annotations

import dagster as dg
from pydantic import Field


class MlflowTrackingResource(dg.ConfigurableResource):
    """Where runs, metrics and registered model versions are kept.

    Locally a SQLite store under ``<data>/mlflow/`` (the model registry needs a database) with
    artifacts beside it; in prod the tracking server named by ``MLFLOW_TRACKING_URI``, which
    keeps its own artifact location. Credentials for a server come from MLflow's own
    ``MLFLOW_TRACKING_*`` environment variables and never pass through here.
    """

    tracking_uri: str = Field(description="MLflow tracking URI (sqlite:///..., https://...).")
    artifact_root: str | None = Field(
        default=None, description="Artifact location of new experiments; unset: the server's."
    )
