"""Validated events parked on local disk, grouped by UTC day, between reading and writing.

No day can be written before every file of the run is read: an event's duplicate may be in
the last one. Held in memory, even in compact form (``event_batches``), the waiting events
cost about 65 bytes each plus the allocator's slack, 1 GB and more for 10M, and a whole
listening history grows past any budget. Instead each batch's events go to an Arrow IPC file
on local disk as soon as they are coded, one record per (batch, day), and memory keeps only
what the whole-run steps need per event: its id's 64-bit hash, whether it is valid and its day
(``ingest``). A day's records are read back when the day is written, one day at a time.

Listener ids are codes into the run's HMAC dictionary by then, so no raw id reaches the disk,
and the directory is removed when the run's result is closed (or collected).
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from spotify_agent_assets.streams.event_batches import CODED_COLUMNS, EventBatch
from spotify_agent_assets.streams.event_schema import BOOL_COLUMNS, SourceFormat

if TYPE_CHECKING:
    import pyarrow as pa

# Where each spilled row sits in its batch: rows of one (batch, day) keep batch order, so a
# record's ``row`` column is ascending and duplicates found by global row number map back.
ROW = "row"


def spill_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            pa.field(ROW, pa.int32()),
            pa.field("event_id", pa.string()),
            pa.field("ts", pa.int64()),
            pa.field("ms_played", pa.int32()),
            pa.field("session_id", pa.string()),
            *(pa.field(name, pa.int8()) for name in BOOL_COLUMNS),
            # Codes into dictionaries that grow as files are read: int32 fits any of them.
            *(pa.field(name, pa.int32()) for name in CODED_COLUMNS),
        ]
    )


class EventSpill:
    """One run's valid events on disk; ``add`` batches in run order, ``finish``, then read.

    Reading is safe from several threads at once (each call opens its own reader).
    """

    def __init__(self, directory: str | None = None) -> None:
        import pyarrow as pa

        self._directory = tempfile.mkdtemp(prefix="stream-events-spill-", dir=directory)
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._directory, True)
        self._path = f"{self._directory}/events.arrow"
        self._sink: pa.NativeFile | None = pa.OSFile(self._path, "wb")
        self._writer: pa.ipc.RecordBatchFileWriter | None = pa.ipc.new_file(
            self._sink, spill_schema()
        )
        self._records = 0
        self._by_day: dict[int, list[tuple[int, int]]] = {}
        self._record_of: dict[tuple[int, int], int] = {}
        self._sources: list[tuple[str, SourceFormat]] = []

    @property
    def batches(self) -> int:
        return len(self._sources)

    def add(self, batch: EventBatch, days: Any) -> None:
        """Spill the valid rows of ``batch`` (its ``codes`` set), ``days`` being each row's day
        number (``EventBatch.days``); the batch's index is the number of batches added before."""
        import numpy as np
        import pyarrow as pa

        if self._writer is None:
            raise RuntimeError("the spill is finished; no more batches can be added")
        index = len(self._sources)
        self._sources.append((batch.source_file, batch.source_format))
        rows = np.flatnonzero(batch.valid).astype(np.int32)
        if len(rows) == 0:
            return
        row_days = days[rows]
        low = int(row_days.min())
        span = int(row_days.max()) - low
        # A stable sort of small integers is a radix sort in numpy; rows stay in batch order
        # within a day.
        key = (row_days - low).astype(np.int16 if span < 2**15 else np.int64)
        order = np.argsort(key, kind="stable")
        rows, row_days = rows[order], row_days[order]
        taken = pa.array(rows)
        columns = {
            ROW: pa.array(rows),
            "event_id": batch.event_ids.take(taken),
            "ts": pa.array(batch.ts.take(rows)),
            "ms_played": pa.array(batch.ms_played.take(rows).astype(np.int32, copy=False)),
            "session_id": batch.session_ids.take(taken),
            **{name: pa.array(batch.flags[name].take(rows)) for name in BOOL_COLUMNS},
            **{
                name: pa.array(batch.codes[name].take(rows).astype(np.int32, copy=False))
                for name in CODED_COLUMNS
            },
        }
        record = pa.RecordBatch.from_pydict(columns, schema=spill_schema())
        starts = np.flatnonzero(np.diff(row_days, prepend=row_days[0] - 1))
        ends = np.append(starts[1:], len(rows))
        for start, end in zip(starts, ends, strict=True):
            day = int(row_days[start])
            self._writer.write_batch(record.slice(int(start), int(end - start)))
            self._by_day.setdefault(day, []).append((index, self._records))
            self._record_of[(index, day)] = self._records
            self._records += 1

    def finish(self) -> None:
        """Close the file for writing; reading may start."""
        if self._writer is not None:
            self._writer.close()
            assert self._sink is not None  # noqa: S101 -- type narrowing: the sink opens with the writer
            self._sink.close()
            self._writer = self._sink = None

    def days(self) -> list[int]:
        return sorted(self._by_day)

    def day_pieces(self, day: int) -> list[tuple[int, Any, EventBatch]]:
        """The day's spilled rows, one piece per batch in run order: (batch index, the rows'
        positions in that batch, the rows as an ``EventBatch``)."""
        with self._reader() as reader:
            return [
                (index, *self._piece(index, reader.get_batch(record)))
                for index, record in self._by_day.get(day, [])
            ]

    def event_ids_at(self, batches: Any, rows: Any, days: Any) -> pa.Array:
        """The ``event_id`` of each (batch index, row in batch, day) triple, in their order."""
        import numpy as np
        import pyarrow as pa

        if len(rows) == 0:
            return pa.array([], pa.string())
        pieces: list[pa.Array] = []
        where: list[Any] = []
        # Rows grouped by the record holding them: (batch, day), in that order.
        groups = np.lexsort((days, batches))
        b, d = batches[groups], days[groups]
        changed = (np.diff(b, prepend=b[0] - 1) != 0) | (np.diff(d, prepend=d[0] - 1) != 0)
        starts = np.flatnonzero(changed)
        ends = np.append(starts[1:], len(groups))
        with self._reader() as reader:
            for start, end in zip(starts, ends, strict=True):
                members = groups[start:end]
                record = reader.get_batch(self._record_of[(int(b[start]), int(d[start]))])
                positions = np.searchsorted(record.column(ROW).to_numpy(), rows[members])
                pieces.append(record.column("event_id").take(pa.array(positions)))
                where.append(members)
        values = pa.concat_arrays(pieces)
        inverse = np.empty(len(rows), dtype=np.int64)
        inverse[np.concatenate(where)] = np.arange(len(rows))
        return values.take(pa.array(inverse))

    def close(self) -> None:
        """Remove the spilled events (also done when the spill is collected)."""
        self.finish()
        self._cleanup()

    @contextmanager
    def _reader(self) -> Iterator[pa.ipc.RecordBatchFileReader]:
        import pyarrow as pa

        if self._writer is not None:
            raise RuntimeError("the spill is still being written; call finish() first")
        if not self._cleanup.alive:
            raise RuntimeError(
                "the ingestion run's events were removed (its result was closed): "
                "build every day before closing the result"
            )
        # Read with pread into buffers of our own, not memory-mapped: pages of a mapping
        # count towards the process's resident memory as long as the mapping lives.
        with pa.OSFile(self._path) as source:
            yield pa.ipc.open_file(source)

    def _piece(self, index: int, record: pa.RecordBatch) -> tuple[Any, EventBatch]:
        source_file, source_format = self._sources[index]
        events = EventBatch(
            valid=None,
            event_ids=record.column("event_id"),
            ts=record.column("ts").to_numpy(),
            ms_played=record.column("ms_played").to_numpy(),
            flags={name: record.column(name).to_numpy() for name in BOOL_COLUMNS},
            session_ids=record.column("session_id"),
            source_file=source_file,
            source_format=source_format,
            codes={name: record.column(name).to_numpy() for name in CODED_COLUMNS},
        )
        return record.column(ROW).to_numpy(), events
