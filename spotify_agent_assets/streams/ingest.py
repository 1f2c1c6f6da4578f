"""Landing files in, daily ``streams.stream_events`` partitions and a quarantine table out.

Per file: read (Parquet streamed by row group, repetitive text as dictionaries), validate,
derive event ids for extended-history exports, turn the valid events into compact batches
(``event_batches``). A file is all-or-nothing: if any part of it is unreadable none of its
rows land and it is reported in ``unreadable``. Two files are read at a time; results are
used in the order given: each file's text becomes codes into run-wide dictionaries (listener
ids their HMAC, once per distinct listener) and its events go to local disk, split by UTC day
(``event_spill``), keeping 13 bytes an event in memory. Then, for the whole run: one event per
``event_id`` is kept (the first seen wins: existing rows, then files in the order given, then
file order), and each day's events are read back, merged with the day's existing rows and
sorted by ``(ts, event_id)``, so re-running gives byte-identical partitions.

The pieces: ``readers``, ``validation``, ``pseudonymize``, ``event_ids``, ``event_batches``,
``event_spill``, ``dedupe``, ``day_partitions``, ``quarantine`` and ``event_days``
(``affected_days``).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, MutableMapping
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
from spotify_agent_assets.streams.erased_listeners import drop_erased
from spotify_agent_assets.streams.event_batches import (
    EventBatch,
    RunDictionaries,
    encode_listeners,
    to_event_batch,
)
from spotify_agent_assets.streams.event_days import affected_days
from spotify_agent_assets.streams.event_ids import derive_event_ids
from spotify_agent_assets.streams.event_schema import quarantine_schema
from spotify_agent_assets.streams.event_spill import EventSpill
from spotify_agent_assets.streams.pseudonymize import PseudonymKey
from spotify_agent_assets.streams.quarantine import (
    dedupe_quarantine,
    quarantine_records,
    safe_source_file,
    stamp_quarantine,
)
from spotify_agent_assets.streams.raw_batch import UnreadableFileError
from spotify_agent_assets.streams.readers import iter_landing_batches
from spotify_agent_assets.streams.validation import validate_batch
from spotify_agent_assets.streams.validation_query import connect, hash_strings

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

    The new events wait on local disk until ``close`` (or ``with``), or until the result is
    collected; days can no longer be built after that.
    """

    events_by_day: DayPartitions
    quarantined: pa.Table
    files_read: int
    duplicates_dropped: int
    unreadable: list[UnreadableFileError] = field(default_factory=list)
    new_events: int = 0

    def close(self) -> None:
        self.events_by_day.close()

    def __enter__(self) -> IngestResult:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def ingest_files(
    paths: Iterable[str | Path],
    key: PseudonymKey,
    *,
    existing: pa.Table | None = None,
    filesystem: FileSystem | None = None,
    now: dt.datetime | None = None,
    spill_directory: str | None = None,
    erased: Collection[str] = frozenset(),
    on_file: Callable[[int, int], None] | None = None,
) -> IngestResult:
    """Ingest landing files; ``existing`` is the current content of the days they may touch
    (see ``affected_days``), used to drop events already stored. The new events wait on
    local disk (``event_spill``, under ``spill_directory``, default the system's temporary
    folder) until ``close`` on the result, or its collection. Records of listeners whose
    ledger digest is in ``erased`` (``erased_listeners``) are dropped as they are read.
    ``on_file(done, total)`` is told after each file, readable or not (progress)."""
    import numpy as np

    quarantined_at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    digests: dict[str, str] = {}
    run_dictionaries = RunDictionaries(key, digests)
    spill = EventSpill(spill_directory)
    # Per event of the run, in run order: all that stays in memory until days are written.
    hashes: list[Any] = []
    valid: list[Any] = []
    days: list[Any] = []
    quarantine_parts: list[pa.Table] = []
    unreadable: list[UnreadableFileError] = []
    files_read = 0
    paths = list(paths)
    try:
        for done, outcome in enumerate(_read_files(paths, key, filesystem, digests, erased), 1):
            if on_file is not None:
                on_file(done, len(paths))
            if isinstance(outcome, UnreadableFileError):
                unreadable.append(outcome)
                continue
            events, rejected = outcome
            files_read += 1
            # Coded and spilled here, in file order (so first-seen orders are stable), while
            # the reader threads decode the next files.
            run_dictionaries.add(events)
            for batch in events:
                batch_days = batch.days().astype(np.int32)
                spill.add(batch, batch_days)
                hashes.append(batch.hashes)
                valid.append(batch.valid)
                days.append(batch_days)
            del events
            quarantine_parts.extend(stamp_quarantine(q, quarantined_at) for q in rejected)
        spill.finish()
        _release_scratch()
        dictionaries = run_dictionaries.dictionaries()
        digests.clear()
        starts = np.cumsum([0, *(len(h) for h in hashes)])
        all_hashes = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64)
        all_valid = np.concatenate(valid) if valid else np.zeros(0, dtype=bool)
        all_days = np.concatenate(days) if days else np.zeros(0, dtype=np.int32)
        del hashes, valid, days
        event_ids = _SpilledEventIds(spill, starts, all_days)
        keep = first_occurrences_by_hash(all_hashes, event_ids.at, eligible=all_valid)
        duplicates = int(np.count_nonzero(all_valid) - np.count_nonzero(keep))
        # Days the files bring events for are rewritten even when all of them are stored
        # already (equal content): the caller asked for those partitions.
        incoming_days = {day_of(int(d)) for d in np.unique(all_days[keep])}
        old = concat_events([] if existing is None else [existing])
        if old.num_rows and len(all_hashes):
            con = connect()
            try:
                old_hashes = hash_strings(old["event_id"], con)
            finally:
                con.close()
            stored = keep & already_stored(all_hashes, event_ids.at, old_hashes, old["event_id"])
            duplicates += int(np.count_nonzero(stored))
            keep &= ~stored
        del all_hashes, all_valid
        new_by_day = _count_by_day(all_days, keep)
        new_by_day = {day: new_by_day.get(day, 0) for day in incoming_days}
    except BaseException:
        spill.close()
        raise
    return IngestResult(
        events_by_day=DayPartitions(
            spill, dictionaries, keep, starts, split_by_day(old), new_by_day
        ),
        quarantined=dedupe_quarantine(_concat_quarantine(quarantine_parts)),
        files_read=files_read,
        duplicates_dropped=duplicates,
        unreadable=unreadable,
        new_events=int(np.count_nonzero(keep)),
    )


def _release_scratch() -> None:
    """Hand the memory Arrow's allocator keeps from freed scratch buffers back to the OS.

    Reading leaves freed decompression and validation buffers behind; the allocator would
    keep them, and every later step would stack its working memory on top.
    """
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


class _SpilledEventIds:
    """The ``event_id`` values at row numbers of the run (all batches end to end)."""

    def __init__(self, spill: EventSpill, starts: Any, days: Any) -> None:
        self._spill = spill
        self._starts = starts
        self._days = days

    def at(self, rows: Any) -> pa.Array:
        """Values at ``rows`` (ascending), in that order."""
        import numpy as np

        owner = np.searchsorted(self._starts, rows, side="right") - 1
        return self._spill.event_ids_at(owner, rows - self._starts[owner], self._days[rows])


def _count_by_day(days: Any, keep: Any) -> dict[dt.date, int]:
    """Kept events per day."""
    import numpy as np

    kept_days = days[keep]
    if len(kept_days) == 0:
        return {}
    values, counts = np.unique(kept_days, return_counts=True)
    return {day_of(int(v)): int(c) for v, c in zip(values, counts, strict=True)}


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
    erased: Collection[str] = frozenset(),
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
            return _ingest_one_file(path, key, filesystem, connection(), digests, erased)
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
    erased: Collection[str] = frozenset(),
) -> tuple[list[EventBatch], list[pa.Table]]:
    """Events and quarantined records of one file, only returned once all of it was read.

    Events keep raw listener ids until ``RunDictionaries.add`` replaces them by codes into
    the run's dictionary of HMACs.
    """
    events: list[EventBatch] = []
    rejected: list[pa.Table] = []
    for batch in iter_landing_batches(path, filesystem=filesystem):
        batch = drop_erased(batch, key, erased, digests)
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
