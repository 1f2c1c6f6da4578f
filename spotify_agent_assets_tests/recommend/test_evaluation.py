"""evaluate_recommender against figures worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from spotify_agent_assets.recommend import evaluate_recommender
from spotify_agent_assets.recommend.model import RecommenderModel
from spotify_agent_assets.recommend.params import DEFAULT_PARAMS


def _model() -> RecommenderModel:
    """Two users, five items on a line: user u1 prefers a > b > c > d > e, u2 the reverse.
    u1 played a; u2 played e."""
    items = np.array(["a", "b", "c", "d", "e"], dtype=object)
    item_vectors = np.array([[5.0], [4.0], [3.0], [2.0], [1.0]], dtype=np.float32)
    return RecommenderModel(
        params=DEFAULT_PARAMS,
        seed=0,
        users=np.array(["u1", "u2"], dtype=object),
        items=items,
        user_vectors=np.array([[1.0], [-1.0]], dtype=np.float32),
        item_vectors=item_vectors,
        seen_pointers=np.array([0, 1, 2]),
        seen_items=np.array([0, 4]),
        seen_weights=np.array([1.0, 1.0]),
        weight_scale=1.0,
        popularity=np.array([1, 0, 0, 0, 1]),
    )


TRAIN = pd.DataFrame({"user_id": ["u1", "u2"], "item_id": ["a", "e"], "weight": [1.0, 1.0]})


def test_metrics_match_a_worked_example() -> None:
    model = _model()
    # u1's top 2 (a excluded): b, c. Held out: c and e -> one hit at rank 2.
    # u2's top 2 (e excluded): d, c. Held out: d and a (a pair also in train is ignored for u1,
    # but u2 never played a) -> one hit at rank 1.
    holdout = pd.DataFrame(
        {"user_id": ["u1", "u1", "u1", "u2", "u2"], "item_id": ["c", "e", "a", "d", "a"]}
    )
    got = evaluate_recommender(model, TRAIN, holdout, k=2)
    ideal = 1 + 1 / math.log2(3)
    assert got["recall"] == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert got["precision"] == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert got["ndcg"] == pytest.approx(((1 / math.log2(3)) / ideal + 1 / ideal) / 2)
    assert got["coverage"] == pytest.approx(3 / 5)  # b, c, d
    # Train listeners a=1, e=1, b=c=d=0: b, c and d share ranks 1..3 of 5, so each sits at
    # the average rank 2, the 0.4 percentile.
    assert got["popularity_bias"] == pytest.approx(0.4)


def test_a_perfect_list_scores_one_and_an_unrelated_one_zero() -> None:
    model = _model()
    perfect = pd.DataFrame({"user_id": ["u1", "u1"], "item_id": ["b", "c"]})
    assert evaluate_recommender(model, TRAIN, perfect, k=2)["ndcg"] == pytest.approx(1.0)
    assert evaluate_recommender(model, TRAIN, perfect, k=2)["recall"] == pytest.approx(1.0)
    unrelated = pd.DataFrame({"user_id": ["u1"], "item_id": ["e"]})
    assert evaluate_recommender(model, TRAIN, unrelated, k=2)["recall"] == 0.0


def test_held_out_items_the_model_never_saw_still_count_against_it() -> None:
    holdout = pd.DataFrame({"user_id": ["u1", "u1"], "item_id": ["b", "brand-new"]})
    got = evaluate_recommender(_model(), TRAIN, holdout, k=1)
    assert got["recall"] == pytest.approx(0.5)


def test_a_holdout_with_nothing_new_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"no .* pair that is not already in train"):
        evaluate_recommender(_model(), TRAIN, TRAIN[["user_id", "item_id"]], k=2)
    with pytest.raises(ValueError, match="k must be"):
        evaluate_recommender(_model(), TRAIN, TRAIN, k=0)
