"""Why a track was recommended: the listener's own track it is most like.

For every recommendation of a listener with history, the track they played whose item vector
points most nearly the same way as the recommended one (cosine similarity), with that
similarity: "because you played ...". Listeners served from the popularity list get none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from spotify_agent_assets.recommend.model import RecommenderModel


def explain(model: RecommenderModel, recommendations: pd.DataFrame) -> pd.DataFrame:
    """``recommendations`` (``model.recommend`` output) with ``because_item_id`` and
    ``because_similarity`` (null where the listener has no history in the model)."""
    import numpy as np
    import pandas as pd

    out = recommendations.reset_index(drop=True).copy()
    because = np.full(len(out), None, dtype=object)
    similarity = np.full(len(out), np.nan)
    if len(out):
        vectors = model.item_vectors
        unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        user_rows = model.user_positions(out["user_id"])
        item_rows = model.item_positions(out["item_id"])
        for user in np.unique(user_rows[user_rows >= 0]):
            seen = model.seen_items[model.seen_pointers[user] : model.seen_pointers[user + 1]]
            mine = np.flatnonzero((user_rows == user) & (item_rows >= 0))
            if len(seen) == 0 or len(mine) == 0:
                continue
            scores = unit[item_rows[mine]] @ unit[seen].T
            best = scores.argmax(axis=1)
            because[mine] = model.items[seen[best]]
            similarity[mine] = scores[np.arange(len(mine)), best]
    out["because_item_id"] = pd.Series(because, dtype=object)
    out["because_similarity"] = similarity
    return out
