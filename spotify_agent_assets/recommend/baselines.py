"""Baselines a trained model must beat: the same list of most played tracks for everyone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spotify_agent_assets.recommend.interactions import interactions_from_frame
from spotify_agent_assets.recommend.model import RecommenderModel
from spotify_agent_assets.recommend.params import DEFAULT_PARAMS

if TYPE_CHECKING:
    import pandas as pd


def popularity_baseline(interactions: pd.DataFrame) -> RecommenderModel:
    """A model that knows no listener, so ``recommend`` gives everyone the tracks played by
    the most listeners (minus, in evaluation, what they already played), and that has no
    item vectors to find neighbours with (``similar_items`` is not meaningful on it)."""
    import numpy as np

    data = interactions_from_frame(interactions, name="interactions")
    empty = np.zeros(0, dtype=np.int64)
    return RecommenderModel(
        params=DEFAULT_PARAMS,
        seed=0,
        users=data.users[:0],
        items=data.items,
        user_vectors=np.zeros((0, 1), dtype=np.float32),
        item_vectors=np.zeros((data.n_items, 1), dtype=np.float32),
        seen_pointers=np.zeros(1, dtype=np.int64),
        seen_items=empty,
        seen_weights=np.zeros(0),
        weight_scale=1.0,
        popularity=np.bincount(data.item_index, minlength=data.n_items).astype(np.int64),
    )
