"""Vectors for tracks nobody has played yet, from their audio features.

A ridge regression from standardised audio features to the item vectors of the tracks that
have both learns where a sound sits in the taste space; a new track's vector is its
prediction. The tracks then have neighbours (``similar_items``) before their first play.
Features missing for a track count as the feature's mean (after standardising, 0).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from spotify_agent_assets.recommend.model import RecommenderModel

# Tracks with both vectors and features needed to fit the map; fewer and it is not attempted.
MIN_TRAINING_TRACKS = 20
RIDGE_ALPHA = 1.0


def with_content_vectors(
    model: RecommenderModel, features: pd.DataFrame
) -> tuple[RecommenderModel, list[object]]:
    """``model`` with the tracks of ``features`` (item_id plus numeric columns) that it has no
    vector for appended, their vectors predicted from the features; and those tracks' ids.
    Unchanged (and no ids) when fewer than ``MIN_TRAINING_TRACKS`` known tracks have features."""
    import numpy as np

    numeric = features.drop(columns=["item_id"]).select_dtypes("number")
    ids = features["item_id"].to_numpy(dtype=object)
    positions = model.item_positions(ids)
    known = positions >= 0
    new = ~known & ~features["item_id"].duplicated().to_numpy()
    if known.sum() < MIN_TRAINING_TRACKS or not new.any() or numeric.shape[1] == 0:
        return model, []
    matrix = numeric.to_numpy(dtype=np.float64)
    mean = np.nanmean(matrix[known], axis=0)
    scale = np.nanstd(matrix[known], axis=0)
    scale[~(scale > 0)] = 1.0
    standard = np.nan_to_num((matrix - np.nan_to_num(mean)) / scale)
    x, y = standard[known], model.item_vectors[positions[known]].astype(np.float64)
    # Closed-form ridge: (X'X + alpha I) W = X'Y.
    weights = np.linalg.solve(x.T @ x + RIDGE_ALPHA * np.eye(x.shape[1]), x.T @ y)
    predicted = (standard[new] @ weights).astype(np.float32)
    added = ids[new]
    extended = replace(
        model,
        items=np.concatenate([model.items, added]),
        item_vectors=np.vstack([model.item_vectors, predicted]),
        popularity=np.concatenate([model.popularity, np.zeros(len(added), dtype=np.int64)]),
        _item_lookup=None,
    )
    return extended, added.tolist()
