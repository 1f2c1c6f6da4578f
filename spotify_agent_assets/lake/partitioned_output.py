"""An output of many daily partitions, built one partition at a time as it is written.

A single-run backfill of years of listening events covers thousands of days; holding them all
as one Arrow table before the write would need the whole history in memory as plain strings.
An asset returns a ``PartitionedOutput`` instead: the lake IO manager asks it for one
partition after the other and writes each before the next is held, so memory stays at about
two partitions. Each partition may carry Parquet footer entries (its provenance, say).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

# Partitions built ahead of the one being written: building is Arrow and numpy work that
# releases the GIL, so one partition is built while the previous one is compressed and written.
BUILD_AHEAD = 1


@dataclass
class PartitionedOutput:
    """``keys`` (ISO days) with a function that builds each one's complete table."""

    keys: Sequence[str]
    build: Callable[[str], pa.Table]
    schema: pa.Schema
    footers: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def items(self) -> Iterator[tuple[str, pa.Table, Mapping[str, str] | None]]:
        """``(key, table, footer)`` in key order, at most ``BUILD_AHEAD + 1`` tables held."""
        keys = sorted(self.keys)
        if len(keys) < 2:
            for key in keys:
                yield key, self.build(key), self.footers.get(key)
            return
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending: deque[tuple[str, Future[pa.Table]]] = deque()
            upcoming = iter(keys)
            for key in upcoming:
                pending.append((key, pool.submit(self.build, key)))
                if len(pending) > BUILD_AHEAD:
                    break
            while pending:
                key, future = pending.popleft()
                table = future.result()
                following = next(upcoming, None)
                if following is not None:
                    pending.append((following, pool.submit(self.build, following)))
                yield key, table, self.footers.get(key)
