"""``evaluate_recommender``: ranking quality of a model's top-k lists on held-out interactions.

For every held-out user with at least one held-out item, the model's top ``k`` (training items
left out) are compared with the held-out items, each counted once:

- ``recall``: hits / held-out items (the share of what the user went on to play that was found);
- ``precision``: hits / k;
- ``ndcg``: discounted gain of the hits (1 / log2(rank + 1)) over the best possible gain for
  min(held-out items, k) hits;
- ``coverage``: distinct items recommended to anyone / items in the catalogue;
- ``popularity_bias``: the mean popularity percentile of the recommended items among the
  catalogue's items by their listeners in train (1.0 = always the single most played item, about 0.5 = no lean either way).

The first three are means over users. Held-out users the model has no history for get its
popularity fallback, as they would in service, and count like everyone else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spotify_agent_assets.recommend.interactions import interactions_from_frame

if TYPE_CHECKING:
    import pandas as pd

    from spotify_agent_assets.recommend.model import RecommenderModel

METRICS = ("recall", "ndcg", "precision", "coverage", "popularity_bias")


def evaluate_recommender(
    model: RecommenderModel, train: pd.DataFrame, holdout: pd.DataFrame, k: int = 10
) -> dict[str, float]:
    """Recall, NDCG, precision at ``k``, coverage and popularity bias (see the module).

    ``train`` (user_id, item_id, weight) is what the users are known to have played: those
    items are never counted as found. ``holdout`` (user_id, item_id; a weight column is
    ignored) is what they played afterwards. Held-out items the model has never seen stay in
    the denominators: a model that cannot recommend them is scored for it.
    """
    import numpy as np
    import pandas as pd

    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a whole number >= 1, got {k!r}")
    interactions_from_frame(train, name="train")  # checked whole, before any filtering
    held = interactions_from_frame(holdout, name="holdout", weighted=False)
    known = pd.Index(model.items)
    train_known = train.loc[known.get_indexer(train["item_id"]) >= 0]
    exclude = interactions_from_frame(train_known, name="train", items=model.items)
    # Held-out pairs already in train are not new evidence.
    pairs = pd.DataFrame(
        {"user_id": held.users[held.user_index], "item_id": held.items[held.item_index]}
    )
    seen = train[["user_id", "item_id"]].drop_duplicates().assign(_seen=True)
    pairs = pairs.merge(seen, on=["user_id", "item_id"], how="left")
    relevant = pairs[pairs["_seen"].isna()][["user_id", "item_id"]]
    if relevant.empty:
        raise ValueError("holdout: no (user, item) pair that is not already in train")
    truth = relevant["user_id"].value_counts(sort=False)
    users = truth.index.to_numpy()
    recs = model.recommend_excluding(users, n=k, exclude_seen=False, also_exclude=exclude)
    hits = recs.merge(relevant.assign(_hit=True), on=["user_id", "item_id"], how="inner")
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    per_user_hits = hits.groupby("user_id", sort=False).size().reindex(users, fill_value=0)
    gain = (
        pd.Series(discounts[hits["rank"].to_numpy() - 1], index=hits["user_id"].to_numpy())
        .groupby(level=0, sort=False)
        .sum()
        .reindex(users, fill_value=0.0)
    )
    ideal = np.cumsum(discounts)[np.minimum(truth.to_numpy(), k) - 1]
    return {
        "recall": float((per_user_hits.to_numpy() / truth.to_numpy()).mean()),
        "ndcg": float((gain.to_numpy() / ideal).mean()),
        "precision": float(per_user_hits.to_numpy().mean() / k),
        "coverage": recs["item_id"].nunique() / max(model.n_items, 1),
        "popularity_bias": _popularity_percentile(exclude, recs["item_id"]),
    }


def _popularity_percentile(train: Any, recommended: pd.Series) -> float:
    """Mean percentile of the recommended items' listener counts in ``train`` among all the
    catalogue's items (``train`` coded against the model's items, unplayed ones counting 0)."""
    import numpy as np
    import pandas as pd

    if len(recommended) == 0:
        return 0.0
    counts = pd.Series(np.bincount(train.item_index, minlength=train.n_items), index=train.items)
    percentile = counts.rank(pct=True, method="average")
    return float(recommended.map(percentile).fillna(0.0).mean())
