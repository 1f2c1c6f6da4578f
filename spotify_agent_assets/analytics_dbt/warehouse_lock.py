"""The warehouse writer lock, held for the whole of a dbt invocation.

DuckDB lets one process at a time open the warehouse file for writing. Our writers queue on an
exclusive ``flock`` of ``Warehouse.lock_path`` (see ``Warehouse.writer()``, which takes the same
lock around its own connection). dbt runs as a subprocess that opens the file itself, so the
lock is taken around the subprocess rather than around a connection of ours.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive_warehouse_lock(
    lock_path: Path, on_wait: Callable[[str], None] | None = None
) -> Iterator[float]:
    """Hold the exclusive writer lock; yields the seconds spent waiting for it.

    ``on_wait`` is told once when another writer holds the lock and this one has to queue.
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as lock_file:
        started = time.monotonic()
        try:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait(f"another process holds the warehouse writer lock {lock_path}; waiting")
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
        try:
            yield time.monotonic() - started
        finally:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)
