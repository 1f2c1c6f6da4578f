"""Erased listeners in the stream landing zone, where they are still raw ids.

The next ingestion of a landing file would bring a listener back (the ledger stops that, but
the raw id would stay on disk), so each file holding an erased listener is changed in its own
format, through one atomic replacement (a local rename, one PUT on S3):

* an extended-history export in a listener's own folder, with no other listener, is removed
  (and its folder with its last file), as is any file there that is not a readable export;
* JSON Lines and CSV lose the lines of that listener (other lines are kept byte for byte;
  a line that cannot be parsed but holds the id is dropped too);
* Parquet is rewritten without their rows; an extended-history array without their records.

What is reported never holds a raw id: a folder named after a listener is shown as
``<erased listener N>`` (N: the position in the request).
"""

from __future__ import annotations

import csv
import json
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from spotify_agent_assets.lake.atomic_file import write_bytes
from spotify_agent_assets.streams.landing_index import list_landing_files
from spotify_agent_assets.streams.raw_batch import UnreadableFileError
from spotify_agent_assets.streams.readers import HEAD_BYTES, detect_format

if TYPE_CHECKING:
    from pyarrow.fs import FileSystem

LISTENER_FIELD = "listener_id"


@dataclass(frozen=True)
class LandingChange:
    """What was (or is to be) done to one landing file, fit to store: no raw id."""

    path: str
    action: str  # "removed" or "rewritten"
    records: int

    def as_dict(self) -> dict[str, object]:
        return {"file": self.path, "action": self.action, "records_removed": self.records}


def shown_path(path: str, raw_ids: Sequence[str]) -> str:
    """``path`` with any segment naming an erased listener replaced by its position."""
    positions = {raw: i for i, raw in enumerate(raw_ids, start=1)}
    return "/".join(
        f"<erased listener {positions[part]}>" if part in positions else part
        for part in path.split("/")
    )


def erase_landing(
    filesystem: FileSystem, local_root: Path | None, raw_ids: Sequence[str], *, apply: bool
) -> tuple[list[LandingChange], set[str]]:
    """Find (``apply=False``) or make (``apply=True``) the changes erasing ``raw_ids`` from the
    zone, and which of the ids were found. ``local_root`` is the zone's folder when it is
    local (for atomic renames)."""
    wanted = set(raw_ids)
    changes: list[LandingChange] = []
    found: set[str] = set()
    for file in list_landing_files(filesystem):
        with filesystem.open_input_stream(file.path) as handle:
            data = handle.read()
        try:
            fmt = detect_format(file.path, data[:HEAD_BYTES])
        except UnreadableFileError:
            fmt = None  # ingestion refuses it; still no place for an erased id
        folder = posixpath.basename(posixpath.dirname(file.path))
        if fmt == "parquet":
            new, removed = _parquet_without(data, wanted)
        elif fmt == "extended_history" or folder in wanted:
            new, removed = _extended_without(data, wanted, folder)
        elif not any(raw.encode() in data for raw in wanted):
            continue
        elif fmt == "csv":
            new, removed = _csv_without(data, wanted)
        else:
            new, removed = _lines_without(data, wanted)
        if new is not None and new == data:
            continue
        found |= _present(data, wanted, folder)
        action = "removed" if new is None else "rewritten"
        changes.append(LandingChange(shown_path(file.path, raw_ids), action, removed))
        if apply:
            _replace(filesystem, local_root, file.path, new)
    return changes, found


def _present(data: bytes, wanted: set[str], folder: str) -> set[str]:
    """Which erased ids a file that loses records holds (its folder, or the id as text)."""
    return {raw for raw in wanted if raw == folder or raw.encode() in data}


def _replace(filesystem: FileSystem, local_root: Path | None, path: str, data: bytes | None):
    if local_root is not None:
        target = local_root / path
        if data is None:
            target.unlink(missing_ok=True)
            if target.parent != local_root and not any(target.parent.iterdir()):
                target.parent.rmdir()
        else:
            write_bytes(target, data)
    elif data is None:
        filesystem.delete_file(path)
    else:
        with filesystem.open_output_stream(path) as out:  # one PUT
            out.write(data)


def _split_lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def _lines_without(data: bytes, wanted: set[str]) -> tuple[bytes, int]:
    kept, removed = [], 0
    for line in _split_lines(data):
        if not any(raw.encode() in line for raw in wanted):
            kept.append(line)
            continue
        try:
            record = json.loads(line)
            listener = record.get(LISTENER_FIELD) if isinstance(record, dict) else None
        except (ValueError, UnicodeDecodeError):
            listener = next(iter(wanted))  # unparseable and holding the id: dropped
        if isinstance(listener, str) and listener.strip() in wanted:
            removed += 1
        else:
            kept.append(line)
    return b"".join(kept), removed


def _csv_without(data: bytes, wanted: set[str]) -> tuple[bytes, int]:
    lines = _split_lines(data)
    if not lines:
        return data, 0
    header = next(csv.reader([lines[0].decode("utf-8-sig")]))
    if LISTENER_FIELD not in header:
        return data, 0
    position = header.index(LISTENER_FIELD)
    kept, removed = [lines[0]], 0
    for line in lines[1:]:
        if not any(raw.encode() in line for raw in wanted):
            kept.append(line)
            continue
        try:
            fields = next(csv.reader([line.decode("utf-8")]))
            listener = fields[position].strip() if position < len(fields) else None
        except (csv.Error, UnicodeDecodeError, StopIteration):
            listener = next(iter(wanted))
        if listener in wanted:
            removed += 1
        else:
            kept.append(line)
    return b"".join(kept), removed


def _parquet_without(data: bytes, wanted: set[str]) -> tuple[bytes, int]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(pa.BufferReader(data))
    if LISTENER_FIELD not in table.column_names:
        return data, 0
    ids = pc.utf8_trim_whitespace(table[LISTENER_FIELD].cast(pa.string()))
    hit = pc.fill_null(pc.is_in(ids, pa.array(sorted(wanted), pa.string())), False)
    removed = pc.sum(hit).as_py() or 0
    if not removed:
        return data, 0
    sink = pa.BufferOutputStream()
    pq.write_table(table.filter(pc.invert(hit)), sink, compression="zstd")
    return sink.getvalue().to_pybytes(), removed


def _extended_without(data: bytes, wanted: set[str], folder: str) -> tuple[bytes | None, int]:
    """An export without erased listeners' records (``username``, else its folder), or None
    when nothing else is left in it."""
    try:
        records = json.loads(data)
    except ValueError:
        # Ingestion refuses it whole; in the listener's own folder it is theirs, else search
        # it line by line like any text.
        return (None, 0) if folder in wanted else _lines_without(data, wanted)

    def listener(record: object) -> str | None:
        name = record.get("username") if isinstance(record, dict) else None
        return name if isinstance(name, str) and name else folder

    kept = [r for r in records if listener(r) not in wanted]
    removed = len(records) - len(kept)
    if not kept and (removed or folder in wanted):
        return None, removed  # even an empty export: its folder names the listener
    if not removed:
        return data, 0
    return json.dumps(kept, ensure_ascii=False).encode(), removed
