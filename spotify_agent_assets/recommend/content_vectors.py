"""Vectors for tracks nobody has played yet, from their audio features and their artists'
genres.

A ridge regression from standardised content features (audio descriptors, and per genre the
share of the track's artists tagged with it) to the item vectors of the tracks that have both
learns where a sound and a scene sit in the taste space; a new track's vector is its
prediction. The tracks then have neighbours (``similar_items``) before their first play.
Features missing for a track count as the feature's mean (after standardising, 0), so a track
with genres but no audio yet, or audio but no genres, still gets a vector.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def genre_features(
    track_artists: Mapping[str, Sequence[str]], artist_genres: Mapping[str, Sequence[str]]
) -> pd.DataFrame:
    """One row per track: item_id and, per genre any of the artists has, ``genre:<name>`` =
    the share of the track's artists tagged with it (0 to 1)."""
    import pandas as pd

    rows = []
    for track, artists in track_artists.items():
        shares: dict[str, float] = {}
        for artist in artists:
            for genre in artist_genres.get(artist) or ():
                shares[f"genre:{genre}"] = shares.get(f"genre:{genre}", 0.0) + 1 / len(artists)
        rows.append({"item_id": track, **shares})
    frame = pd.DataFrame(rows)
    genres = sorted(c for c in frame.columns if c != "item_id")
    return frame[["item_id", *genres]].fillna(0.0) if len(frame) else frame
