"""Retention of listening data: what is older than the cutoff leaves the lake and the landing zone.

``stream_events`` and ``stream_quarantine`` are stored one file per UTC day
(``date=YYYY-MM-DD/part-0.parquet``); a quarantined record is filed under its file's home day
(the file's earliest event day, else its folder's day, else the day it landed), so "older than
the cutoff" is the partition's day for both tables, and a day leaves by deleting its partition
folder: one unlink of the only visible file (atomic locally, one DELETE on S3), never a rewrite.

Nothing may bring a deleted day back. Two things could: landing files that still hold its
events, and the ingestion's own rule that a day whose landing files differ from what is stored
is rebuilt (``streams.provenance``). So:

- landing files whose every day (events and home day) is before the cutoff are deleted too:
  they hold raw listener ids, which retention exists to stop keeping;
- a file that also holds newer days (an extended-history export spanning years) must stay,
  so the cutoff is recorded in the lake (``INGESTION_FLOOR_FILE``) before anything is deleted,
  and the landing sensor and the hourly schedule request no day before it
  (``StreamLandingResource.stale_days``). The floor only moves forward.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from spotify_agent_assets.lake.parquet_lake import PART_FILE, ParquetLake

if TYPE_CHECKING:
    from pyarrow.fs import FileSystem

    from spotify_agent_assets.streams.landing_index import LandingIndex

STREAMS_GROUP = "streams"
# Both tables one ingestion step writes; quarantine first, so that a run killed in between
# leaves a day without its quarantine (no longer "stored", and below the floor) rather than
# quarantine rows whose events are gone.
RETAINED_TABLES = ("stream_quarantine", "stream_events")
# Beside the tables, not inside one: no table glob (``*/date=*/*.parquet``) matches it.
INGESTION_FLOOR_FILE = "_maintenance/stream_ingestion_floor.json"


class RetentionConfigError(ValueError):
    """A retention setting holds a value retention cannot use."""


def retention_cutoff(today: dt.date, retention_days: int) -> dt.date:
    """The first day kept: days before ``today - retention_days`` are deleted."""
    if isinstance(retention_days, bool) or not isinstance(retention_days, int):
        raise RetentionConfigError(
            f"retention_days={retention_days!r} is not a number of days; expected an int >= 1"
        )
    if retention_days < 1:
        raise RetentionConfigError(
            f"retention_days={retention_days} would delete today's events; expected >= 1"
        )
    return today - dt.timedelta(days=retention_days)


@dataclass(frozen=True)
class DeletedPartitions:
    """The days one table lost, and how many rows they held."""

    table: str
    days: tuple[str, ...] = ()
    rows: int = 0


@dataclass(frozen=True)
class LandingPurge:
    """Landing files deleted (every day before the cutoff) and those kept though they hold old
    days too (they also hold newer ones; the ingestion floor keeps their old days out)."""

    deleted: tuple[str, ...] = ()
    kept_spanning: tuple[str, ...] = ()


@dataclass
class StreamRetentionResult:
    cutoff: dt.date
    tables: dict[str, DeletedPartitions] = field(default_factory=dict)
    landing: LandingPurge = field(default_factory=LandingPurge)

    @property
    def changed(self) -> bool:
        return bool(self.landing.deleted) or any(t.days for t in self.tables.values())


def floor_uri(lake: ParquetLake) -> str:
    return f"{lake.root}/{INGESTION_FLOOR_FILE}"


def read_ingestion_floor(lake: ParquetLake) -> dt.date | None:
    """The first day ingestion may (re)build, as the last retention run left it; None if none."""
    path = floor_uri(lake).removeprefix("s3://")
    try:
        with lake.filesystem.open_input_stream(path) as handle:
            document = json.loads(handle.read().decode())
    except FileNotFoundError:
        return None
    try:
        return dt.date.fromisoformat(document["first_day"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(
            f"{floor_uri(lake)} holds {document!r}; expected {{'first_day': 'YYYY-MM-DD'}}"
        ) from error


def raise_ingestion_floor(lake: ParquetLake, cutoff: dt.date) -> dt.date:
    """Record ``cutoff`` as the first day ingestion may build, unless a later one is recorded
    (a retention run with a longer window must not reopen days already deleted)."""
    current = read_ingestion_floor(lake)
    if current is not None and current >= cutoff:
        return current
    document = {"first_day": cutoff.isoformat(), "set_by": "retention_job"}
    lake.write_file(floor_uri(lake), json.dumps(document, sort_keys=True).encode())
    return cutoff


def expired_days(lake: ParquetLake, table: str, cutoff: dt.date) -> list[str]:
    """Stored partitions of ``streams.<table>`` before ``cutoff``, oldest first."""
    return [key for key in lake.partitions(STREAMS_GROUP, table) if key < cutoff.isoformat()]


def delete_partitions(lake: ParquetLake, table: str, days: Iterable[str]) -> DeletedPartitions:
    """Delete these day partitions of ``streams.<table>``; returns their row count (from the
    footers, read before deleting)."""
    import pyarrow.parquet as pq

    days = tuple(days)
    rows = 0
    for day in days:
        folder = lake.partition_uri(STREAMS_GROUP, table, day).removeprefix("s3://")
        part = f"{folder}/{PART_FILE}"
        try:
            with lake.filesystem.open_input_file(part) as handle:
                rows += pq.ParquetFile(handle).metadata.num_rows
        except FileNotFoundError:
            pass
        # The part file first (one atomic unlink or DELETE: the day is gone for every reader),
        # then the folder with any temp file a killed writer left in it.
        with contextlib.suppress(FileNotFoundError):
            lake.filesystem.delete_file(part)
        if _exists(lake.filesystem, folder):
            lake.filesystem.delete_dir(folder)
    return DeletedPartitions(table=table, days=days, rows=rows)


def expired_landing_files(index: LandingIndex, cutoff: dt.date) -> LandingPurge:
    """Landing files whose events and home day are all before ``cutoff`` (to delete), and
    those that hold such days besides newer ones (kept)."""
    deleted, spanning = [], []
    for path, entry in sorted(index.entries.items()):
        days = {*entry.days, entry.home_day}
        if max(days) < cutoff:
            deleted.append(path)
        elif min(days) < cutoff:
            spanning.append(path)
    return LandingPurge(deleted=tuple(deleted), kept_spanning=tuple(spanning))


def delete_landing_files(filesystem: FileSystem, paths: Iterable[str]) -> None:
    for path in paths:
        # Already gone on a re-run after a crash.
        with contextlib.suppress(FileNotFoundError):
            filesystem.delete_file(path)


def apply_stream_retention(
    lake: ParquetLake,
    cutoff: dt.date,
    landing: FileSystem | None = None,
    index: LandingIndex | None = None,
) -> StreamRetentionResult:
    """Delete every day before ``cutoff`` from both stream tables and, given the landing zone
    and its current index, the landing files holding only such days. The ingestion floor is
    raised first, so no sensor tick rebuilds a day while (or after) it is deleted."""
    raise_ingestion_floor(lake, cutoff)
    result = StreamRetentionResult(cutoff=cutoff)
    if landing is not None and index is not None:
        result.landing = expired_landing_files(index, cutoff)
        delete_landing_files(landing, result.landing.deleted)
    for table in RETAINED_TABLES:
        result.tables[table] = delete_partitions(lake, table, expired_days(lake, table, cutoff))
    if result.changed:
        from spotify_agent_assets.observability.audit_log import record_action

        deleted = {t: list(d.days) for t, d in result.tables.items() if d.days}
        record_action(
            "retention_delete",
            f"deleted the days before {cutoff}: "
            + ", ".join(f"{t} {len(days)} day(s)" for t, days in deleted.items())
            + f"; {len(result.landing.deleted)} landing file(s)",
            row_count=sum(d.rows for d in result.tables.values()),
            cutoff=cutoff.isoformat(),
            partitions_deleted=deleted,
            landing_files_deleted=len(result.landing.deleted),
        )
    return result


def _exists(filesystem: FileSystem, path: str) -> bool:
    from pyarrow.fs import FileType

    return filesystem.get_file_info(path).type != FileType.NotFound
