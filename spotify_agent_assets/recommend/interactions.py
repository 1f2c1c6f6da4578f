"""Implicit-feedback input: a frame of (user, item, weight) rows as integer-indexed arrays.

Callers bring whatever they have: raw play counts with a heavy tail, 1.0 for every positive,
or ``interaction_matrix`` weights. Ids may be any hashable values; rows repeating a (user,
item) pair are summed, as an event log listed play by play would be. Rows with weight 0 are
dropped (no evidence); a negative, missing or non-finite weight, a missing id or a missing
column is an error that names the frame and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

REQUIRED_COLUMNS = ("user_id", "item_id", "weight")


class InteractionsError(ValueError):
    """An interactions frame that is not (user_id, item_id, weight) with usable values."""


@dataclass(frozen=True)
class Interactions:
    """Distinct (user, item) pairs with their summed weights, ids coded as positions.

    ``users`` and ``items`` hold the original ids (numpy object arrays, in first-seen order);
    ``user_index`` / ``item_index`` (int64) point into them, one entry per pair, sorted by
    user then item; ``weight`` (float64) is each pair's total weight, always above 0.
    """

    users: Any
    items: Any
    user_index: Any
    item_index: Any
    weight: Any

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_users, self.n_items)

    @property
    def nnz(self) -> int:
        return len(self.weight)

    def csr(self) -> tuple[Any, Any, Any]:
        """(row pointers, item positions, weights) of the user-by-item matrix."""
        import numpy as np

        pointers = np.zeros(self.n_users + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.user_index, minlength=self.n_users), out=pointers[1:])
        return pointers, self.item_index, self.weight


def interactions_from_frame(
    frame: pd.DataFrame,
    *,
    name: str = "interactions",
    items: Any = None,
    weighted: bool = True,
) -> Interactions:
    """``frame`` (user_id, item_id and, if ``weighted``, weight) as ``Interactions``.

    ``items``, when given, fixes the item ids and their order (a trained model's catalogue);
    rows for other items are an error. Without ``weighted`` every row counts 1.0 (held-out
    interactions, where only membership matters).
    """
    import numpy as np
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise InteractionsError(
            f"{name}: expected a pandas DataFrame with columns {', '.join(REQUIRED_COLUMNS)}, "
            f"got {type(frame).__name__}"
        )
    required = REQUIRED_COLUMNS if weighted else REQUIRED_COLUMNS[:2]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InteractionsError(
            f"{name}: missing column(s) {', '.join(missing)}; expected {', '.join(required)} "
            f"(got {', '.join(map(str, frame.columns)) or 'no columns'})"
        )
    for column in ("user_id", "item_id"):
        nulls = int(frame[column].isna().sum())
        if nulls:
            raise InteractionsError(f"{name}: {nulls} row(s) have no {column}; every row needs one")
    weight = _weights(frame, name) if weighted else np.ones(len(frame), dtype=np.float64)
    user_codes, users = pd.factorize(frame["user_id"], sort=False)
    if items is None:
        item_codes, item_values = pd.factorize(frame["item_id"], sort=False)
    else:
        item_values = np.asarray(items, dtype=object)
        lookup = pd.Index(item_values)
        item_codes = lookup.get_indexer(frame["item_id"])
        unknown = frame["item_id"][item_codes < 0]
        if len(unknown):
            shown = ", ".join(map(repr, unknown.unique()[:5]))
            raise InteractionsError(
                f"{name}: {len(unknown)} row(s) name items the model does not know ({shown}...)"
            )
    positive = weight > 0
    return summed_pairs(
        np.asarray(users, dtype=object),
        np.asarray(item_values, dtype=object),
        user_codes[positive].astype(np.int64),
        item_codes[positive].astype(np.int64),
        weight[positive],
    )


def _weights(frame: pd.DataFrame, name: str) -> Any:
    import numpy as np
    import pandas as pd

    column = frame["weight"]
    if not (pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)):
        raise InteractionsError(
            f"{name}: weight must be numeric (play counts, 1.0 per positive, or weights), "
            f"got dtype {column.dtype}"
        )
    weight = column.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(weight)
    if bad.any():
        raise InteractionsError(
            f"{name}: {int(bad.sum())} row(s) have a missing or infinite weight; expected a "
            "finite number >= 0"
        )
    if (weight < 0).any():
        raise InteractionsError(
            f"{name}: {int((weight < 0).sum())} row(s) have a negative weight (lowest "
            f"{weight.min():g}); implicit feedback is >= 0 (use 0 for no evidence)"
        )
    return weight


def summed_pairs(
    users: Any, items: Any, user_index: Any, item_index: Any, weight: Any
) -> Interactions:
    """Pairs summed and sorted by (user, item)."""
    import numpy as np

    pair = user_index * len(items) + item_index
    unique, inverse = np.unique(pair, return_inverse=True)
    total = np.bincount(inverse, weights=weight, minlength=len(unique))
    return Interactions(
        users=users,
        items=items,
        user_index=unique // max(len(items), 1),
        item_index=unique % max(len(items), 1),
        weight=total,
    )
