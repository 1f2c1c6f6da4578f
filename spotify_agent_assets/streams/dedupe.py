"""One event per ``event_id``: first-occurrence masks, by value and by 64-bit hash.

Ingestion compares the integer hashes validation returns instead of 10M strings
(sorting integers is far cheaper than hashing strings); only rows whose hash repeats are
compared as strings, so a hash collision can never drop an event.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from spotify_agent_assets.streams.raw_batch import as_array

if TYPE_CHECKING:
    import pyarrow as pa

# Below this many hashes one sort is quicker than handing halves to two threads.
PARALLEL_SORT_MIN = 1_000_000


def first_occurrence_mask(values: pa.Array | pa.ChunkedArray) -> Any:
    """A numpy bool mask that is True at the first occurrence of each value (nulls kept)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(values)
    if n == 0:
        return np.ones(0, dtype=bool)
    # Encoding a chunked array uses one hash table, so indices agree across chunks.
    encoded = pc.dictionary_encode(values)
    if isinstance(encoded, pa.ChunkedArray):
        dictionary_size = len(encoded.chunk(encoded.num_chunks - 1).dictionary)
        indices = np.concatenate(
            [c.indices.fill_null(-1).to_numpy(zero_copy_only=False) for c in encoded.chunks]
        )
    else:
        dictionary_size = len(encoded.dictionary)
        indices = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    if dictionary_size + values.null_count == n:
        return np.ones(n, dtype=bool)  # the common case: nothing repeats, skip the sort
    _, first = np.unique(indices, return_index=True)
    mask = np.zeros(n, dtype=bool)
    mask[first] = True
    mask[indices == -1] = True
    return mask


def first_occurrences_by_hash(
    hashes: Any, values_at: Callable[[Any], pa.Array], eligible: Any = None
) -> Any:
    """``first_occurrence_mask`` of the values whose 64-bit hashes are ``hashes`` (numpy
    uint64), among the ``eligible`` rows only (numpy bool; default all): the others are
    False and hide nothing. ``values_at(rows)`` returns the values at those (ascending) row
    numbers, and is only asked for eligible rows whose hash occurs more than once."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if eligible is None:
        eligible = np.ones(len(hashes), dtype=bool)
    mask = eligible.copy()
    repeated = repeated_hashes(hashes, eligible)
    if len(repeated) == 0:
        return mask
    # A hash-set probe against the few repeated hashes (np.isin would sort them all again).
    hit = pc.is_in(pa.array(hashes), value_set=pa.array(repeated))
    candidates = np.flatnonzero(hit.to_numpy(zero_copy_only=False) & eligible)
    exact = first_occurrence_mask(values_at(candidates))
    mask[candidates[~exact]] = False
    return mask


def repeated_hashes(hashes: Any, eligible: Any = None) -> Any:
    """The distinct values occurring more than once in ``hashes`` (numpy uint64) at the
    ``eligible`` rows (default all), sorted.

    Equal hashes share their top bit, so the two halves by top bit sort independently, on
    two threads (numpy releases the GIL while sorting).
    """
    import numpy as np

    if eligible is None:
        eligible = np.ones(len(hashes), dtype=bool)
    if len(hashes) < PARALLEL_SORT_MIN:
        return _repeated_in(hashes[eligible])
    high = hashes >= np.uint64(1 << 63)
    halves = (hashes[eligible & ~high], hashes[eligible & high])
    with ThreadPoolExecutor(max_workers=2) as pool:
        return np.concatenate(list(pool.map(_repeated_in, halves)))


def _repeated_in(hashes: Any) -> Any:
    """Repeated values of ``hashes``, a copy the caller made for this: sorted in place."""
    import numpy as np

    hashes.sort()
    return np.unique(hashes[1:][hashes[1:] == hashes[:-1]])


def already_stored(
    hashes: Any,
    values_at: Callable[[Any], pa.Array],
    stored_hashes: pa.Array | pa.ChunkedArray,
    stored_values: pa.Array | pa.ChunkedArray,
) -> Any:
    """A numpy mask of the rows whose value is among ``stored_values`` (hashed the same way
    as ``stored_hashes``); only rows whose hash matches are compared as strings."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    mask = np.zeros(len(hashes), dtype=bool)
    if len(hashes) == 0 or len(stored_hashes) == 0:
        return mask
    stored_hashes, stored_values = as_array(stored_hashes), as_array(stored_values)
    hit = pc.is_in(pa.array(hashes), value_set=stored_hashes)
    candidates = np.flatnonzero(hit.to_numpy(zero_copy_only=False))
    if len(candidates):
        exact = pc.is_in(values_at(candidates), value_set=stored_values)
        mask[candidates[exact.to_numpy(zero_copy_only=False)]] = True
    return mask
