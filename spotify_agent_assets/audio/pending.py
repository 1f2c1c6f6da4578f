"""Whether a run of the audio job would change anything: what the landing sensor asks.

A run re-scans the zone, analyses content it has no features for, and rebuilds the tables.
When the scan gives the catalogue and quarantine already stored and every catalogued content
already has features, that run would redo stored work, so the sensor requests none. The scan
here is the catalogue's own (``catalog_zone``, reusing every stored entry whose file kept its
size and mtime), so only new or changed files are read; a touched file is hashed again and,
with the same bytes, makes no difference.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from spotify_agent_assets.audio.catalog import CatalogEntry, CatalogScan


@dataclass(frozen=True)
class PendingWork:
    """Paths a run would change in the catalogue or quarantine, and catalogued files whose
    content has no stored analysis from the current extractor."""

    changed: tuple[str, ...]
    unanalysed: tuple[str, ...]

    @property
    def paths(self) -> list[str]:
        return sorted({*self.changed, *self.unanalysed})

    def __bool__(self) -> bool:
        return bool(self.changed or self.unanalysed)


def pending_work(
    scan: CatalogScan,
    stored_catalog: Iterable[Mapping[str, Any]],
    stored_quarantine: Iterable[Mapping[str, Any]],
    stored_features: Iterable[Mapping[str, Any]],
) -> PendingWork:
    """Compare a fresh scan with what is stored (rows of the three tables)."""
    from spotify_agent_assets.audio.feature_rows import files_to_analyse, reusable_features

    def identity(entry: CatalogEntry) -> tuple[Any, ...]:
        # Not mtime: a file touched without changing its bytes is the same recording.
        return (entry.track_id, entry.track_id_source, entry.content_hash, entry.size_bytes)

    stored = {row["path"]: identity(CatalogEntry.from_record(row)) for row in stored_catalog}
    scanned = {entry.path: identity(entry) for entry in scan.entries}
    refused = {row["path"]: row["code"] for row in stored_quarantine}
    refusing = {q.path: q.code for q in scan.quarantined}
    changed = {
        path for path in stored.keys() | scanned.keys() if stored.get(path) != scanned.get(path)
    } | {
        path for path in refused.keys() | refusing.keys() if refused.get(path) != refusing.get(path)
    }
    todo = files_to_analyse(scan.entries, reusable_features(stored_features))
    return PendingWork(tuple(sorted(changed)), tuple(sorted(entry.path for entry in todo)))
