"""Recommender models through a real MLflow store: files, versions, fingerprints, champion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spotify_agent_assets.recommend import evaluate_recommender, train_recommender
from spotify_agent_assets.recommend.model_files import load_model, save_model
from spotify_agent_assets.recommend.registry import (
    champion_version,
    decide_champion,
    load_recommender,
    log_recommender,
    training_fingerprint,
)

pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy:DeprecationWarning")

NAME = "recommender"


def _register(uri: str, root: Path, model, train: pd.DataFrame, metrics: dict, params: dict):
    return log_recommender(
        model,
        fingerprint=training_fingerprint(train, params, model.seed),
        metrics=metrics,
        baseline_metrics={"ndcg": 0.01, "recall": 0.01},
        card={"as_of": "2026-10-31", "training_rows": len(train)},
        tracking_uri=uri,
        artifact_root=str(root),
        experiment="recommender",
        registered_name=NAME,
    )


def test_model_files_round_trip_without_pickle(tmp_path: Path, small_split) -> None:
    model = train_recommender(small_split[0], params={"iterations": 3})
    loaded = load_model(save_model(model, tmp_path / "m"))
    np.testing.assert_array_equal(loaded.item_vectors, model.item_vectors)
    users = list(model.users[:5])
    pd.testing.assert_frame_equal(loaded.recommend(users), model.recommend(users))


def test_only_a_better_model_becomes_champion(tmp_path: Path, small_split) -> None:
    train, validation = small_split
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"

    def score(model):
        return evaluate_recommender(model, train, validation)

    good_params = {"iterations": 6}
    good = train_recommender(train, params=good_params)
    first = _register(uri, tmp_path / "art", good, train, score(good), good_params)
    decision = decide_champion(
        tracking_uri=uri,
        name=NAME,
        candidate=first.version,
        candidate_metrics=score(good),
        score=score,
    )
    assert decision.promoted and decision.champion == first.version

    # The same training again: the same version, nothing new, and it stays champion.
    again = _register(uri, tmp_path / "art", good, train, score(good), good_params)
    assert again.reused and again.version == first.version

    worse_params = {"factors": 1, "iterations": 1}
    worse = train_recommender(train, params=worse_params)
    second = _register(uri, tmp_path / "art", worse, train, score(worse), worse_params)
    assert not second.reused and second.version != first.version
    decision = decide_champion(
        tracking_uri=uri,
        name=NAME,
        candidate=second.version,
        candidate_metrics=score(worse),
        score=score,
    )
    assert not decision.promoted
    assert decision.champion == first.version == champion_version(uri, NAME)
    assert "not better" in decision.reason
    assert decision.champion_metrics == pytest.approx(score(good))

    loaded = load_recommender(uri, NAME, first.version)
    users = list(good.users[:5])
    pd.testing.assert_frame_equal(loaded.recommend(users), good.recommend(users))
