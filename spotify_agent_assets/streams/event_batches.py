"""Validated events in the compact form ingestion holds them in between reading and writing.

A run holds every new event in memory until it knows which ones are duplicates, so the form
matters. Repetitive text (track, country, platform, reasons, listener) becomes small integer
codes into one run-wide dictionary per column, timestamps and durations are numpy integers,
flags are bytes, and per-batch constants (source file and format) are not repeated per row:
about 65 bytes an event instead of about 240 as ``stream_events`` strings. Rows turn into
strings only when their day is written (``day_partitions``), each string built once.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from spotify_agent_assets.streams.event_ids import derive_event_ids
from spotify_agent_assets.streams.event_schema import BOOL_COLUMNS, SourceFormat
from spotify_agent_assets.streams.pseudonymize import PseudonymKey, pseudonymize
from spotify_agent_assets.streams.raw_batch import as_array
from spotify_agent_assets.streams.validation_query import hash_strings

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from spotify_agent_assets.streams.raw_batch import RawBatch
    from spotify_agent_assets.streams.validation_result import ValidationResult

MICROSECONDS_PER_DAY = 86_400_000_000
# Text held as codes into a run-wide dictionary (``share_dictionaries``); until then as
# the batch's own dictionary, or for the listener the file's (``encode_listeners``: nearly
# every row group has its own set of listeners, so a dictionary per batch is wasted work).
CODED_COLUMNS = ("listener_key", "track_id", "country", "platform", "reason_start", "reason_end")
FLAG_NULL = -1  # in ``EventBatch.flags`` and ``codes``


@dataclass
class EventBatch:
    """The rows of one raw batch, one entry per row in each array; ``valid`` (numpy bool)
    marks the events, and the other rows' values mean nothing (dropping them would copy
    every event, so they are carried and never used).

    ``ts`` is UTC epoch microseconds (int64), ``ms_played`` int32, ``flags`` the boolean
    columns as int8 (1, 0 or ``FLAG_NULL``). ``text`` holds the coded columns as read
    (see ``CODED_COLUMNS``) until ``share_dictionaries`` turns them into ``codes``: numpy
    indices into the run's dictionaries, ``FLAG_NULL`` for null. ``hashes`` (uint64, the
    event ids' hashes) is only needed until duplicates are known.
    """

    valid: Any
    event_ids: pa.Array
    ts: Any
    ms_played: Any
    flags: dict[str, Any]
    session_ids: pa.Array
    source_file: str
    source_format: SourceFormat
    hashes: Any = None
    text: dict[str, pa.Array] = field(default_factory=dict)
    codes: dict[str, Any] = field(default_factory=dict)

    @property
    def num_rows(self) -> int:
        return len(self.ts)

    def days(self) -> Any:
        """Each row's UTC day as days since 1970-01-01 (numpy int64)."""
        import numpy as np

        return np.floor_divide(self.ts, MICROSECONDS_PER_DAY)


def to_event_batch(
    batch: RawBatch,
    result: ValidationResult,
    key: PseudonymKey,
    digests: MutableMapping[str, str],
    source_file: str,
    con: duckdb.DuckDBPyConnection,
) -> EventBatch:
    """One validated batch in the compact form (listener ids still raw text, see
    ``CODED_COLUMNS``)."""
    import numpy as np
    import pyarrow as pa

    rows = result.rows
    event_ids, hashes = rows["event_id"], result.row_hashes
    if batch.source_format == "extended_history":
        keys = pseudonymize(rows["listener_id"], key, cache=digests)
        event_ids = derive_event_ids(keys, rows, con)
        hashes = None
    if hashes is None:
        hashes = hash_strings(event_ids, con)
    text = {
        name: _dictionary(rows[name])
        for name in CODED_COLUMNS
        if name != "listener_key"  # listener_id in v1
    }
    text["listener_key"] = as_array(rows["listener_id"]).cast(pa.string())
    return EventBatch(
        valid=np.asarray(result.ok, dtype=bool),
        event_ids=_owned_text(event_ids),
        ts=_integers(rows["ts"].cast(pa.int64()), np.int64),
        # Validation bounds ms_played to a day: int32 holds it.
        ms_played=_integers(rows["ms_played"], np.int32),
        flags={name: _flag_bytes(rows[name]) for name in BOOL_COLUMNS},
        session_ids=_owned_text(rows["session_id"]),
        source_file=source_file,
        source_format=batch.source_format,
        hashes=np.asarray(as_array(hashes).to_numpy(zero_copy_only=False), dtype=np.uint64),
        text=text,
    )


def _integers(values: pa.Array | pa.ChunkedArray, dtype: Any) -> Any:
    """An integer column as numpy, in memory of its own; nulls (only in rejected rows) as 0.

    Never a view: the column usually comes from a DuckDB result imported through Arrow's C
    interface, whose columns all live until the last of them is released, so a view of one
    column would keep every column of the batch (all its text) alive for the whole run.
    """
    import numpy as np

    array = as_array(values)
    if array.null_count:
        array = array.fill_null(0)
    return np.array(array.to_numpy(zero_copy_only=False), dtype=dtype, copy=True)


def _owned_text(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A text column in memory of its own (see ``_integers`` for why); all-null costs nothing."""
    import pyarrow as pa

    array = as_array(values).cast(pa.string())
    if array.null_count == len(array):
        return pa.nulls(len(array), pa.string())
    return pa.concat_arrays([array])


def _dictionary(values: pa.Array | pa.ChunkedArray) -> pa.DictionaryArray:
    """Text as a dictionary array with the narrowest indices its dictionary allows (a
    country column's rows cost one byte each, not four)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = as_array(values)
    if not pa.types.is_dictionary(array.type):
        array = pc.dictionary_encode(array.cast(pa.string()))
    index = pa.from_numpy_dtype(_code_type(len(array.dictionary)))
    return array.cast(pa.dictionary(index, pa.string()))


def _flag_bytes(values: pa.Array | pa.ChunkedArray) -> Any:
    import numpy as np

    array = as_array(values)
    flags = array.fill_null(False).to_numpy(zero_copy_only=False).astype(np.int8)
    if array.null_count:
        flags[array.is_null().to_numpy(zero_copy_only=False)] = FLAG_NULL
    return flags


def encode_listeners(batches: list[EventBatch]) -> None:
    """Encode the raw listener ids of one file's batches against one dictionary (in place).

    Done per file, on the thread that read it: the run-wide step (``share_dictionaries``)
    then merges one dictionary per file instead of one per row group.
    """
    import pyarrow as pa

    if not batches:
        return
    encoded = pa.chunked_array([b.text["listener_key"] for b in batches]).dictionary_encode()
    # Encoding a chunked array uses one hash table: the last chunk's dictionary holds every
    # value, and the indices of all chunks point into it.
    dictionary = encoded.chunk(encoded.num_chunks - 1).dictionary
    for batch, chunk in zip(batches, encoded.chunks, strict=True):
        batch.text["listener_key"] = pa.DictionaryArray.from_arrays(chunk.indices, dictionary)


class RunDictionaries:
    """One run-wide dictionary per coded column, grown file by file (``add``), in first-seen
    order; the listener dictionary holds HMACs, not raw ids.

    ``add`` turns a file's batches' ``text`` into ``codes`` (int32) into these dictionaries,
    so the batches can leave memory (``event_spill``) before the run has read every file.
    HMAC runs once per distinct listener for the whole run: only values new to the run are
    hashed. The raw listener ids the run has seen stay in memory, for matching the next files.
    """

    def __init__(self, key: PseudonymKey, digests: MutableMapping[str, str]) -> None:
        import pyarrow as pa

        self._key = key
        self._digests = digests
        self._seen = {name: pa.array([], pa.string()) for name in CODED_COLUMNS}
        self._pseudonyms: list[pa.Array] = []

    def add(self, batches: list[EventBatch]) -> None:
        """Code the coded columns of one file's ``batches`` (in place), column by column."""
        import numpy as np

        for name in CODED_COLUMNS:
            arrays = [_dictionary(b.text.pop(name)) for b in batches]
            known = len(self._seen[name])
            union, mappings = _unify([self._seen[name], *(a.dictionary for a in arrays)])
            if name == "listener_key" and len(union) > known:
                new = union.slice(known)
                self._pseudonyms.append(pseudonymize(new, self._key, cache=self._digests))
            self._seen[name] = union
            for batch, array, mapping in zip(batches, arrays, mappings[1:], strict=True):
                batch.codes[name] = _codes(array.indices, mapping.astype(np.int32, copy=False))

    def dictionaries(self) -> dict[str, pa.Array]:
        """Each coded column's dictionary (HMACs for the listener)."""
        import pyarrow as pa

        out = dict(self._seen)
        out["listener_key"] = (
            pa.concat_arrays(self._pseudonyms) if self._pseudonyms else pa.array([], pa.string())
        )
        return out


def _unify(dictionaries: list[pa.Array]) -> tuple[pa.Array, list[Any]]:
    """The union of ``dictionaries`` (in first-seen order) and, for each, a numpy array
    mapping its positions to positions in the union.

    Batches of one file share their dictionary (``encode_listeners``); each distinct one is
    merged once, recognised by its buffers. Values of the first dictionary keep their places.
    """
    import numpy as np
    import pyarrow as pa

    if not dictionaries:
        return pa.array([], pa.string()), []
    slots: dict[tuple[int, int, int], int] = {}
    distinct: list[pa.Array] = []
    positions = []
    for dictionary in dictionaries:
        data = dictionary.buffers()[1]
        identity = (data.address if data is not None else -1, dictionary.offset, len(dictionary))
        if identity not in slots:
            slots[identity] = len(distinct)
            distinct.append(dictionary)
        positions.append(slots[identity])
    whole = pa.chunked_array(
        [
            pa.DictionaryArray.from_arrays(pa.array(np.arange(len(d), dtype=np.int32)), d)
            for d in distinct
        ],
        pa.dictionary(pa.int32(), pa.string()),
    ).unify_dictionaries()
    union = whole.chunk(whole.num_chunks - 1).dictionary
    maps = [chunk.indices.to_numpy(zero_copy_only=False) for chunk in whole.chunks]
    return union, [maps[position] for position in positions]


def _code_type(size: int) -> Any:
    import numpy as np

    for dtype in (np.int8, np.int16, np.int32):
        if size <= np.iinfo(dtype).max:
            return dtype
    return np.int64


def _codes(indices: pa.Array, mapping: Any) -> Any:
    """``mapping`` applied to dictionary indices, null as ``FLAG_NULL``."""
    import numpy as np

    if not indices.null_count:
        return mapping[indices.to_numpy(zero_copy_only=False)]
    # Nulls point one past the dictionary, at an appended FLAG_NULL.
    padded = np.append(mapping, np.array(FLAG_NULL, mapping.dtype))
    return padded[indices.fill_null(len(mapping)).to_numpy(zero_copy_only=False)]
