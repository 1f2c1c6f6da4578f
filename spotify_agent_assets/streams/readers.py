"""Read landing-zone files into raw Arrow batches: detect each file's kind, pick its reader.

A reader's job ends at "these are the records and their line numbers": values stay as text
(Parquet keeps its native ``ts``/``ms_played``/boolean types, which validation understands), so
every judgement about a value lives in ``validation``. This module tells the kinds apart and
decodes text; the per-format readers are ``text_readers`` (JSON Lines, CSV),
``parquet_reader`` and ``extended_history_reader``, and what they hand over (``RawBatch``,
``RejectedRecord``, ``UnreadableFileError``) is in ``raw_batch``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from spotify_agent_assets.streams.event_schema import SourceFormat
from spotify_agent_assets.streams.extended_history_reader import extended_history_batch
from spotify_agent_assets.streams.parquet_reader import parquet_batches
from spotify_agent_assets.streams.raw_batch import RawBatch, UnreadableFileError
from spotify_agent_assets.streams.text_readers import csv_batches, jsonl_batches

if TYPE_CHECKING:
    from pyarrow.fs import FileSystem


TEXT_EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv"}
PARQUET_MAGIC = b"PAR1"
HEAD_BYTES = 64 * 1024
# Text files are split into batches of this many records so validation's working set stays
# bounded; Parquet is streamed by row group instead.
TEXT_BATCH_RECORDS = 1_000_000


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
        yield from parquet_batches(display, fs, fs_path)
        return
    with fs.open_input_file(fs_path) as handle:
        data = handle.read()
    text = _decode(display, data)
    if fmt == "jsonl":
        yield from jsonl_batches(display, text, batch_records)
    elif fmt == "csv":
        yield from csv_batches(display, data, text, batch_records)
    else:
        yield extended_history_batch(display, fs_path, text)


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
