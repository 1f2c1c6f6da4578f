"""Interactions frames: what is accepted, how pairs add up, and the errors for bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spotify_agent_assets.recommend import InteractionsError
from spotify_agent_assets.recommend.interactions import interactions_from_frame


def test_repeated_pairs_are_summed_and_zero_weights_dropped() -> None:
    frame = pd.DataFrame(
        {
            "user_id": ["a", "a", "b", "a", "b"],
            "item_id": ["x", "x", "y", "y", "x"],
            "weight": [2.0, 3.0, 0.0, 1.0, 4.0],
        }
    )
    data = interactions_from_frame(frame)
    pairs = {
        (data.users[u], data.items[i]): w
        for u, i, w in zip(data.user_index, data.item_index, data.weight, strict=True)
    }
    assert pairs == {("a", "x"): 5.0, ("a", "y"): 1.0, ("b", "x"): 4.0}
    pointers, items, _ = data.csr()
    assert pointers.tolist() == [0, 2, 3]
    assert items.tolist() == [0, 1, 0]


def test_any_hashable_ids_and_integer_counts() -> None:
    frame = pd.DataFrame(
        {
            "user_id": [("team", 1), 7, "x"],
            "item_id": [10, 10, ("album", "track")],
            "weight": np.array([3000, 1, 2], dtype=np.int64),
        }
    )
    data = interactions_from_frame(frame)
    assert data.n_users == 3 and data.n_items == 2
    assert sorted(data.weight.tolist()) == [1.0, 2.0, 3000.0]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"user_id": [1], "item_id": [2]}), "missing column(s) weight"),
        (pd.DataFrame({"user_id": [None], "item_id": [2], "weight": [1.0]}), "no user_id"),
        (pd.DataFrame({"user_id": [1], "item_id": [np.nan], "weight": [1.0]}), "no item_id"),
        (pd.DataFrame({"user_id": [1], "item_id": [2], "weight": [-1.0]}), "negative weight"),
        (pd.DataFrame({"user_id": [1], "item_id": [2], "weight": [np.nan]}), "missing or infinite"),
        (pd.DataFrame({"user_id": [1], "item_id": [2], "weight": [np.inf]}), "missing or infinite"),
        (pd.DataFrame({"user_id": [1], "item_id": [2], "weight": ["3"]}), "must be numeric"),
        (pd.DataFrame({"user_id": [1], "item_id": [2], "weight": [True]}), "must be numeric"),
    ],
)
def test_bad_frames_are_refused_with_the_reason(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(
        InteractionsError,
        match="interactions: .*" + message.replace("(", r"\(").replace(")", r"\)"),
    ):
        interactions_from_frame(frame)


def test_not_a_frame_is_refused() -> None:
    with pytest.raises(InteractionsError, match="expected a pandas DataFrame"):
        interactions_from_frame([(1, 2, 1.0)])  # type: ignore[arg-type]


def test_items_outside_a_fixed_catalogue_are_named() -> None:
    frame = pd.DataFrame({"user_id": [1, 2], "item_id": ["known", "new"], "weight": [1.0, 1.0]})
    with pytest.raises(InteractionsError, match=r"does not know .*'new'"):
        interactions_from_frame(frame, items=np.array(["known"], dtype=object))
