"""Landing files in, daily ``streams.stream_events`` partitions and a quarantine table out.

Per file: read (streamed by Parquet row group), validate in DuckDB, replace listener ids by
their HMAC, derive event ids for extended-history exports. A file is all-or-nothing: if any
part of it is unreadable none of its rows land and it is reported in ``unreadable``.
Across files: one event per ``event_id`` (the first seen wins: existing rows, then files in
the order given, then file order), split by the UTC day of ``ts`` and merged with the existing
partition, sorted by ``(ts, event_id)`` so re-running gives byte-identical partitions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spotify_agent_assets.streams.event_schema import (
    quarantine_schema,
    stream_events_schema,
)
from spotify_agent_assets.streams.pseudonymize import (
    PseudonymKey,
    pseudonymize,
    pseudonymize_one,
)
from spotify_agent_assets.streams.readers import (
    PARQUET_MAGIC,
    RawBatch,
    UnreadableFileError,
    iter_landing_batches,
    redact_listener_text,
    resolve_path,
)
from spotify_agent_assets.streams.validation import (
    connect,
    ts_sql,
    validate_batch,
)

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    from pyarrow.fs import FileSystem

SORT_KEYS = [("ts", "ascending"), ("event_id", "ascending")]
EPOCH = dt.date(1970, 1, 1)
EVENT_HASH = "__event_hash"
# Columns held dictionary-encoded during a run: few distinct values per many rows, so the
# working set is indices instead of strings (10M events: ~1 GB instead of 2.6 GB).
DICTIONARY_COLUMNS = (
    "track_id",
    "country",
    "platform",
    "reason_start",
    "reason_end",
    "listener_key",
    "source_file",
    "source_format",
)


@dataclass
class IngestResult:
    """What one ingestion run produced.

    ``events_by_day`` holds, for every UTC day that received at least one valid event, the
    COMPLETE partition: the ``existing`` rows of that day plus the new, de-duplicated ones,
    ready to replace the partition as a whole. ``new_events`` counts rows that were not there
    before; ``duplicates_dropped`` counts events dropped because their ``event_id`` was already
    seen (within a file, across files, or in ``existing``).
    """

    events_by_day: Mapping[dt.date, pa.Table]
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
    import pyarrow.compute as pc

    quarantined_at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    digests: dict[str, str] = {}
    events_parts: list[pa.Table] = []
    quarantine_parts: list[pa.Table] = []
    unreadable: list[UnreadableFileError] = []
    files_read = 0
    for outcome in _read_files(list(paths), key, filesystem, digests):
        if isinstance(outcome, UnreadableFileError):
            unreadable.append(outcome)
            continue
        events, rejected = outcome
        files_read += 1
        events_parts.extend(events)
        quarantine_parts.extend(_with_timestamp(q, quarantined_at) for q in rejected)

    rows = _pseudonymize_listeners(events_parts, key, digests)
    digests.clear()
    del events_parts
    # Rows are never filtered (a filter copies the table): duplicates just leave the index.
    keep = _first_occurrences_by_hash(rows[EVENT_HASH], rows["event_id"])
    duplicates = int(len(keep) - np.count_nonzero(keep))
    day_numbers = rows["date"].combine_chunks().cast("int32").to_numpy()
    incoming_days = {EPOCH + dt.timedelta(days=int(d)) for d in np.unique(day_numbers[keep])}
    old = _concat([] if existing is None else [existing])
    if old.num_rows and rows.num_rows:
        seen = pc.is_in(rows["event_id"], value_set=old["event_id"].combine_chunks())
        stored = keep & seen.to_numpy(zero_copy_only=False)
        duplicates += int(np.count_nonzero(stored))
        keep &= ~stored
    # One sort of all rows by (ts, event_id) also groups them by day (the day is a function
    # of ts): each day is a contiguous run of the order, gathered when the day is asked for.
    order = pc.sort_indices(rows.select(["ts", "event_id"]), sort_keys=SORT_KEYS).to_numpy()
    order = order[keep[order]]
    sorted_days = day_numbers[order]
    del keep, day_numbers
    starts = np.flatnonzero(np.diff(sorted_days, prepend=sorted_days[:1] - 1))
    ends = np.append(starts[1:], len(order))[: len(starts)]
    spans = {
        EPOCH + dt.timedelta(days=int(sorted_days[s])): (int(s), int(e))
        for s, e in zip(starts, ends, strict=True)
    }
    return IngestResult(
        events_by_day=DayPartitions(rows, order, spans, split_by_day(old), incoming_days),
        quarantined=_dedupe_quarantine(_concat(quarantine_parts, quarantine_schema())),
        files_read=files_read,
        duplicates_dropped=duplicates,
        unreadable=unreadable,
        new_events=len(order),
    )


def _read_files(
    paths: list[str | Path],
    key: PseudonymKey,
    filesystem: FileSystem | None,
    digests: MutableMapping[str, str],
) -> Iterator[tuple[list[pa.Table], list[pa.Table]] | UnreadableFileError]:
    """Each file's outcome, in the order given (so "first occurrence wins" is stable).

    Sequential on purpose: reading files on two threads measured no faster on 2 cores (the
    Arrow/DuckDB steps contend), and it doubled the files held in memory.
    """
    con = connect()
    try:
        for path in paths:
            try:
                yield _ingest_one_file(path, key, filesystem, con, digests)
            except UnreadableFileError as exc:
                yield exc
    finally:
        con.close()


class DayPartitions(Mapping[dt.date, "pa.Table"]):
    """``IngestResult.events_by_day``: each day's complete partition, built when asked for.

    Holding every day as a finished table would cost the whole run's rows as plain strings
    (2.6 GB for 10M events); instead the run's rows stay in their compact working form
    (dictionary-encoded, one sort order) and a day is gathered, decoded and merged with its
    existing rows on access. Write a day and drop it, and memory stays at the working set.
    Each access builds the table again; equal every time.
    """

    def __init__(
        self,
        rows: pa.Table,
        order: Any,
        spans: dict[dt.date, tuple[int, int]],
        existing: dict[dt.date, pa.Table],
        days: set[dt.date],
    ) -> None:
        self._rows = rows
        self._order = order
        self._spans = spans
        self._existing = existing
        self._days = sorted(days)

    def __getitem__(self, day: dt.date) -> pa.Table:
        if day not in self._days:
            raise KeyError(day)
        old = self._existing.get(day)
        span = self._spans.get(day)
        new = None if span is None else self._rows.take(self._order[span[0] : span[1]])
        return merge_day(old, new, presorted=old is None)

    def __iter__(self) -> Iterator[dt.date]:
        return iter(self._days)

    def __len__(self) -> int:
        return len(self._days)

    def new_rows(self, day: dt.date) -> int:
        """How many of the day's rows this run added."""
        start, end = self._spans.get(day, (0, 0))
        return end - start


def _pseudonymize_listeners(
    parts: list[pa.Table], key: PseudonymKey, digests: MutableMapping[str, str]
) -> pa.Table:
    """All events as one compact table, the raw-id dictionary of ``listener_key`` replaced
    by HMACs.

    Parts carry listener ids dictionary-encoded; unifying the dictionaries across all parts
    leaves one entry per distinct listener, so HMAC runs once per listener for the whole run
    and the per-row column is just the indices (no string gathered per row until output).
    """
    import pyarrow as pa

    if not parts:
        return _working_schema().empty_table()
    chunked = pa.concat_tables(parts).unify_dictionaries()
    parts.clear()
    # One chunk per column makes later gathers fast (a take on a chunked column re-scans
    # every chunk); combining column by column keeps the extra memory to one column.
    columns = {name: chunked.column(name) for name in chunked.column_names}
    del chunked
    for name in list(columns):
        column = columns.pop(name)
        columns[name] = column.combine_chunks()
        del column
    listeners = columns["listener_key"]
    hashed = pseudonymize(listeners.dictionary, key, cache=digests)
    columns["listener_key"] = pa.DictionaryArray.from_arrays(listeners.indices, hashed)
    return pa.table(columns, schema=_working_schema())


def _ingest_one_file(
    path: str | Path,
    key: PseudonymKey,
    filesystem: FileSystem | None,
    con: duckdb.DuckDBPyConnection,
    digests: MutableMapping[str, str],
) -> tuple[list[pa.Table], list[pa.Table]]:
    """Events and quarantined records of one file, only returned once all of it was read.

    Events keep raw listener ids, dictionary-encoded in ``listener_key``, until
    ``_pseudonymize_listeners`` swaps the dictionary for HMACs at the end of the run.
    """
    events: list[pa.Table] = []
    rejected: list[pa.Table] = []
    for batch in iter_landing_batches(path, filesystem=filesystem):
        result = validate_batch(batch, con=con)
        source_file = safe_source_file(batch, key)
        events.append(
            _to_events(batch, result.valid, key, digests, source_file, con, result.event_hashes)
        )
        if result.rejected.num_rows:
            rejected.append(
                _to_quarantine(batch, result.rejected, result.valid, key, digests, source_file)
            )
    return events, rejected


def _to_events(
    batch: RawBatch,
    valid: pa.Table,
    key: PseudonymKey,
    digests: MutableMapping[str, str],
    source_file: str,
    con: duckdb.DuckDBPyConnection,
    event_hashes: pa.Array | None = None,
) -> pa.Table:
    import pyarrow as pa
    import pyarrow.compute as pc

    event_ids, hashes = valid["event_id"], event_hashes
    if batch.source_format == "extended_history" or hashes is None:
        if batch.source_format == "extended_history":
            keys = pseudonymize(valid["listener_id"], key, cache=digests)
            event_ids = derive_event_ids(keys, valid, con)
        hashes = _hash_strings(event_ids, con)
    columns: dict[str, Any] = {name: valid[name] for name in valid.column_names}
    # Repetitive text is dictionary-encoded while in memory (see DICTIONARY_COLUMNS); the
    # listener column holds raw ids until _pseudonymize_listeners swaps its dictionary.
    columns |= {name: pc.dictionary_encode(valid[name]) for name in DICTIONARY_COLUMNS[:5]}
    columns |= {
        "date": pc.cast(valid["ts"], pa.date32()),
        "event_id": event_ids,
        "listener_key": pc.dictionary_encode(valid["listener_id"]),
        "source_file": _constant(source_file, valid.num_rows),
        "source_format": _constant(batch.source_format, valid.num_rows),
        EVENT_HASH: hashes,
    }
    return pa.Table.from_pydict(
        {name: columns[name] for name in _working_schema().names}, schema=_working_schema()
    )


def _hash_strings(values: Any, con: duckdb.DuckDBPyConnection) -> pa.Array:
    """DuckDB's 64-bit hash of each string (the same function validation uses)."""
    import pyarrow as pa

    con.register("hash_input", pa.table({"v": values}))
    try:
        out = con.execute("SELECT hash(v) AS h FROM hash_input").to_arrow_table()
    finally:
        con.unregister("hash_input")
    return out["h"].combine_chunks()


def _constant(value: str, n: int) -> pa.DictionaryArray:
    import numpy as np
    import pyarrow as pa

    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array([value]))


@cache
def _working_schema() -> pa.Schema:
    """``stream_events`` as held in memory during a run: repetitive strings as dictionaries."""
    import pyarrow as pa

    schema = stream_events_schema()
    for name in DICTIONARY_COLUMNS:
        index = schema.get_field_index(name)
        schema = schema.set(
            index, schema.field(name).with_type(pa.dictionary(pa.int32(), pa.string()))
        )
    return schema.append(pa.field(EVENT_HASH, pa.uint64()))


def derive_event_ids(
    listener_keys: pa.Array, valid: pa.Table, con: duckdb.DuckDBPyConnection | None = None
) -> pa.Array:
    """Extended-history exports have no event id: sha256 over (listener, ts, track, ms_played).

    The listener enters as its HMAC, not the raw id, so the event id cannot be used to test
    guesses of who listened; the time enters as UTC epoch microseconds so the same play
    exported with another offset or precision still gets the same id.
    """
    import pyarrow as pa

    parts = pa.table(
        {
            "k": listener_keys,
            "ts": valid["ts"],
            "t": valid["track_id"],
            "ms": valid["ms_played"],
        }
    )
    own = con is None
    con = connect() if con is None else con
    try:
        con.register("derive_parts", parts)
        out = con.execute(
            "SELECT sha256(k || '|' || epoch_us(ts) || '|spotify:track:' || t || '|' || ms) AS id "
            "FROM derive_parts"
        ).to_arrow_table()
        con.unregister("derive_parts")
    finally:
        if own:
            con.close()
    return out["id"].combine_chunks().cast(pa.string())


def safe_source_file(batch: RawBatch, key: PseudonymKey) -> str:
    """The file path to record as lineage, without a raw listener id in it: an
    extended-history export lives in a folder named after the listener, so that segment is
    replaced by (a prefix of) the listener's pseudonym."""
    folder = batch.listener_folder
    if not folder:
        return batch.source_file
    segments = batch.source_file.replace("\\", "/").split("/")
    alias = f"listener-{pseudonymize_one(folder, key)[:16]}"
    return "/".join(alias if segment == folder else segment for segment in segments)


def _to_quarantine(
    batch: RawBatch,
    rejected: pa.Table,
    valid: pa.Table,
    key: PseudonymKey,
    digests: MutableMapping[str, str],
    source_file: str,
) -> pa.Table:
    """Rejected records in the quarantine layout, raw listener ids replaced by their HMAC in
    ``listener_key``. Text the readers could not parse (no known listener) gets one more
    scrub: any token equal to a listener id seen in this batch is redacted."""
    import pyarrow as pa
    import pyarrow.compute as pc

    raw = rejected["raw"].to_pylist()
    listeners = rejected["listener_id"].to_pylist()
    if batch.rejected and any(who is None for who in listeners):
        known = {
            value
            for column in (valid["listener_id"], rejected["listener_id"])
            for value in pc.unique(column).to_pylist()
            if value
        }
        raw = [
            redact_listener_text(text, known) if text and who is None else text
            for text, who in zip(raw, listeners, strict=True)
        ]
    n = rejected.num_rows
    return pa.table(
        {
            "source_file": pa.array([source_file] * n, pa.string()),
            "line": rejected["line"],
            "reason": rejected["reason"],
            "raw": pa.array(raw, pa.string()),
            "listener_key": pseudonymize(rejected["listener_id"], key, cache=digests),
        }
    )


def _with_timestamp(part: pa.Table, at: dt.datetime) -> pa.Table:
    import pyarrow as pa

    stamp = pa.array([at] * part.num_rows, pa.timestamp("us", tz="UTC"))
    schema = quarantine_schema()
    return pa.Table.from_arrays([*(part[name] for name in schema.names[:-1]), stamp], schema=schema)


def _dedupe_quarantine(table: pa.Table) -> pa.Table:
    """The same bad record read twice in one run (same file listed twice) is kept once."""
    import pyarrow as pa

    if table.num_rows < 2:
        return table
    ids = pa.array(
        [
            f"{f}\x1f{line}\x1f{reason}"
            for f, line, reason in zip(
                table["source_file"].to_pylist(),
                table["line"].to_pylist(),
                table["reason"].to_pylist(),
                strict=True,
            )
        ]
    )
    keep = first_occurrence_mask(ids)
    return table if keep.all() else table.filter(pa.array(keep))


def _first_occurrences_by_hash(hashes: pa.ChunkedArray, values: pa.ChunkedArray) -> Any:
    """``first_occurrence_mask`` via 64-bit hashes: sorting integers is far cheaper than
    hashing 10M strings. Only rows whose hash occurs twice are compared as strings (exactly,
    so a hash collision cannot drop an event)."""
    import numpy as np
    import pyarrow as pa

    h = hashes.combine_chunks().to_numpy()
    mask = np.ones(len(h), dtype=bool)
    ordered = np.sort(h)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if len(repeated) == 0:
        return mask
    repeated = np.unique(repeated)
    # Binary search against the few repeated hashes (np.isin would sort all 10M again).
    slots = np.minimum(np.searchsorted(repeated, h), len(repeated) - 1)
    candidates = np.flatnonzero(repeated[slots] == h)
    exact = first_occurrence_mask(values.take(pa.array(candidates)))
    mask[candidates[~exact]] = False
    return mask


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


def split_by_day(table: pa.Table) -> dict[dt.date, pa.Table]:
    """Rows grouped by their ``date`` column (one stable sort of the day numbers)."""
    import numpy as np

    if table.num_rows == 0:
        return {}
    days = table["date"].combine_chunks().cast("int32").to_numpy()
    order = np.argsort(days, kind="stable")
    sorted_days = days[order]
    starts = np.flatnonzero(np.diff(sorted_days, prepend=sorted_days[0] - 1))
    ends = np.append(starts[1:], len(order))
    return {
        EPOCH + dt.timedelta(days=int(sorted_days[s])): table.take(order[s:e])
        for s, e in zip(starts, ends, strict=True)
    }


def merge_day(
    existing: pa.Table | None, new: pa.Table | None, *, presorted: bool = False
) -> pa.Table:
    """One day's partition: ``existing`` rows plus ``new`` rows whose ``event_id`` is not
    there yet, in ``stream_events`` schema, sorted by ``(ts, event_id)``.

    Idempotent: merging the same rows again returns an equal table, so re-ingesting a file
    and rewriting the partition changes nothing. ``presorted`` (only ``new``, already unique
    and in order) skips the sort.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    table = _concat([t for t in (existing, new) if t is not None and t.num_rows])
    if presorted and existing is None:
        return table.combine_chunks()
    keep = first_occurrence_mask(table["event_id"])
    if not keep.all():
        table = table.filter(pa.array(keep))
    return table.take(pc.sort_indices(table, sort_keys=SORT_KEYS)).combine_chunks()


def affected_days(
    paths: Iterable[str | Path], *, filesystem: FileSystem | None = None
) -> set[dt.date]:
    """The UTC days the events in these files fall on, for a sensor to pick partitions.

    Parquet row groups whose ``ts`` statistics start and end on the same day cost no data
    read; other files have their ``ts`` values parsed. Unreadable files and unparseable
    timestamps contribute no day (ingestion reports them).
    """
    days: set[dt.date] = set()
    con = connect()
    try:
        for path in paths:
            try:
                days |= _file_days(str(path), filesystem, con)
            except UnreadableFileError:
                continue
    finally:
        con.close()
    return days


def _file_days(
    path: str, filesystem: FileSystem | None, con: duckdb.DuckDBPyConnection
) -> set[dt.date]:
    fs, fs_path = resolve_path(path, filesystem)
    try:
        with fs.open_input_file(fs_path) as handle:
            is_parquet = handle.read(len(PARQUET_MAGIC)) == PARQUET_MAGIC
    except (OSError, ValueError):
        return set()
    if is_parquet:
        return _parquet_days(path, fs, fs_path, con)
    days: set[dt.date] = set()
    for batch in iter_landing_batches(path, filesystem=filesystem):
        days |= _ts_days(batch.table.select(["ts"]), con)
    return days


def _parquet_days(
    path: str, fs: FileSystem, fs_path: str, con: duckdb.DuckDBPyConnection
) -> set[dt.date]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(fs.open_input_file(fs_path))
        column = parquet.schema_arrow.get_field_index("ts")
    except (pa.ArrowException, OSError):
        return set()
    if column < 0:
        return set()
    is_timestamp = pa.types.is_timestamp(parquet.schema_arrow.field(column).type)
    days: set[dt.date] = set()
    for group in range(parquet.num_row_groups):
        stats = parquet.metadata.row_group(group).column(column).statistics
        if is_timestamp and stats is not None and stats.has_min_max:
            lo, hi = _utc_day(stats.min), _utc_day(stats.max)
            if lo == hi:
                days.add(lo)
                continue
        try:
            days |= _ts_days(parquet.read_row_group(group, columns=["ts"]), con)
        except (pa.ArrowException, OSError):
            return days
    return days


def _utc_day(value: dt.datetime) -> dt.date:
    if value.tzinfo is None:  # naive Parquet timestamps are UTC by contract
        return value.date()
    return value.astimezone(dt.UTC).date()


def _ts_days(table: pa.Table, con: duckdb.DuckDBPyConnection) -> set[dt.date]:
    value, _ = ts_sql(table.schema.field("ts").type)
    con.register("ts_batch", table)
    try:
        rows = con.execute(
            f"SELECT DISTINCT CAST(v AS DATE) FROM (SELECT {value} AS v "
            "FROM (SELECT ts AS ts_in FROM ts_batch)) WHERE v IS NOT NULL"
        ).fetchall()
    finally:
        con.unregister("ts_batch")
    return {row[0] for row in rows}


def _conform(table: pa.Table) -> pa.Table:
    """Any table with the ``stream_events`` columns, cast to exactly that schema (plain
    strings, canonical column order), so merged partitions compare equal byte for byte."""
    import pyarrow as pa

    schema = stream_events_schema()
    arrays = []
    for target in schema:
        column = table[target.name]
        if pa.types.is_dictionary(column.type):
            column = column.cast(target.type)
        arrays.append(column.cast(target.type) if column.type != target.type else column)
    return pa.Table.from_arrays(arrays, schema=schema)


def _concat(parts: list[pa.Table], schema: pa.Schema | None = None) -> pa.Table:
    """Tables concatenated in ``schema`` (default: ``stream_events``, conforming each part)."""
    import pyarrow as pa

    if schema is None:
        schema = stream_events_schema()
        parts = [_conform(p) for p in parts]
    if not parts:
        return schema.empty_table()
    return pa.concat_tables(parts)
