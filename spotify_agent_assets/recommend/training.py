"""``train_recommender`` and ``fold_in``: interactions in, a ``RecommenderModel`` out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spotify_agent_assets.recommend.interactions import (
    Interactions,
    interactions_from_frame,
    summed_pairs,
)
from spotify_agent_assets.recommend.model import RecommenderModel
from spotify_agent_assets.recommend.params import RecommenderParams, resolve_params

if TYPE_CHECKING:
    import pandas as pd

# Conjugate-gradient steps when folding users in against fixed item vectors: they start from
# scratch (or from a vector that no longer fits), so they get more steps than a warm sweep.
FOLD_IN_STEPS = 12


def pick_device(device: str | None = None) -> str:
    """``device`` if given, else the GPU when torch sees one, else the CPU."""
    import torch

    if device is not None:
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def weight_scale(weight: Any) -> float:
    """The weights' median: confidences are relative to it."""
    import numpy as np

    return float(np.median(weight)) if len(weight) else 1.0


def confidence(weight: Any, alpha: float, scale: float) -> Any:
    """Confidence above 1 for played cells: ``alpha * log1p(weight / scale)``, ``scale`` being
    the training weights' median (``weight_scale``).

    Dividing by the median makes the scale of the caller's numbers irrelevant (counts, 1.0
    per positive and normalised weights all give a typical cell ``alpha * log 2``); the
    logarithm keeps a favourite with thousands of plays from drowning everything else.
    """
    import numpy as np

    weight = np.asarray(weight, dtype=np.float64)
    return (alpha * np.log1p(weight / scale)).astype(np.float32)


def train_recommender(
    interactions: pd.DataFrame,
    seed: int = 0,
    params: RecommenderParams | dict[str, Any] | None = None,
    *,
    device: str | None = None,
) -> RecommenderModel:
    """Train on ``interactions`` (a DataFrame of user_id, item_id, weight; any hashable ids).

    Deterministic for a ``seed`` on a given device. ``params`` None means the defaults
    (``params.DEFAULT_PARAMS``); a dict overrides some of them. Runs on the GPU when torch
    sees one, unless ``device`` says otherwise.
    """
    import torch

    settings = resolve_params(params)
    data = interactions_from_frame(interactions, name="interactions")
    if data.nnz == 0:
        raise ValueError("interactions: no row with a weight above 0; nothing to learn from")
    chosen = pick_device(device)
    from spotify_agent_assets.recommend import als

    pointers, columns, weight = data.csr()
    scale = weight_scale(weight)
    users = als.sparse_rows(
        pointers, columns, confidence(weight, settings.alpha, scale), data.shape, chosen
    )
    with torch.no_grad():
        user_vectors, item_vectors = als.fit(
            users,
            factors=settings.factors,
            reg=settings.reg,
            iterations=settings.iterations,
            cg_steps=settings.cg_steps,
            seed=seed,
            device=chosen,
        )
    return RecommenderModel(
        params=settings,
        seed=seed,
        users=data.users,
        items=data.items,
        user_vectors=user_vectors.cpu().numpy(),
        item_vectors=item_vectors.cpu().numpy(),
        seen_pointers=pointers,
        seen_items=columns,
        seen_weights=weight,
        weight_scale=scale,
        popularity=_popularity(data),
        device=chosen,
    )


def fold_in(
    model: RecommenderModel, interactions: pd.DataFrame, *, replace: bool = False
) -> RecommenderModel:
    """``model`` with the users of ``interactions`` (new ones included) given vectors from
    their interactions against the model's fixed item vectors: no retraining.

    By default ``interactions`` are new events, added to what the model knew of those users
    (a new day's plays). With ``replace`` they are the users' whole history now (current
    weights, which already count the old plays) and take the place of the old. Items the
    model does not know are an error (they need a retraining, or vectors from their audio
    features)."""
    import numpy as np
    import pandas as pd
    import torch

    from spotify_agent_assets.recommend import als

    new = interactions_from_frame(interactions, name="new interactions", items=model.items)
    # Known users keep their history; new users are appended.
    all_users = pd.Index(model.users).append(pd.Index(new.users)).unique()
    users = np.asarray(all_users, dtype=object)
    new_rows = all_users.get_indexer(new.users)[new.user_index]
    touched = np.unique(new_rows)
    old_user = np.repeat(np.arange(model.n_users), np.diff(model.seen_pointers))
    kept = ~np.isin(old_user, touched) if replace else np.ones(len(old_user), dtype=bool)
    merged = summed_pairs(
        users,
        model.items,
        np.concatenate([old_user[kept], new_rows]),
        np.concatenate([model.seen_items[kept], new.item_index]),
        np.concatenate([model.seen_weights[kept], new.weight]),
    )
    pointers, columns, weight = merged.csr()
    rows = _rows_of(pointers, columns, weight, touched)
    device = pick_device(None) if model.device != "cpu" else "cpu"
    fixed = torch.from_numpy(model.item_vectors).to(device)
    extra = confidence(rows[2], model.params.alpha, model.weight_scale)
    cells = als.sparse_rows(rows[0], rows[1], extra, (len(touched), model.n_items), device)
    start = torch.zeros(len(touched), model.params.factors, device=device)
    with torch.no_grad():
        solved = als.solve_rows(cells, fixed, start, model.params.reg, FOLD_IN_STEPS).cpu().numpy()
    vectors = np.zeros((len(users), model.params.factors), dtype=np.float32)
    vectors[: model.n_users] = model.user_vectors
    vectors[touched] = solved
    return model.with_users(users, vectors, merged)


def _popularity(data: Interactions) -> Any:
    import numpy as np

    return np.bincount(data.item_index, minlength=data.n_items).astype(np.int64)


def _rows_of(pointers: Any, columns: Any, weight: Any, rows: Any) -> tuple[Any, Any, Any]:
    """The CSR of only ``rows`` (ascending) of a CSR matrix."""
    import numpy as np

    counts = pointers[rows + 1] - pointers[rows]
    sub_pointers = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(counts, out=sub_pointers[1:])
    # Each selected row's cells: its start repeated over its length, plus 0, 1, 2, ...
    starts = np.repeat(pointers[rows], counts)
    cells = starts + np.arange(len(starts)) - np.repeat(sub_pointers[:-1], counts)
    return sub_pointers, columns[cells], weight[cells]
