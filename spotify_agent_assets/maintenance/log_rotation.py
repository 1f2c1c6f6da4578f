"""Rotating log files: compress aside, fsync, rename into place, then remove the original.

Generic over what the logs are: our audit logs (``<data>/logs/*.jsonl``, JSON lines) and
Dagster's compute logs (``<DAGSTER_HOME>/storage/<run_id>/compute_logs/<step>.out|.err``).

Never a lost line: a file is compressed only once nobody has written it for ``min_age``; the
compressed copy is written through ``lake.atomic_file`` (a locked temp file beside the target,
fsynced, renamed, folder fsynced) and the original is removed only after that rename, and only
if its size and modification time are still those it had when compression started (a writer
that woke up meanwhile keeps its file, which the next rotation takes). A crash at any point
leaves the original, the compressed copy, or both (the next rotation then compresses the
original again over the same target), never neither.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from spotify_agent_assets.lake.atomic_file import atomic_path

GZ_SUFFIX = ".gz"
COPY_CHUNK_BYTES = 1 << 20


class LogChangedWhileCompressingError(RuntimeError):
    """The original was written to while its compressed copy was made; nothing was replaced."""


@dataclass
class RotationResult:
    """Files compressed (original -> compressed), compressed files removed beyond ``keep``,
    and files left alone because they were written recently or during compression."""

    compressed: dict[str, str] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    skipped_active: list[str] = field(default_factory=list)

    def merge(self, other: RotationResult) -> None:
        self.compressed |= other.compressed
        self.removed += other.removed
        self.skipped_active += other.skipped_active


def gzip_atomically(source: Path, target: Path | None = None) -> Path:
    """Compress ``source`` to ``target`` (default ``<source>.gz``), then remove ``source``.

    The compressed file keeps the original's modification time, so rotation by age still sees
    when the log was last written. Raises ``LogChangedWhileCompressingError`` (and leaves
    ``source`` as it is, ``target`` untouched) when ``source`` changed meanwhile.
    """
    source = Path(source)
    target = Path(target) if target is not None else source.with_name(source.name + GZ_SUFFIX)
    before = source.stat()
    with atomic_path(target) as temp:
        # mtime=0 in the gzip header: the same log compresses to the same bytes.
        with (
            open(source, "rb") as raw,
            open(temp, "wb") as out,
            gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as packed,
        ):
            shutil.copyfileobj(raw, packed, COPY_CHUNK_BYTES)
        after = source.stat()
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            raise LogChangedWhileCompressingError(
                f"{source} was written while it was compressed; left as it is"
            )
        os.utime(temp, ns=(before.st_atime_ns, before.st_mtime_ns))
    source.unlink()
    return target


def compress_idle_files(
    files: list[Path], min_age: dt.timedelta, now: dt.datetime, target_for=None
) -> RotationResult:
    """gzip each of ``files`` not modified for ``min_age``; the others are reported as active."""
    result = RotationResult()
    newest_allowed = (now - min_age).timestamp()
    for path in sorted(files):
        if path.stat().st_mtime > newest_allowed:
            result.skipped_active.append(str(path))
            continue
        target = target_for(path) if target_for is not None else None
        try:
            result.compressed[str(path)] = str(gzip_atomically(path, target))
        except LogChangedWhileCompressingError:
            result.skipped_active.append(str(path))
    return result


def keep_newest(files: list[Path], keep: int) -> list[str]:
    """Remove all but the ``keep`` most recently modified of ``files``; returns the removed."""
    if keep < 0:
        raise ValueError(f"keep={keep} must be >= 0")
    ordered = sorted(files, key=lambda path: (path.stat().st_mtime_ns, path.name), reverse=True)
    removed = []
    for path in ordered[keep:]:
        path.unlink(missing_ok=True)
        removed.append(str(path))
    return removed


def rotate_jsonl_logs(
    folder: Path, keep: int, min_age: dt.timedelta, now: dt.datetime
) -> RotationResult:
    """Audit logs: compress each idle ``*.jsonl`` of ``folder`` to ``*.jsonl.gz`` and keep the
    newest ``keep`` compressed files. A name already rotated once gets the log's last-write
    time in its name instead of replacing the older archive."""
    if keep < 0:
        raise ValueError(f"keep={keep} must be >= 0: the number of compressed logs kept")
    folder = Path(folder)
    if not folder.is_dir():
        return RotationResult()

    def target_for(path: Path) -> Path:
        plain = path.with_name(path.name + GZ_SUFFIX)
        # The same last-write time: a rotation killed before removing this very log.
        if not plain.exists() or plain.stat().st_mtime_ns == path.stat().st_mtime_ns:
            return plain
        stamp = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).strftime("%Y%m%dT%H%M%S")
        return path.with_name(f"{path.stem}.{stamp}.jsonl{GZ_SUFFIX}")

    result = compress_idle_files(sorted(folder.glob("*.jsonl")), min_age, now, target_for)
    result.removed += keep_newest(sorted(folder.glob(f"*.jsonl{GZ_SUFFIX}")), keep)
    return result


def compress_compute_logs(
    base_dir: Path, min_age: dt.timedelta, now: dt.datetime
) -> RotationResult:
    """Dagster's local compute logs: gzip the ``.out``/``.err`` files of finished captures
    (their ``.complete`` marker exists) not written for ``min_age``, as ``<name>.out.gz``.

    Dagster's local compute log manager reads only the plain files, so the UI shows a
    compressed step's stdout/stderr as empty (never an error); the run's event log, which is
    what the run page shows, is not touched. Read one with ``zcat``.
    """
    base_dir = Path(base_dir)
    if not base_dir.is_dir():
        return RotationResult()
    candidates = [
        path
        for pattern in ("*/compute_logs/*.out", "*/compute_logs/*.err")
        for path in base_dir.glob(pattern)
        if path.with_suffix(".complete").exists()
    ]
    return compress_idle_files(candidates, min_age, now)
