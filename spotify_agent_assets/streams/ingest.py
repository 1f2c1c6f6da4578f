"""Landing files in, daily ``streams.stream_events`` partitions and a quarantine table out.

Per file: read (Parquet streamed by row group, repetitive text as dictionaries), validate,
derive event ids for extended-history exports, keep the valid events in compact batches
(``event_batches``). A file is all-or-nothing: if any part of it is unreadable none of its
rows land and it is reported in ``unreadable``. Two files are read at a time; results are
used in the order given. Then, for the whole run: listener ids become their HMAC (once per
distinct listener), one event per ``event_id`` is kept (the first seen wins: existing rows,
then files in the order given, then file order), and the events are split by the UTC day of
``ts`` into partitions merged with the existing ones and sorted by ``(ts, event_id)``, so
re-running gives byte-identical partitions.

The pieces: ``readers``, ``validation``, ``pseudonymize``, ``event_ids``, ``event_batches``,
``dedupe``, ``day_partitions``, ``quarantine`` and ``event_days`` (``affected_days``).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spotify_agent_assets.streams.day_partitions import (
    SORT_KEYS,
    DayPartitions,
    concat_events,
    day_of,
    merge_day,
    split_by_day,
)
from spotify_agent_assets.streams.dedupe import (
    already_stored,
    first_occurrence_mask,
    first_occurrences_by_hash,
)
from spotify_agent_assets.streams.event_batches import (
    EventBatch,
    encode_listeners,
    share_dictionaries,
    to_event_batch,
)
from spotify_agent_assets.streams.event_days import affected_days
from spotify_agent_assets.streams.event_ids import derive_event_ids
from spotify_agent_assets.streams.event_schema import quarantine_schema
from spotify_agent_assets.streams.pseudonymize import PseudonymKey
from spotify_agent_assets.streams.quarantine import (
    dedupe_quarantine,
    quarantine_records,
    safe_source_file,
    stamp_quarantine,
)
from spotify_agent_assets.streams.readers import UnreadableFileError, iter_landing_batches
from spotify_agent_assets.streams.validation import connect, hash_strings, validate_batch

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    from pyarrow.fs import FileSystem

__all__ = [
    "SORT_KEYS",
    "DayPartitions",
    "IngestResult",
    "UnreadableFileError",
    "affected_days",
    "derive_event_ids",
    "first_occurrence_mask",
    "ingest_files",
    "merge_day",
    "safe_source_file",
    "split_by_day",
]

# Files read at once: two cores, and a third file in flight only adds memory.
READ_THREADS = 2


@dataclass
class IngestResult:
    """What one ingestion run produced.

    ``events_by_day`` holds, for every UTC day that received at least one valid event, the
    COMPLETE partition: the ``existing`` rows of that day plus the new, de-duplicated ones,
    ready to replace the partition as a whole. ``new_events`` counts rows that were not there
    before; ``duplicates_dropped`` counts events dropped because their ``event_id`` was already
    seen (within a file, across files, or in ``existing``).
    """

    events_by_day: DayPartitions
    quarantined: pa.Table
    files_read: int
    duplicates_dropped: int
    unreadable: list[UnreadableFileError] = field(default_factory=list)
    new_events: int = 0


def ingest_files(
    paths: Iterable[str | Path],
    key: PseudonymKey,
    *,
    existing: pa.Table | None = None,
    filesystem: FileSystem | None = None,
    now: dt.datetime | None = None,
) -> IngestResult:
    """Ingest landing files; ``existing`` is the current content of the days they may touch
    (see ``affected_days``), used to drop events already stored."""
    import numpy as np

    quarantined_at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    digests: dict[str, str] = {}
    batches: list[EventBatch] = []
    quarantine_parts: list[pa.Table] = []
    unreadable: list[UnreadableFileError] = []
    files_read = 0
    for outcome in _read_files(list(paths), key, filesystem, digests):
        if isinstance(outcome, UnreadableFileError):
            unreadable.append(outcome)
            continue
        events, rejected = outcome
        files_read += 1
        batches.extend(events)
        quarantine_parts.extend(stamp_quarantine(q, quarantined_at) for q in rejected)
    _release_scratch()

    # Two independent whole-run steps, one per core: the run-wide dictionaries (and the
    # listener HMACs) and the duplicate search. They touch different fields of the batches.
    with ThreadPoolExecutor(max_workers=2) as pool:
        shared = pool.submit(share_dictionaries, batches, key, digests)
        hashes = (
            np.concatenate([b.hashes for b in batches]) if batches else np.zeros(0, dtype=np.uint64)
        )
        valid = np.concatenate([b.valid for b in batches]) if batches else np.zeros(0, dtype=bool)
        event_ids = _EventIds(batches)
        keep = first_occurrences_by_hash(hashes, event_ids.at, eligible=valid)
        dictionaries = shared.result()
    digests.clear()
    duplicates = int(np.count_nonzero(valid) - np.count_nonzero(keep))
    incoming_days = _days_with(batches, keep)
    old = concat_events([] if existing is None else [existing])
    if old.num_rows and len(hashes):
        con = connect()
        try:
            old_hashes = hash_strings(old["event_id"], con)
        finally:
            con.close()
        stored = keep & already_stored(hashes, event_ids.at, old_hashes, old["event_id"])
        duplicates += int(np.count_nonzero(stored))
        keep &= ~stored
    del hashes, valid
    for batch in batches:
        batch.hashes = None  # only needed to find duplicates
    _release_scratch()
    return IngestResult(
        events_by_day=DayPartitions(batches, dictionaries, keep, split_by_day(old), incoming_days),
        quarantined=dedupe_quarantine(_concat_quarantine(quarantine_parts)),
        files_read=files_read,
        duplicates_dropped=duplicates,
        unreadable=unreadable,
        new_events=int(np.count_nonzero(keep)),
    )


def _release_scratch() -> None:
    """Hand the memory Arrow's allocator keeps from freed scratch buffers back to the OS.

    Reading leaves freed decompression and validation buffers between the batches it keeps
    (hundreds of MB over 10M events); the allocator would keep them, and every later step
    would stack its working memory on top.
    """
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


class _EventIds:
    """The ``event_id`` values at row numbers of the run (all batches end to end)."""

    def __init__(self, batches: list[EventBatch]) -> None:
        import numpy as np

        self._batches = batches
        self._starts = np.cumsum([0, *(b.num_rows for b in batches)])

    def at(self, rows: Any) -> pa.Array:
        """Values at ``rows`` (ascending), in that order."""
        import numpy as np
        import pyarrow as pa

        owner = np.searchsorted(self._starts, rows, side="right") - 1
        pieces = []
        for index in np.unique(owner):
            local = rows[owner == index] - self._starts[index]
            pieces.append(self._batches[index].event_ids.take(pa.array(local)))
        if not pieces:
            return pa.array([], pa.string())
        return pa.chunked_array(pieces, pa.string()).combine_chunks()


def _days_with(batches: list[EventBatch], keep: Any) -> set[dt.date]:
    import numpy as np

    numbers: set[int] = set()
    offset = 0
    for batch in batches:
        kept = keep[offset : offset + batch.num_rows]
        offset += batch.num_rows
        numbers.update(int(d) for d in np.unique(batch.days()[kept]))
    return {day_of(number) for number in numbers}


def _concat_quarantine(parts: list[pa.Table]) -> pa.Table:
    import pyarrow as pa

    if not parts:
        return quarantine_schema().empty_table()
    return pa.concat_tables(parts)


def _read_files(
    paths: list[str | Path],
    key: PseudonymKey,
    filesystem: FileSystem | None,
    digests: MutableMapping[str, str],
) -> Iterator[tuple[list[EventBatch], list[pa.Table]] | UnreadableFileError]:
    """Each file's outcome, in the order given (so "first occurrence wins" is stable).

    Files are read ``READ_THREADS`` at a time: the work is Parquet decoding, DuckDB and
    Arrow kernels, which release the GIL, so two files keep both cores busy. Each thread
    has its own single-threaded DuckDB connection.
    """
    local = threading.local()
    connections: list[duckdb.DuckDBPyConnection] = []
    lock = threading.Lock()

    def connection() -> duckdb.DuckDBPyConnection:
        con = getattr(local, "con", None)
        if con is None:
            con = local.con = connect(threads=1)
            with lock:
                connections.append(con)
        return con

    def outcome(
        path: str | Path,
    ) -> tuple[list[EventBatch], list[pa.Table]] | UnreadableFileError:
        try:
            return _ingest_one_file(path, key, filesystem, connection(), digests)
        except UnreadableFileError as exc:
            return exc

    try:
        if len(paths) < 2:
            yield from map(outcome, paths)
            return
        with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
            yield from pool.map(outcome, paths)
    finally:
        for con in connections:
            con.close()


def _ingest_one_file(
    path: str | Path,
    key: PseudonymKey,
    filesystem: FileSystem | None,
    con: duckdb.DuckDBPyConnection,
    digests: MutableMapping[str, str],
) -> tuple[list[EventBatch], list[pa.Table]]:
    """Events and quarantined records of one file, only returned once all of it was read.

    Events keep raw listener ids until ``share_dictionaries`` replaces them by codes into
    the run's dictionary of HMACs.
    """
    events: list[EventBatch] = []
    rejected: list[pa.Table] = []
    for batch in iter_landing_batches(path, filesystem=filesystem):
        result = validate_batch(batch, con=con)
        source_file = safe_source_file(batch, key)
        if result.ok.any():
            events.append(to_event_batch(batch, result, key, digests, source_file, con))
        if result.rejected.num_rows:
            rejected.append(
                quarantine_records(batch, result.rejected, result.rows, key, digests, source_file)
            )
    encode_listeners(events)
    return events, rejected
