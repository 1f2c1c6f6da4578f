"""Rebuild whole ``stream_events`` / ``stream_quarantine`` partitions from the landing zone.

A partition is never appended to: it is recomputed from every landing file that touches its
day (see ``landing_index``), so running it twice, or once for a range and once per day, gives
the same rows. Each file's rejected records are filed under one partition, the file's home
day, so a file spanning several days does not quarantine its bad rows several times.

The partitions come back lazily (``PartitionedOutput``): a day is built from the run's compact
event batches when the lake writes it, so a backfill of years holds one day's table at a
time. Every partition carries its provenance (``provenance``) in its footer.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from spotify_agent_assets.lake.partitioned_output import PartitionedOutput
from spotify_agent_assets.streams.day_partitions import split_by_day
from spotify_agent_assets.streams.event_schema import (
    quarantine_schema,
    quarantine_table_schema,
    stream_events_schema,
)
from spotify_agent_assets.streams.ingest import ingest_files, safe_source_file
from spotify_agent_assets.streams.landing_index import IndexedFile, LandingIndex
from spotify_agent_assets.streams.provenance import partition_footer
from spotify_agent_assets.streams.raw_batch import RawBatch, UnreadableFileError
from spotify_agent_assets.streams.readers import HEAD_BYTES, detect_format

if TYPE_CHECKING:
    import pyarrow as pa
    from pyarrow.fs import FileSystem

    from spotify_agent_assets.streams.pseudonymize import PseudonymKey


class UnreadableLandingFilesError(Exception):
    """Files of the requested days could not be read; nothing was ingested."""

    def __init__(self, errors: Sequence[UnreadableFileError]) -> None:
        self.errors = list(errors)
        listed = "; ".join(str(e) for e in self.errors)
        super().__init__(
            f"{len(self.errors)} landing file(s) could not be read, so no partition was "
            f"written (fix or remove the file, then re-run): {listed}"
        )


@dataclass
class EventIntegrity:
    """Checks of each day's events as the lake writes them: the rows about to be stored."""

    days_checked: int = 0
    rows: int = 0
    duplicate_event_ids: int = 0
    listener_keys_not_hmac: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, events: pa.Table) -> None:
        """Event ids unique within the day (the run's de-duplication is global, so a day is
        the unit that can go wrong) and every listener key a 64-hex HMAC digest."""
        import pyarrow.compute as pc

        duplicates = events.num_rows - pc.count_distinct(events["event_id"]).as_py()
        digests = pc.sum(pc.match_substring_regex(events["listener_key"], r"^[0-9a-f]{64}$"))
        not_digest = events.num_rows - (digests.as_py() or 0)
        with self._lock:
            self.days_checked += 1
            self.rows += events.num_rows
            self.duplicate_event_ids += duplicates
            self.listener_keys_not_hmac += not_digest

    @property
    def passed(self) -> bool:
        return self.duplicate_event_ids == 0 and self.listener_keys_not_hmac == 0


@dataclass
class RebuiltPartitions:
    """Complete partitions for ``days``: events and quarantine, each with a ``date`` column,
    built when written; ``integrity`` fills in as the event partitions are built."""

    days: list[dt.date]
    events: PartitionedOutput
    quarantine: PartitionedOutput
    files_read: int
    duplicates_dropped: int
    preview: pa.Table
    events_by_day: dict[str, int] = field(default_factory=dict)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    integrity: EventIntegrity = field(default_factory=EventIntegrity)


def rebuild_partitions(
    days: Iterable[dt.date],
    index: LandingIndex,
    key: PseudonymKey,
    filesystem: FileSystem,
    *,
    now: dt.datetime | None = None,
    erased: Collection[str] = frozenset(),
    on_file: Callable[[int, int], None] | None = None,
) -> RebuiltPartitions:
    """Events of ``days`` from every file touching them; raises
    ``UnreadableLandingFilesError`` (before anything is returned) if any of them is
    unreadable. Erased listeners (ledger digests in ``erased``) are left out. ``on_file``
    follows the reading (``ingest_files``)."""
    days = sorted(set(days))
    by_day = index.files_by_day(days)
    files = index.files_for(days)
    result = ingest_files(
        [f.file.path for f in files],
        key,
        filesystem=filesystem,
        now=now,
        erased=erased,
        on_file=on_file,
    )
    if result.unreadable:
        result.close()
        raise UnreadableLandingFilesError(result.unreadable)
    # The events wait on disk until the partitions are built from them (when the IO manager
    # writes the output); the spill goes when ``result`` is collected with the output.

    schema = stream_events_schema()
    integrity = EventIntegrity()
    by_key = {day.isoformat(): day for day in days}

    # Iterating gives the days with events; ``in`` on the mapping would build the day.
    with_events = set(result.events_by_day)

    def build_events(partition_key: str) -> pa.Table:
        day = by_key[partition_key]
        events = result.events_by_day[day] if day in with_events else schema.empty_table()
        integrity.record(events)
        return events

    quarantine = _quarantine_for(days, files, result.quarantined, key, filesystem)
    quarantine_by_day = split_by_day(quarantine)
    empty_quarantine = quarantine.slice(0, 0)
    footers = {day.isoformat(): partition_footer(by_day[day]) for day in days}
    counts = {day.isoformat(): result.events_by_day.new_rows(day) for day in days}
    first = next((day for day in days if counts[day.isoformat()]), None)
    preview = result.events_by_day[first].slice(0, 5) if first else schema.empty_table()
    return RebuiltPartitions(
        days=days,
        events=PartitionedOutput(list(by_key), build_events, schema, footers),
        quarantine=PartitionedOutput(
            list(by_key),
            lambda k: quarantine_by_day.get(by_key[k], empty_quarantine),
            quarantine.schema,
            footers,
        ),
        files_read=result.files_read,
        duplicates_dropped=result.duplicates_dropped,
        preview=preview,
        events_by_day=counts,
        quarantine_reasons=dict(Counter(quarantine["reason"].to_pylist()).most_common()),
        integrity=integrity,
    )


def _quarantine_for(
    days: list[dt.date],
    files: list[IndexedFile],
    quarantined: pa.Table,
    key: PseudonymKey,
    filesystem: FileSystem,
) -> pa.Table:
    """The rejected records of files whose home day is one of ``days``, dated by it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    wanted = set(days)
    homed = {recorded_name(f.file.path, key, filesystem): f for f in files if f.home_day in wanted}
    schema = quarantine_table_schema()
    if not homed or quarantined.num_rows == 0:
        return schema.empty_table()
    rows = quarantined.filter(
        pc.is_in(quarantined["source_file"], value_set=pa.array(sorted(homed)))
    )
    owners = [homed[name] for name in rows["source_file"].to_pylist()]
    dates = pa.array([f.home_day for f in owners], pa.date32())
    # When the file landed, not when this run happened to read it: re-running a day must
    # give the same table.
    landed = pa.array([f.file.mtime_ns // 1000 for f in owners], pa.timestamp("us", tz="UTC"))
    columns = [dates, *(rows[name] for name in quarantine_schema().names[:-1]), landed]
    table = pa.Table.from_arrays(columns, schema=schema)
    order = pc.sort_indices(table, [("source_file", "ascending"), ("line", "ascending")])
    return table.take(order)


def recorded_name(path: str, key: PseudonymKey, filesystem: FileSystem) -> str:
    """The ``source_file`` ingestion records for ``path`` (extended-history exports have the
    listener's folder replaced by a pseudonym, see ``ingest.safe_source_file``)."""
    import pyarrow as pa

    try:
        with filesystem.open_input_file(path) as handle:
            head = handle.read(HEAD_BYTES)
        fmt = detect_format(path, head)
    except (OSError, ValueError, UnreadableFileError):
        return path
    folder = posixpath.basename(posixpath.dirname(path)) if fmt == "extended_history" else None
    stub = RawBatch(path, fmt, pa.table({}), pa.array([], pa.int64()), listener_folder=folder)
    return safe_source_file(stub, key)
