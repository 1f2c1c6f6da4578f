"""First occurrences by 64-bit hash: collisions never drop an event, rejected rows hide none."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from spotify_agent_assets.streams import dedupe
from spotify_agent_assets.streams.dedupe import first_occurrence_mask, first_occurrences_by_hash


def first_by_hash(values: list[str], hashes: list[int], eligible: Any = None) -> list[bool]:
    array = pa.array(values)
    asked: list[list[int]] = []

    def values_at(rows: Any) -> pa.Array:
        asked.append(rows.tolist())
        return array.take(pa.array(rows))

    mask = first_occurrences_by_hash(np.array(hashes, np.uint64), values_at, eligible)
    for rows in asked:  # only rows whose hash repeats are compared as strings
        assert all(hashes.count(hashes[row]) > 1 for row in rows)
    return mask.tolist()


def test_repeated_values_after_the_first_are_dropped() -> None:
    assert first_by_hash(["a", "b", "a", "c", "b"], [1, 2, 1, 3, 2]) == [
        True,
        True,
        False,
        True,
        False,
    ]


def test_a_hash_collision_keeps_both_values() -> None:
    assert first_by_hash(["a", "b", "a"], [7, 7, 7]) == [True, True, False]


def test_rows_that_are_not_eligible_hide_nothing() -> None:
    eligible = np.array([False, True, True])
    assert first_by_hash(["a", "a", "a"], [5, 5, 5], eligible) == [False, True, False]


@pytest.mark.parametrize("parallel", [False, True])
def test_both_sort_paths_find_the_same_repeats(
    monkeypatch: pytest.MonkeyPatch, parallel: bool
) -> None:
    monkeypatch.setattr(dedupe, "PARALLEL_SORT_MIN", 0 if parallel else 10**9)
    rng = np.random.default_rng(1)
    hashes = rng.integers(0, 2**63, 2_000, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    hashes[::7] = hashes[3::7][: len(hashes[::7])]
    values = [str(h) for h in hashes.tolist()]
    expected = first_occurrence_mask(pa.array(values)).tolist()
    assert first_by_hash(values, hashes.tolist()) == expected
