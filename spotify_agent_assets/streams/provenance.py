"""What a stored ``stream_events`` partition was built from, so nothing rebuilds it for nothing.

A partition is a pure function of the landing files that touch its day (``rebuild``). Each
partition file therefore carries, in its Parquet footer, a digest of the distinct content ids
of those files (``landing_index.content_id``) and of the ingestion rules that read them. The
landing sensor and the hourly schedule compute the same digest from the landing index: equal
means the stored day already holds exactly what the zone gives, so no run is requested. A
file touched or re-delivered under another name leaves the digest unchanged; a new, rewritten
or removed file changes it.

Both outputs of a rebuild (events and quarantine) carry the digest, and a day counts as stored
only when both do, so a run that stopped between the two writes is repeated.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

from spotify_agent_assets.streams.landing_index import IndexedFile, LandingIndex

# Bump when the ingestion rules change what a partition holds for the same files: every
# stored day then differs from what the zone would give and is rebuilt when next requested.
INGESTION_VERSION = "1"
DIGEST_KEY = "spotify_agent.sources_digest"
FILES_KEY = "spotify_agent.source_files"


def sources_digest(files: Iterable[IndexedFile]) -> str:
    """Digest of the distinct content of ``files`` (order and duplicates do not matter)."""
    digest = hashlib.sha256(f"stream_events/{INGESTION_VERSION}".encode())
    for content in sorted({f.content_id for f in files}):
        digest.update(b"\n" + content.encode())
    return digest.hexdigest()


def partition_footer(files: Iterable[IndexedFile]) -> dict[str, str]:
    """The footer entries of one day's partition built from ``files``."""
    files = list(files)
    return {DIGEST_KEY: sources_digest(files), FILES_KEY: str(len(files))}


def is_current(
    stored_footers: Iterable[Mapping[str, str] | None], files: Iterable[IndexedFile]
) -> bool:
    """Whether every stored footer records exactly ``files``; a day that no file touches and
    that was never written is current too (there is nothing to ingest: rebuilding it would
    only write an empty partition, and wake everything downstream for nothing)."""
    files = list(files)
    footers = list(stored_footers)
    if not files and all(footer is None for footer in footers):
        return True
    expected = sources_digest(files)
    return all(footer is not None and footer.get(DIGEST_KEY) == expected for footer in footers)


def stale_days(
    days: Iterable[dt.date],
    index: LandingIndex,
    stored_footers: Callable[[dt.date], Sequence[Mapping[str, str] | None]],
) -> list[dt.date]:
    """Those of ``days`` whose stored partitions do not hold exactly what the zone (as
    ``index`` lists it) gives for them: never written, or built from other content."""
    days = sorted(set(days))
    by_day = index.files_by_day(days)
    return [day for day in days if not is_current(stored_footers(day), by_day[day])]


def run_ranges(days: Iterable[dt.date], index: LandingIndex) -> list[tuple[dt.date, dt.date]]:
    """``days`` as few inclusive ranges as possible without redoing stored work.

    Two days go into one range when every day between them is untouched by any landing file
    (rebuilding such a day writes an empty partition, which costs nothing): an imported
    listening history with quiet weeks then becomes one backfill run, not a run per burst.
    Days between them that have files are left out, so their stored partitions stand.
    """
    days = sorted(set(days))
    if not days:
        return []
    touched = {day for entry in index.entries.values() for day in (*entry.days, entry.home_day)}
    ranges = [(days[0], days[0])]
    for day in days[1:]:
        start, end = ranges[-1]
        gap = (end + dt.timedelta(days=offset) for offset in range(1, (day - end).days))
        if touched.isdisjoint(gap):
            ranges[-1] = (start, day)
        else:
            ranges.append((day, day))
    return ranges
