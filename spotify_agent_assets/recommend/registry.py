"""Recommender models in the MLflow registry: log, register, load, and the ``champion`` alias.

`log_recommender` records a training as an MLflow run (its parameters, its validation metrics
and the popularity baseline's as ``baseline_*``, the item embeddings as a Parquet artifact and
a model card) with the model's files (``model_files``: no pickle) as a logged model, registered
as a new version of ``registered_name``. A version with the same fingerprint (the same training
data, settings, seed and code) is returned instead and nothing is written, so re-running an
unchanged training changes nothing.

`decide_champion` moves the ``champion`` alias to a version only when it beats the current
champion on the same validation data (NDCG@k, then recall@k, strictly better); the first
version becomes champion. Either way it says what it decided and why.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spotify_agent_assets.mlflow_registry import (
    RegisteredModel,
    client_for,
    downloaded_version,
    now_ms,
    register_training,
)
from spotify_agent_assets.recommend.model import RecommenderModel
from spotify_agent_assets.recommend.model_files import save_model

if TYPE_CHECKING:
    from mlflow import MlflowClient

CHAMPION_ALIAS = "champion"
EMBEDDINGS_ARTIFACT = "item_embeddings.parquet"
CARD_ARTIFACT = "model_card.json"
CARD_MARKDOWN = "model_card.md"
# Bumped when the training code changes what a model is; part of the fingerprint.
CODE_VERSION = "als-cg-1"


@dataclass(frozen=True)
class ChampionDecision:
    """What ``decide_champion`` did: ``champion`` is the version holding the alias after it."""

    promoted: bool
    champion: str
    previous: str | None
    candidate_metrics: dict[str, float]
    champion_metrics: dict[str, float] | None
    reason: str


def training_fingerprint(train: Any, params: Mapping[str, Any], seed: int) -> str:
    """sha256 of the training triples (in a canonical order), settings, seed and code version."""
    import hashlib

    import pandas as pd

    ordered = train[["user_id", "item_id", "weight"]].sort_values(["user_id", "item_id"])
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(ordered, index=False).to_numpy().tobytes())
    digest.update(
        json.dumps({**params, "seed": seed, "code": CODE_VERSION}, sort_keys=True).encode()
    )
    return digest.hexdigest()


def log_recommender(
    model: RecommenderModel,
    *,
    fingerprint: str,
    metrics: Mapping[str, float],
    baseline_metrics: Mapping[str, float],
    card: Mapping[str, Any],
    tracking_uri: str,
    artifact_root: str | None,
    experiment: str,
    registered_name: str,
    tags: Mapping[str, str] | None = None,
) -> RegisteredModel:
    """Log and register ``model``, or return the version already registered with
    ``fingerprint``."""
    return register_training(
        tracking_uri=tracking_uri,
        artifact_root=artifact_root,
        experiment=experiment,
        registered_name=registered_name,
        fingerprint=fingerprint,
        tags=tags,
        model_type="recommender",
        model_params={key: str(value) for key, value in model.params.as_dict().items()},
        log_run=lambda client, run_id: _log_run_data(
            client, run_id, model, metrics, baseline_metrics, card
        ),
        save_model=lambda folder, _logged, _run_id: str(save_model(model, folder)),
    )


def load_recommender(tracking_uri: str, name: str, version: str | int) -> RecommenderModel:
    """One registered version's model."""
    from spotify_agent_assets.recommend.model_files import load_model

    with downloaded_version(tracking_uri, name, version) as local:
        return load_model(local)


def champion_version(tracking_uri: str, name: str) -> str | None:
    """The version holding the ``champion`` alias, or None."""
    from mlflow.exceptions import MlflowException

    client = client_for(tracking_uri)
    try:
        return str(client.get_model_version_by_alias(name, CHAMPION_ALIAS).version)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def decide_champion(
    *,
    tracking_uri: str,
    name: str,
    candidate: str,
    candidate_metrics: Mapping[str, float],
    score: Callable[[RecommenderModel], Mapping[str, float]],
) -> ChampionDecision:
    """Give ``candidate`` the ``champion`` alias if it beats the current champion, scored now by
    ``score`` on the same validation data as the candidate was."""
    client = client_for(tracking_uri)
    current = champion_version(tracking_uri, name)
    mine = dict(candidate_metrics)
    if current is None:
        client.set_registered_model_alias(name, CHAMPION_ALIAS, candidate)
        return ChampionDecision(True, candidate, None, mine, None, "first version: champion")
    if current == candidate:
        return ChampionDecision(
            False, current, current, mine, mine, "this version is already the champion"
        )
    theirs = dict(score(load_recommender(tracking_uri, name, current)))
    better = (mine["ndcg"], mine["recall"]) > (theirs["ndcg"], theirs["recall"])
    verdict = (
        f"NDCG@k {mine['ndcg']:.4f} vs champion v{current}'s {theirs['ndcg']:.4f}, recall@k "
        f"{mine['recall']:.4f} vs {theirs['recall']:.4f} on the same validation data"
    )
    if better:
        client.set_registered_model_alias(name, CHAMPION_ALIAS, candidate)
        return ChampionDecision(True, candidate, current, mine, theirs, "better: " + verdict)
    return ChampionDecision(False, current, current, mine, theirs, "not better: " + verdict)


def _log_run_data(
    client: MlflowClient,
    run_id: str,
    model: RecommenderModel,
    metrics: Mapping[str, float],
    baseline_metrics: Mapping[str, float],
    card: Mapping[str, Any],
) -> None:
    import pandas as pd
    from mlflow.entities import Metric, Param

    values = {**metrics, **{f"baseline_{k}": v for k, v in baseline_metrics.items()}}
    values |= {"users": float(model.n_users), "items": float(model.n_items)}
    params = {**model.params.as_dict(), "seed": model.seed, "device": model.device}
    timestamp = now_ms()
    client.log_batch(
        run_id,
        metrics=[Metric(key, float(value), timestamp, 0) for key, value in values.items()],
        params=[Param(key, str(value)) for key, value in params.items()],
    )
    client.log_dict(run_id, dict(card), CARD_ARTIFACT)
    client.log_text(run_id, _card_markdown(card), CARD_MARKDOWN)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, EMBEDDINGS_ARTIFACT)
        pd.DataFrame(
            {"item_id": model.items, "vector": list(model.item_vectors.astype(float))}
        ).to_parquet(path, index=False)
        client.log_artifact(run_id, path)


def _card_markdown(card: Mapping[str, Any]) -> str:
    lines = ["# Recommender model card", ""]
    for key, value in card.items():
        shown = (
            json.dumps(value, indent=2, default=str) if isinstance(value, dict | list) else value
        )
        lines.append(f"- **{key}**: {shown}")
    return "\n".join(lines) + "\n"
