"""Recommendations from implicit listening feedback, as a library that needs no Dagster.

    from spotify_agent_assets.recommend import train_recommender, evaluate_recommender
    model = train_recommender(interactions, seed=0, params=None)
    model.recommend(user_ids, n=10, exclude_seen=True)
    model.similar_items(item_ids, n=10)
    evaluate_recommender(model, train, holdout, k=10)

The model is weighted matrix factorisation by alternating least squares, written in torch
(``als``); ``training`` turns any weights into confidences, ``model`` serves, ``evaluation``
scores, ``fold_in`` updates listeners without retraining.
"""

import os

# torch's OpenMP threads spin while they wait for work by default. When the cores are shared
# (parallel Dagster steps, a busy host) the spinning threads starve the working ones: measured
# on 2 shared cores, one ALS half-step took 1,319 ms spinning against 10 ms sleeping. The
# setting is read when torch loads, so it is set here, before any of this package imports it;
# a value already in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from spotify_agent_assets.recommend.evaluation import evaluate_recommender
from spotify_agent_assets.recommend.interactions import InteractionsError
from spotify_agent_assets.recommend.model import RecommenderModel
from spotify_agent_assets.recommend.params import DEFAULT_PARAMS, RecommenderParams
from spotify_agent_assets.recommend.training import fold_in, train_recommender

__all__ = [
    "DEFAULT_PARAMS",
    "InteractionsError",
    "RecommenderModel",
    "RecommenderParams",
    "evaluate_recommender",
    "fold_in",
    "train_recommender",
]
