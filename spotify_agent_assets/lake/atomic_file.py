"""Replacing a local file atomically: the one temp-then-rename of the codebase.

A writer creates a hidden temp file beside the target, ``.<name>.<32 hex digits>.tmp``, holds
an exclusive ``flock`` on it while writing, fsyncs it, renames it over the target and fsyncs
the folder. A reader sees the old file or the new one, never part of one, and a crash at any
point leaves the target as it was. Hidden names keep temp files out of every glob that reads
``*.parquet`` and out of the landing-zone scans, which skip dot-files.

A writer killed mid-write (SIGKILL, the OOM killer, a lost node) leaves its temp file behind.
The next successful write of the same target removes that target's temp files that no live
writer holds: the kernel drops a ``flock`` when its holder dies, so a temp file that can be
locked belongs to nobody, while one that cannot is being written right now (two writers of the
same file are not supposed to overlap, but a sensor run and a scheduled run of one partition
can) and is kept. Age would be a guess either way: a slow writer can be older than any
threshold, and waiting an hour would leave every killed write's leftover for an hour. Only
names this module makes for that target are considered; no other file is ever touched.
"""

from __future__ import annotations

import fcntl
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_TEMP_SUFFIX = re.compile(r"[0-9a-f]{32}\.tmp")


def temp_name(target_name: str) -> str:
    """A fresh temp file name for ``target_name``, in the form cleaned up by ``remove_leftovers``."""
    return f".{target_name}.{uuid.uuid4().hex}.tmp"


def is_temp_of(name: str, target_name: str) -> bool:
    """Whether ``name`` is a temp file name made by this module for ``target_name``."""
    prefix = f".{target_name}."
    return name.startswith(prefix) and bool(_TEMP_SUFFIX.fullmatch(name[len(prefix) :]))


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a locked temp path to write ``target``'s new content to; on success it replaces
    ``target`` (fsynced, folder too) and dead writers' leftovers of ``target`` are removed.

    Write through the path (reopening it is fine: the lock is on the file, not the handle).
    If the block raises, the temp file is removed and ``target`` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp = _create_locked_temp(target)
    try:
        try:
            yield temp
            # Through our descriptor: fsync flushes the file, whichever handle wrote it.
            os.fsync(descriptor)
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
    finally:
        os.close(descriptor)  # releases the lock
    # The rename is durable only once the folder entry itself is on disk.
    _fsync_directory(target.parent)
    # Only after the new file is in place: the leftovers were never visible, so removing them
    # changes nothing a reader sees, and a failed write above removes nothing.
    remove_leftovers(target)


def write_bytes(target: str | os.PathLike[str], data: bytes) -> int:
    """Replace ``target`` with ``data`` atomically; returns the number of bytes written."""
    with atomic_path(target) as temp:
        temp.write_bytes(data)
    return len(data)


def remove_leftovers(target: str | os.PathLike[str]) -> list[Path]:
    """Remove ``target``'s temp files whose writer is gone; returns what was removed."""
    target = Path(target)
    try:
        entries = list(os.scandir(target.parent))
    except FileNotFoundError:
        return []
    removed = []
    for entry in entries:
        if is_temp_of(entry.name, target.name) and _remove_if_abandoned(Path(entry.path)):
            removed.append(Path(entry.path))
    return removed


def _create_locked_temp(target: Path) -> tuple[int, Path]:
    """Create and lock a new temp file for ``target``; returns its descriptor and path."""
    while True:
        temp = target.with_name(temp_name(target.name))
        descriptor = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        # Between our open and our lock, another write's cleanup may have locked the new,
        # still unlocked file, taken it for a leftover and unlinked it. Then the name is gone
        # (or no longer ours): start over with a new one rather than write to a lost file.
        try:
            if os.stat(temp).st_ino == os.fstat(descriptor).st_ino:
                return descriptor, temp
        except FileNotFoundError:
            pass
        os.close(descriptor)


def _remove_if_abandoned(path: Path) -> bool:
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:  # gone already, or not ours to read: leave it
        return False
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live writer holds it
        try:
            if os.stat(path).st_ino != os.fstat(descriptor).st_ino:
                return False  # renamed away and the name reused meanwhile
        except FileNotFoundError:
            return False
        path.unlink(missing_ok=True)
        return True
    finally:
        os.close(descriptor)


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
