"""A trained recommender: user and item vectors, what each user has played, and serving.

Plain numpy arrays and id lists, so a model pickles, logs to MLflow and loads without torch
state; torch is used for the scoring arithmetic only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from spotify_agent_assets.recommend.params import RecommenderParams

if TYPE_CHECKING:
    import pandas as pd

    from spotify_agent_assets.recommend.interactions import Interactions

# Users scored at once: bounds the users-by-items score block to about 256 MB.
SCORE_BLOCK_CELLS = 1 << 26
RECOMMEND_COLUMNS = ["user_id", "item_id", "score", "rank"]
SIMILAR_COLUMNS = ["item_id", "similar_item_id", "score", "rank"]


@dataclass(frozen=True)
class RecommenderModel:
    """Trained weighted matrix factorisation (``als``).

    ``users`` / ``items`` are the ids (numpy object arrays) whose positions index
    ``user_vectors`` / ``item_vectors`` (float32). ``seen_pointers``, ``seen_items`` and ``seen_weights``
    list, by user, the items of their training interactions and their weights (CSR);
    ``weight_scale`` is the training weights' median, which confidences are relative to.
    ``popularity`` counts each item's users: listeners the model has no history for get the
    most popular items.
    """

    params: RecommenderParams
    seed: int
    users: Any
    items: Any
    user_vectors: Any
    item_vectors: Any
    seen_pointers: Any
    seen_items: Any
    seen_weights: Any
    weight_scale: float
    popularity: Any
    device: str = "cpu"
    _user_lookup: Any = field(default=None, repr=False, compare=False)
    _item_lookup: Any = field(default=None, repr=False, compare=False)

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    def user_positions(self, user_ids: Any) -> Any:
        """Each id's position in ``users``, -1 where the model does not know it."""
        return self._lookup("_user_lookup", self.users).get_indexer(list(user_ids))

    def item_positions(self, item_ids: Any) -> Any:
        return self._lookup("_item_lookup", self.items).get_indexer(list(item_ids))

    def recommend(self, user_ids: Any, n: int = 10, exclude_seen: bool = True) -> pd.DataFrame:
        """The top ``n`` items for each of ``user_ids`` (in the order given, repeats once):
        columns user_id, item_id, score, rank (1 = best).

        ``score`` is the predicted preference ``x_u . y_i``. A user the model has no history
        for gets the most played items, scored by their share of users. ``exclude_seen``
        leaves out the items the user played in training. Fewer than ``n`` rows come back
        for a user only when fewer items are left to recommend.
        """
        return self.recommend_excluding(user_ids, n=n, exclude_seen=exclude_seen)

    def recommend_excluding(
        self,
        user_ids: Any,
        n: int = 10,
        exclude_seen: bool = True,
        also_exclude: Interactions | None = None,
        exclude_items: Any = None,
    ) -> pd.DataFrame:
        """``recommend``, also leaving out each user's items in ``also_exclude`` (its items
        coded against this model's items, e.g. the training rows an evaluation was given) and
        ``exclude_items`` (ids) for everyone (explicit tracks, say)."""
        import numpy as np
        import pandas as pd

        _check_n(n)
        wanted = np.asarray(pd.unique(pd.Series(list(user_ids), dtype=object)), dtype=object)
        positions = self.user_positions(wanted)
        known = positions >= 0
        has_history = np.zeros(len(wanted), dtype=bool)
        has_history[known] = np.diff(self.seen_pointers)[positions[known]] > 0
        hidden = _Hidden(
            self.seen_pointers if exclude_seen else None,
            self.seen_items,
            positions,
            also_exclude,
            wanted,
            self._excluded_positions(exclude_items),
        )
        frames = []
        scored = np.flatnonzero(has_history)
        if len(scored):
            frames.append(self._ranked(wanted, positions, scored, n, hidden))
        cold = np.flatnonzero(~has_history)
        if len(cold):
            frames.append(self._popular(wanted, cold, n, hidden))
        if not frames:
            return _empty(RECOMMEND_COLUMNS)
        out = pd.concat(frames, ignore_index=True)
        order = out.pop("_order").to_numpy()
        out = out.iloc[np.lexsort((out["rank"].to_numpy(), order))].reset_index(drop=True)
        return out[RECOMMEND_COLUMNS]

    def similar_items(self, item_ids: Any, n: int = 10) -> pd.DataFrame:
        """The ``n`` items whose vectors point most nearly the same way as each of
        ``item_ids`` (cosine similarity), the item itself left out: columns item_id,
        similar_item_id, score, rank. Unknown ids are an error naming them."""
        import numpy as np
        import pandas as pd

        _check_n(n)
        wanted = pd.unique(pd.Series(list(item_ids), dtype=object))
        positions = self.item_positions(wanted)
        if (positions < 0).any():
            unknown = ", ".join(map(repr, wanted[positions < 0][:5]))
            raise KeyError(f"similar_items: the model has no vector for item(s) {unknown}")
        return nearest_neighbours(self.items, self.item_vectors, positions.astype(np.int64), n)

    def with_users(self, users: Any, user_vectors: Any, seen: Interactions) -> RecommenderModel:
        """This model with ``users`` (ids) now having ``user_vectors`` and played ``seen``."""
        return replace(
            self,
            users=users,
            user_vectors=user_vectors,
            seen_pointers=seen.csr()[0],
            seen_items=seen.item_index,
            seen_weights=seen.weight,
            _user_lookup=None,
        )

    def _excluded_positions(self, item_ids: Any) -> Any:
        import numpy as np

        if item_ids is None:
            return np.zeros(0, dtype=np.int64)
        positions = self.item_positions(item_ids)
        return positions[positions >= 0].astype(np.int64)

    def _lookup(self, name: str, ids: Any) -> Any:
        import pandas as pd

        cached = getattr(self, name)
        if cached is None:
            cached = pd.Index(ids)
            object.__setattr__(self, name, cached)
        return cached

    def _ranked(
        self, wanted: Any, positions: Any, rows: Any, n: int, hidden: _Hidden
    ) -> pd.DataFrame:
        """Top ``n`` by predicted preference for ``wanted[rows]`` (users with history)."""
        import torch

        items = torch.from_numpy(self.item_vectors)
        take = min(n, self.n_items)
        parts = []
        for block in _blocks(len(rows), self.n_items):
            chosen = rows[block]
            scores = torch.from_numpy(self.user_vectors[positions[chosen]]) @ items.T
            at_row, at_item = hidden.cells(chosen)
            scores[torch.from_numpy(at_row), torch.from_numpy(at_item)] = -torch.inf
            top = torch.topk(scores, take, dim=1)
            parts.append(self._frame(wanted, chosen, top.values.numpy(), top.indices.numpy()))
        return _concat(parts)

    def _popular(self, wanted: Any, rows: Any, n: int, hidden: _Hidden) -> pd.DataFrame:
        """The most played items for ``wanted[rows]`` (users without history), scored by
        their share of users; ties in catalogue order, so the list is the same every time."""
        import numpy as np

        order = np.lexsort((np.arange(self.n_items), -self.popularity))
        share = (self.popularity / max(self.n_users, 1)).astype(np.float32)
        # Enough candidates for anyone's exclusions, then the same gather as ``_ranked``.
        depth = min(self.n_items, n + hidden.most_per_user(rows))
        take = min(n, self.n_items)
        parts = []
        for block in _blocks(len(rows), depth):
            chosen = rows[block]
            candidates = np.tile(order[:depth], (len(chosen), 1))
            values = np.tile(share[order[:depth]], (len(chosen), 1))
            at_row, at_item = hidden.cells(chosen)
            if len(at_row):
                rank_of = np.empty(self.n_items, dtype=np.int64)
                rank_of[order] = np.arange(self.n_items)
                in_depth = rank_of[at_item] < depth
                values[at_row[in_depth], rank_of[at_item[in_depth]]] = -np.inf
            # A stable sort keeps popularity order among the items left.
            keep = np.argsort(-values, axis=1, kind="stable")[:, :take]
            parts.append(
                self._frame(
                    wanted,
                    chosen,
                    np.take_along_axis(values, keep, 1),
                    np.take_along_axis(candidates, keep, 1),
                )
            )
        return _concat(parts)

    def _frame(self, wanted: Any, chosen: Any, values: Any, indices: Any) -> pd.DataFrame:
        """Rows for users ``wanted[chosen]`` from their top lists; hidden (-inf) entries dropped."""
        import numpy as np
        import pandas as pd

        usable = np.isfinite(values)
        counts = usable.sum(1)
        ranks = np.cumsum(usable, axis=1)[usable]
        return pd.DataFrame(
            {
                "user_id": np.repeat(wanted[chosen], counts),
                "item_id": self.items[indices[usable]],
                "score": values[usable].astype(np.float64),
                "rank": ranks.astype(np.int64),
                "_order": np.repeat(chosen, counts),
            }
        )


class _Hidden:
    """Which items to leave out for each wanted user: their training items (when excluding
    seen ones), their items in an extra ``Interactions`` and items hidden from everyone, as
    (row, item) cells."""

    def __init__(
        self,
        seen_pointers: Any,
        seen_items: Any,
        positions: Any,
        extra: Interactions | None,
        wanted: Any,
        everyone: Any,
    ) -> None:
        import pandas as pd

        self._everyone = everyone
        self._seen = (seen_pointers, seen_items, positions) if seen_pointers is not None else None
        self._extra = None
        if extra is not None and extra.nnz:
            pointers, items, _ = extra.csr()
            self._extra = (pointers, items, pd.Index(extra.users).get_indexer(wanted))

    def cells(self, rows: Any) -> tuple[Any, Any]:
        """(position in ``rows``, item) of every hidden item of the users at ``rows``."""
        import numpy as np

        at_row, at_item = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for source in (self._seen, self._extra):
            if source is None:
                continue
            pointers, items, where = source
            users = where[rows]
            present = users >= 0
            local = np.flatnonzero(present)
            cells = _cells_of(pointers, users[present])
            counts = pointers[users[present] + 1] - pointers[users[present]]
            at_row.append(np.repeat(local, counts))
            at_item.append(items[cells])
        if len(self._everyone):
            at_row.append(np.repeat(np.arange(len(rows)), len(self._everyone)))
            at_item.append(np.tile(self._everyone, len(rows)))
        return np.concatenate(at_row), np.concatenate(at_item)

    def most_per_user(self, rows: Any) -> int:
        """The most items hidden for any one of the users at ``rows``."""
        import numpy as np

        at_row, _ = self.cells(rows)
        return int(np.bincount(at_row).max()) if len(at_row) else 0


def _cells_of(pointers: Any, rows: Any) -> Any:
    """Positions of the cells of ``rows`` in a CSR matrix, row after row."""
    import numpy as np

    counts = pointers[rows + 1] - pointers[rows]
    starts = np.repeat(pointers[rows], counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return starts + offsets


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    import pandas as pd

    return pd.concat(parts, ignore_index=True)


def nearest_neighbours(ids: Any, vectors: Any, queries: Any, n: int) -> pd.DataFrame:
    """For each row position in ``queries``, the ``n`` rows of ``vectors`` with the highest
    cosine similarity, itself left out (exact search, in blocks): item_id, similar_item_id,
    score, rank."""
    import numpy as np
    import pandas as pd
    import torch

    ids = np.asarray(ids, dtype=object)
    matrix = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
    unit = matrix / matrix.norm(dim=1, keepdim=True).clamp_min(1e-12)
    take = min(n, len(ids) - 1)
    rows = []
    for block in _blocks(len(queries), len(ids)):
        chosen = torch.from_numpy(np.asarray(queries[block], dtype=np.int64))
        if take <= 0 or len(chosen) == 0:
            continue
        scores = unit[chosen] @ unit.T
        scores[torch.arange(len(chosen)), chosen] = -torch.inf
        top = torch.topk(scores, take, dim=1)
        rows.append(
            pd.DataFrame(
                {
                    "item_id": np.repeat(ids[queries[block]], take),
                    "similar_item_id": ids[top.indices.numpy().ravel()],
                    "score": top.values.numpy().ravel().astype(np.float64),
                    "rank": np.tile(np.arange(1, take + 1), len(chosen)),
                }
            )
        )
    return pd.concat(rows, ignore_index=True) if rows else _empty(SIMILAR_COLUMNS)


def _check_n(n: int) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a whole number >= 1, got {n!r}")


def _blocks(count: int, width: int) -> list[slice]:
    size = max(1, SCORE_BLOCK_CELLS // max(width, 1))
    return [slice(start, min(start + size, count)) for start in range(0, count, size)]


def _empty(columns: list[str]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({name: [] for name in columns})
