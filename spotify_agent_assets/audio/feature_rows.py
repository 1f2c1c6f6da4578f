"""Incremental feature extraction: which files need analysing, and the rows of the table.

Features are a function of a file's bytes and of the extractor's definitions, so they are keyed
by (``content_hash``, ``extractor_version``). A file whose hash already has features from the
current extractor version is never analysed again, whatever its path or track (a renamed file,
or the same recording delivered for two tracks, is analysed once); a new `EXTRACTOR_VERSION`
matches nothing stored, so everything is analysed again. Failed analyses are stored (status
``failed`` and the error) but not reused: the next run tries them again, since a worker killed by
the out-of-memory killer may well succeed then.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from spotify_agent_assets.audio.catalog import CatalogEntry
from spotify_agent_assets.audio.feature_names import EXTRACTOR_VERSION, FEATURE_NAMES
from spotify_agent_assets.audio.parallel import AnalysisFailure, AnalysisResult
from spotify_agent_assets.audio.signal_columns import SIGNAL_COLUMNS

FAILED = "failed"
ANALYSIS_COLUMNS = (*FEATURE_NAMES, *SIGNAL_COLUMNS)


def reusable_features(
    previous_rows: Iterable[Mapping[str, Any]], version: str = EXTRACTOR_VERSION
) -> dict[str, dict[str, Any]]:
    """Stored analyses that still hold, by content hash: same extractor version, not failed,
    and every column the current extractor writes present (a row from an older schema is
    analysed again rather than padded with nulls)."""
    reusable: dict[str, dict[str, Any]] = {}
    for row in previous_rows:
        if row.get("extractor_version") != version or row.get("status") == FAILED:
            continue
        if any(name not in row for name in ANALYSIS_COLUMNS):
            continue
        reusable.setdefault(str(row["content_hash"]), {n: row[n] for n in ANALYSIS_COLUMNS})
    return reusable


def files_to_analyse(
    catalog: Sequence[CatalogEntry], reusable: Mapping[str, Any]
) -> list[CatalogEntry]:
    """One entry per content hash without a reusable analysis, in catalogue (path) order."""
    chosen: dict[str, CatalogEntry] = {}
    for entry in catalog:
        if entry.content_hash not in reusable:
            chosen.setdefault(entry.content_hash, entry)
    return list(chosen.values())


def feature_rows(
    catalog: Sequence[CatalogEntry], analyses: Mapping[str, AnalysisResult]
) -> list[dict[str, Any]]:
    """One row per catalogue entry from the analysis of its content hash (reused or new)."""
    rows = []
    for entry in catalog:
        result = analyses.get(entry.content_hash)
        if result is None:
            raise ValueError(
                f"no analysis for {entry.path} (content hash {entry.content_hash}); "
                "expected every catalogued file to be analysed or reused"
            )
        row: dict[str, Any] = {
            "track_id": entry.track_id,
            "path": entry.path,
            "content_hash": entry.content_hash,
        }
        if isinstance(result, AnalysisFailure):
            row |= {name: None for name in ANALYSIS_COLUMNS}
            row |= {
                "extractor_version": EXTRACTOR_VERSION,
                "status": FAILED,
                "error": f"{result.error}: {result.message}",
            }
        else:
            row |= {name: result.get(name) for name in ANALYSIS_COLUMNS}
            row["error"] = None
        rows.append(row)
    return rows
