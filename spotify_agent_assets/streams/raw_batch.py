"""What a landing-file reader hands over: ``RawBatch``, and the two kinds of reader failure.

Apart from ``readers`` because every per-format reader builds these, and validation,
quarantine and ingestion consume them. Two kinds of failure are kept apart:

* the FILE cannot be read at all (not UTF-8, not JSON, truncated Parquet, empty, unknown kind,
  no v1 columns): ``UnreadableFileError`` naming the file and what was expected;
* one RECORD cannot be parsed (a JSONL line that is not a JSON object, a CSV row with the wrong
  number of fields, a podcast in an extended-history export): a ``RejectedRecord`` with its
  line, so the rest of the file still lands.

Raw listener ids are still present in ``RawBatch.table`` (ingestion needs them to compute the
HMAC); the ``raw`` text of rejected records already has the listener field redacted
(``redact_listener_text`` for text that could not be parsed).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from spotify_agent_assets.streams.event_schema import (
    OPTIONAL_STRING_COLUMNS,
    REQUIRED_COLUMNS,
    V1_COLUMNS,
    SourceFormat,
)

if TYPE_CHECKING:
    import pyarrow as pa

# Stored raw text is for a human to look at; a multi-megabyte garbage line helps nobody.
MAX_RAW_CHARS = 2000
REDACTED = "<redacted>"
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


def require_v1_columns(path: str, present: Collection[str], lacking: str, expected: str) -> None:
    """Refuse a file whose columns lack a required stream event v1 column; the message says
    what lacks them (``lacking``) and what was expected (``expected``, then the names)."""
    missing = [name for name in REQUIRED_COLUMNS if name not in present]
    if missing:
        raise UnreadableFileError(
            path,
            f"{lacking} lacks required stream event v1 column(s) {', '.join(missing)}: "
            f"{expected} {', '.join(REQUIRED_COLUMNS)}",
        )


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


def make_batch(
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
