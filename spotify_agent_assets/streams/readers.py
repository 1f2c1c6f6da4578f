"""Read landing-zone files into raw Arrow batches, one format-aware reader per file kind.

A reader's job ends at "these are the records and their line numbers": values stay as text
(Parquet keeps its native ``ts``/``ms_played``/boolean types, which validation understands), so
every judgement about a value lives in ``validation``. Two kinds of failure are kept apart:

* the FILE cannot be read at all (not UTF-8, not JSON, truncated Parquet, empty, unknown kind,
  no v1 columns): ``UnreadableFileError`` naming the file and what was expected;
* one RECORD cannot be parsed (a JSONL line that is not a JSON object, a CSV row with the wrong
  number of fields, a podcast in an extended-history export): a ``RejectedRecord`` with its
  line, so the rest of the file still lands.

Raw listener ids are still present in ``RawBatch.table`` (ingestion needs them to compute the
HMAC); the ``raw`` text of rejected records already has the listener field redacted.
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spotify_agent_assets.streams.event_schema import (
    OPTIONAL_STRING_COLUMNS,
    REQUIRED_COLUMNS,
    V1_COLUMNS,
    SourceFormat,
)

if TYPE_CHECKING:
    import pyarrow as pa
    from pyarrow.fs import FileSystem

TEXT_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv"}
PARQUET_MAGIC = b"PAR1"
HEAD_BYTES = 64 * 1024
# Text files are split into batches of this many records so validation's working set stays
# bounded; Parquet is streamed by row group instead.
TEXT_BATCH_RECORDS = 1_000_000
# Parquet text columns with few distinct values per many rows, read dictionary-encoded.
# Not the listener: a row group holds nearly as many listeners as rows, and rebuilding a
# dictionary the writer gave up on costs five times reading plain text.
DICTIONARY_READ_COLUMNS = (
    "track_id",
    "country",
    "platform",
    "reason_start",
    "reason_end",
)
# Stored raw text is for a human to look at; a multi-megabyte garbage line helps nobody.
MAX_RAW_CHARS = 2000
REDACTED = "<redacted>"
NOT_MUSIC_REASON = "not a music track (episode/audiobook)"

# Extended streaming history fields that identify a person or device; never copied anywhere.
EXTENDED_PRIVATE_FIELDS = frozenset(
    {"username", "ip_addr", "ip_addr_decrypted", "user_agent_decrypted"}
)
EXTENDED_NON_MUSIC_FIELDS = (
    "spotify_episode_uri",
    "episode_name",
    "episode_show_name",
    "audiobook_uri",
    "audiobook_title",
    "audiobook_chapter_uri",
    "audiobook_chapter_title",
)
# Stream event v1 column <- extended history field (event_id and listener_id are derived).
EXTENDED_FIELD_MAP = {
    "track_id": "spotify_track_uri",
    "ts": "ts",
    "ms_played": "ms_played",
    "country": "conn_country",
    "platform": "platform",
    "reason_start": "reason_start",
    "reason_end": "reason_end",
    "shuffle": "shuffle",
    "skipped": "skipped",
    "offline": "offline",
}
# Where a listener id can hide in text we could not parse: "listener_id": "x" or username.
_LISTENER_FIELD_RE = re.compile(
    r"""(["']?(?:listener_id|username)["']?\s*[:=]\s*)("(?:[^"\\]|\\.)*"|'[^']*'|[^,}\s]*)"""
)


class UnreadableFileError(Exception):
    """A landing file that cannot be read as a whole; nothing from it is ingested."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot read landing file {path}: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions with custom __init__ args need this to survive pickling between processes.
        return (type(self), (self.path, self.reason))


@dataclass(frozen=True)
class RejectedRecord:
    """One record a reader could not turn into columns. ``raw`` is already redacted."""

    line: int | None
    reason: str
    raw: str
    listener_id: str | None = None


@dataclass
class RawBatch:
    """Records from one landing file (or one chunk of it) before validation.

    ``table`` has every v1 column (absent ones as nulls; text columns may be
    dictionary-encoded); ``lines`` holds each row's 1-based
    line (JSONL/CSV) or record number (Parquet/extended history) in the file.
    ``listener_folder`` is the path segment that names the listener, for extended-history
    exports, so ingestion can keep it out of ``source_file``.
    """

    source_file: str
    source_format: SourceFormat
    table: pa.Table
    lines: pa.Array
    rejected: list[RejectedRecord] = field(default_factory=list)
    listener_folder: str | None = None

    @property
    def num_records(self) -> int:
        return self.table.num_rows + len(self.rejected)


def redact_listener_text(text: str, listener_ids: Collection[str] = ()) -> str:
    """Best-effort redaction of text we could not parse: the listener field's value, and any
    token equal to a known raw listener id (pass a set: it is probed per token)."""
    text = _LISTENER_FIELD_RE.sub(lambda m: f'{m.group(1)}"{REDACTED}"', text[:MAX_RAW_CHARS])
    if listener_ids:
        text = re.sub(
            r"[^\s\"',;:{}\[\]=]+",
            lambda m: REDACTED if m.group(0) in listener_ids else m.group(0),
            text,
        )
    return text


def detect_format(path: str, head_bytes: bytes) -> SourceFormat:
    """Which reader a file needs, from its name and first bytes.

    Parquet is recognised by its magic bytes; ``.json`` files are told apart by content (a
    JSON array of objects with ``ts``, ``ms_played`` and ``spotify_track_uri`` is Spotify's
    extended streaming history, an object per line is JSON Lines).
    """
    suffix = Path(path.rstrip("/")).suffix.lower()
    if head_bytes.startswith(PARQUET_MAGIC):
        return "parquet"
    if suffix == ".parquet":
        raise UnreadableFileError(path, "expected a Parquet file but it lacks the PAR1 magic bytes")
    kind = TEXT_EXTENSIONS.get(suffix)
    if kind is None:
        raise UnreadableFileError(
            path,
            f"unknown extension {suffix or '(none)'!r}: expected .jsonl, .json, .csv or .parquet",
        )
    head = head_bytes.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not head:
        raise UnreadableFileError(path, "file is empty: expected stream events")
    if kind == "csv":
        return "csv"
    if head.startswith(b"["):
        if all(key in head for key in (b'"ts"', b'"ms_played"', b'"spotify_track_uri"')):
            return "extended_history"
        raise UnreadableFileError(
            path,
            "JSON array that is not a Spotify extended streaming history export: expected "
            "objects with ts, ms_played and spotify_track_uri, or JSON Lines (one object per line)",
        )
    if head.startswith(b"{"):
        return "jsonl"
    raise UnreadableFileError(path, "not JSON: expected JSON Lines (one object per line)")


def read_landing_file(path_or_uri: str | Path, *, filesystem: FileSystem | None = None) -> RawBatch:
    """The whole file as one ``RawBatch`` (raises ``UnreadableFileError``)."""
    import pyarrow as pa

    batches = list(iter_landing_batches(path_or_uri, filesystem=filesystem))
    first = batches[0]
    return RawBatch(
        source_file=first.source_file,
        source_format=first.source_format,
        table=pa.concat_tables([b.table for b in batches]),
        lines=pa.concat_arrays([b.lines for b in batches]),
        rejected=[r for b in batches for r in b.rejected],
        listener_folder=first.listener_folder,
    )


def iter_landing_batches(
    path_or_uri: str | Path,
    *,
    filesystem: FileSystem | None = None,
    batch_records: int = TEXT_BATCH_RECORDS,
) -> Iterator[RawBatch]:
    """The file as a stream of ``RawBatch``es (Parquet by row group, text by record count).

    Always yields at least one batch for a readable file. ``UnreadableFileError`` may come after
    some batches (a Parquet row group can be corrupt), so callers must treat a file's batches
    as all-or-nothing.
    """
    display = str(path_or_uri)
    fs, fs_path = resolve_path(display, filesystem)
    try:
        with fs.open_input_file(fs_path) as handle:
            head = handle.read(HEAD_BYTES)
    except (OSError, ValueError) as exc:
        raise UnreadableFileError(display, f"cannot open: {exc}") from exc
    fmt = detect_format(display, head)
    if fmt == "parquet":
        yield from _parquet_batches(display, fs, fs_path)
        return
    with fs.open_input_file(fs_path) as handle:
        data = handle.read()
    text = _decode(display, data)
    if fmt == "jsonl":
        yield from _jsonl_batches(display, text, batch_records)
    elif fmt == "csv":
        yield from _csv_batches(display, data, text, batch_records)
    else:
        yield _extended_history_batch(display, fs_path, text)


def resolve_path(path: str, filesystem: FileSystem | None) -> tuple[FileSystem, str]:
    """The filesystem and in-filesystem path for a local path or a URI (``s3://...``)."""
    from pyarrow import fs as pafs

    if filesystem is not None:
        return filesystem, path
    if "://" in path:
        return pafs.FileSystem.from_uri(path)
    return pafs.LocalFileSystem(), str(Path(path).resolve())


def _decode(path: str, data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFileError(
            path, f"not valid UTF-8 (bad byte at offset {exc.start}): expected UTF-8 text"
        ) from None
    if not text.strip():
        raise UnreadableFileError(path, "file is empty: expected stream events")
    return text


def _make_batch(
    path: str,
    fmt: SourceFormat,
    columns: dict[str, Any],
    lines: Any,
    rejected: list[RejectedRecord],
    listener_folder: str | None = None,
) -> RawBatch:
    """Assemble a batch with every v1 column present, absent ones as typed nulls."""
    import pyarrow as pa

    num_rows = len(lines)
    arrays = []
    for name in V1_COLUMNS:
        value = columns.get(name)
        if value is None:
            value = pa.nulls(num_rows, pa.string())
        elif isinstance(value, list):
            value = pa.array(value, pa.string())
        elif name in REQUIRED_COLUMNS[:3] + OPTIONAL_STRING_COLUMNS:
            value = _as_string(value)
        arrays.append(value)
    return RawBatch(
        source_file=path,
        source_format=fmt,
        table=pa.Table.from_arrays(arrays, names=list(V1_COLUMNS)),
        lines=pa.array(lines, pa.int64()),
        rejected=rejected,
        listener_folder=listener_folder,
    )


def as_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The values as one array: the chunk itself when there is only one (pyarrow's
    ``combine_chunks`` copies even then), else the chunks concatenated."""
    import pyarrow as pa

    if not isinstance(values, pa.ChunkedArray):
        return values
    if values.num_chunks == 1:
        return values.chunk(0)
    if values.num_chunks == 0:
        return pa.array([], values.type)
    return values.combine_chunks()


def _as_string(values: Any) -> Any:
    """Id-like columns are text whatever a producer typed them as (numeric ids, categoricals)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = as_array(values)
    if pa.types.is_string(values.type):
        return values
    if pa.types.is_dictionary(values.type):
        if pa.types.is_string(values.type.value_type):
            return values  # repetitive text stays encoded: validation checks each value once
        values = values.dictionary_decode()
    return pc.cast(values, pa.string())


def _jsonl_batches(path: str, text: str, batch_records: int) -> Iterator[RawBatch]:
    import duckdb
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    all_lines = pa.array(text.split("\n"), pa.large_string())
    del text
    nonblank = pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(all_lines)), 0)
    line_numbers = np.flatnonzero(nonblank.to_numpy(zero_copy_only=False)) + 1
    records = all_lines.filter(nonblank)
    del all_lines
    # One JSON parse per line for all fields: DuckDB's multi-path json_extract_string. A line
    # that is not a JSON object is a rejected record, never a file failure.
    paths = ", ".join(f"'$.\"{name}\"'" for name in V1_COLUMNS)
    picks = ", ".join(f"v[{i + 1}] AS {name}" for i, name in enumerate(V1_COLUMNS))
    con = duckdb.connect()
    try:
        for start in range(0, len(records), batch_records) or [0]:
            chunk = pa.table(
                {
                    "__line": pa.array(line_numbers[start : start + batch_records], pa.int64()),
                    "__text": records.slice(start, batch_records),
                }
            )
            con.register("jsonl_chunk", chunk)
            result = con.execute(
                f"""
                WITH parsed AS (
                    SELECT __line, __text,
                        CASE WHEN json_valid(__text) THEN json_type(__text) END AS kind
                    FROM jsonl_chunk
                )
                SELECT __line, kind, __text, {picks}
                FROM (
                    SELECT __line, kind,
                        CASE WHEN kind IS DISTINCT FROM 'OBJECT' THEN __text END AS __text,
                        CASE WHEN kind = 'OBJECT' THEN json_extract_string(__text, [{paths}]) END
                            AS v
                    FROM parsed
                )
                ORDER BY __line
                """  # noqa: S608 -- picks and paths come from the constant V1_COLUMNS
            ).to_arrow_table()
            good = pc.equal(pc.fill_null(result["kind"], ""), "OBJECT")
            bad = result.filter(pc.invert(good)).select(["__line", "kind", "__text"]).to_pylist()
            rejected = [
                RejectedRecord(
                    line=row["__line"],
                    reason="line is not valid JSON"
                    if row["kind"] is None
                    else f"line is a JSON {row['kind'].lower()}, not an object",
                    raw=redact_listener_text(row["__text"]),
                )
                for row in bad
            ]
            ok = result.filter(good)
            yield _make_batch(
                path,
                "jsonl",
                {name: ok[name] for name in V1_COLUMNS},
                ok["__line"].combine_chunks(),
                rejected,
            )
    finally:
        con.close()


def _csv_batches(path: str, data: bytes, text: str, batch_records: int) -> Iterator[RawBatch]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv

    header_line = text.lstrip().split("\n", 1)[0]
    header = [name.strip() for name in next(csv.reader([header_line]))]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise UnreadableFileError(
            path,
            f"CSV header lacks required stream event v1 column(s) {', '.join(missing)}: "
            f"expected a header with {', '.join(REQUIRED_COLUMNS)}",
        )
    if len(set(header)) != len(header):
        raise UnreadableFileError(path, "CSV header repeats a column name")
    del text
    listener_pos = header.index("listener_id")

    # pyarrow numbers invalid rows by non-empty physical line, skipping blank lines; map that
    # back to file line numbers. Newlines inside quoted values are not allowed (v1 has no
    # free text), so one record is always one line and this mapping holds.
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(buf)]))
    crlf = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13)
    nonempty_lines = np.flatnonzero((ends - starts - crlf) > 0) + 1

    invalid: list[tuple[int, str, str]] = []

    def on_invalid(row: Any) -> str:
        line = int(nonempty_lines[row.number - 1]) if row.number is not None else 0
        invalid.append(
            (
                line,
                f"CSV row has {row.actual_columns} fields, expected {row.expected_columns}",
                row.text,
            )
        )
        return "skip"

    present = [name for name in V1_COLUMNS if name in header]
    try:
        table = pcsv.read_csv(
            io.BytesIO(data),
            read_options=pcsv.ReadOptions(use_threads=False, block_size=16 << 20),
            parse_options=pcsv.ParseOptions(
                newlines_in_values=False, invalid_row_handler=on_invalid
            ),
            convert_options=pcsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                include_columns=present,
                null_values=[""],
                strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, ValueError) as exc:
        raise UnreadableFileError(path, f"not a readable CSV file: {exc}") from exc
    del data, buf
    invalid_lines = {line for line, _, _ in invalid}
    data_lines = nonempty_lines[1:]  # the first non-empty line is the header
    if invalid_lines:
        data_lines = data_lines[~np.isin(data_lines, np.fromiter(invalid_lines, np.int64))]
    rejected = [
        RejectedRecord(line=line, reason=reason, raw=_redact_csv_row(row, listener_pos))
        for line, reason, row in invalid
    ]
    for start in range(0, table.num_rows, batch_records) or [0]:
        chunk = table.slice(start, batch_records)
        yield _make_batch(
            path,
            "csv",
            {name: chunk[name] for name in present},
            data_lines[start : start + chunk.num_rows],
            rejected if start == 0 else [],
        )


def _redact_csv_row(text: str, listener_pos: int) -> str:
    try:
        fields = next(csv.reader([text]))
    except (csv.Error, StopIteration):
        return redact_listener_text(text)
    if listener_pos < len(fields):
        fields[listener_pos] = REDACTED
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue()[:MAX_RAW_CHARS]


def _parquet_batches(path: str, fs: FileSystem, fs_path: str) -> Iterator[RawBatch]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        source = fs.open_input_file(fs_path)
        parquet = pq.ParquetFile(source)
    except (pa.ArrowException, OSError) as exc:
        raise UnreadableFileError(
            path, f"not a readable Parquet file (truncated or corrupt?): {exc}"
        ) from exc
    names = set(parquet.schema_arrow.names)
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise UnreadableFileError(
            path,
            f"Parquet file lacks required stream event v1 column(s) {', '.join(missing)}: "
            f"expected {', '.join(REQUIRED_COLUMNS)}",
        )
    present = [name for name in V1_COLUMNS if name in names]
    # Repetitive text is read as dictionaries (from the file's own dictionary pages where it
    # has them): validation then checks each distinct value once, and ingestion keeps the
    # indices instead of a string per row.
    repetitive = [
        name
        for name in DICTIONARY_READ_COLUMNS
        if name in names and _is_plain_text(parquet.schema_arrow.field(name).type)
    ]
    if repetitive:
        try:
            parquet = pq.ParquetFile(source, read_dictionary=repetitive)
        except (pa.ArrowException, OSError) as exc:
            raise UnreadableFileError(
                path, f"not a readable Parquet file (truncated or corrupt?): {exc}"
            ) from exc
    offset = 0
    for group in range(max(parquet.num_row_groups, 1)):
        try:
            chunk = (
                parquet.read_row_group(group, columns=present)
                if parquet.num_row_groups
                else parquet.schema_arrow.empty_table().select(present)
            )
        except (pa.ArrowException, OSError) as exc:
            raise UnreadableFileError(
                path, f"Parquet row group {group} cannot be read (truncated or corrupt?): {exc}"
            ) from exc
        lines = np.arange(offset + 1, offset + chunk.num_rows + 1, dtype=np.int64)
        offset += chunk.num_rows
        yield _make_batch(path, "parquet", {n: chunk[n] for n in present}, lines, [])


def _is_plain_text(arrow_type: pa.DataType) -> bool:
    import pyarrow as pa

    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def _extended_history_batch(path: str, fs_path: str, text: str) -> RawBatch:
    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableFileError(
            path, f"not valid JSON ({exc}): expected a Spotify extended streaming history array"
        ) from None
    if not isinstance(records, list) or not any(
        isinstance(r, dict) and {"ts", "ms_played", "spotify_track_uri"} <= r.keys()
        for r in records
    ):
        raise UnreadableFileError(
            path, "expected a JSON array of extended streaming history objects"
        )
    folder = posixpath.basename(posixpath.dirname(fs_path.replace("\\", "/")))
    plays: list[dict[str, Any]] = []
    listeners: list[str | None] = []
    lines: list[int] = []
    rejected: list[RejectedRecord] = []
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            rejected.append(
                RejectedRecord(number, "record is not a JSON object", _safe_json(record))
            )
            continue
        listener = _text(record.get("username")) or folder
        if record.get("spotify_track_uri") is None and any(
            record.get(name) is not None for name in EXTENDED_NON_MUSIC_FIELDS
        ):
            rejected.append(
                RejectedRecord(number, NOT_MUSIC_REASON, _safe_extended(record), listener)
            )
            continue
        plays.append(record)
        listeners.append(listener)
        lines.append(number)
    # Column by column: a whole history is millions of plays, and the text of most values is
    # the string itself, taken without a call.
    columns: dict[str, list[Any]] = {"listener_id": listeners}
    for column, source in EXTENDED_FIELD_MAP.items():
        values = [play.get(source) for play in plays]
        columns[column] = [v if v.__class__ is str and v else _text(v) for v in values]
    return _make_batch(path, "extended_history", columns, lines, rejected, folder)


def _text(value: Any) -> str | None:
    """JSON scalar to the text a v1 producer would have written (bools as true/false)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if value.__class__ is int:
        return str(value)  # what json.dumps writes for an int, without the encoder
    return json.dumps(value)


def _safe_extended(record: dict[str, Any]) -> str:
    """An extended-history record fit to store: no IP, user agent or username."""
    return _safe_json({k: v for k, v in record.items() if k not in EXTENDED_PRIVATE_FIELDS})


def _safe_json(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)[:MAX_RAW_CHARS]
