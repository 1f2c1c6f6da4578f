"""The ``audio_anomalies`` table: rule flags and IsolationForest outliers, one row per flag.

Rules read the catalogue entry (duration, sample rate, channels), the ``signal_*`` statistics
stored with the features and Spotify's ``duration_ms`` of the track; the IsolationForest reads
the features of every file analysed with status ``ok`` (silent and too-short files have no
tempo, key or descriptors, and the silence rule already speaks for them). A failed analysis is
an anomaly too (``analysis_failed``, error): its file decoded during the catalogue's probe but
not in full.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from spotify_agent_assets.audio.anomalies import (
    Flag,
    IsolationForestResult,
    isolation_forest_flags,
    rule_flags,
)
from spotify_agent_assets.audio.feature_names import FEATURE_NAMES
from spotify_agent_assets.audio.signal_columns import stats_from_columns

FAILED_RULE = "analysis_failed"
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class AudioAnomalies:
    rows: list[dict[str, Any]]
    forest: IsolationForestResult


def audio_anomaly_rows(
    catalog: Sequence[Mapping[str, Any]],
    features: Sequence[Mapping[str, Any]],
    track_durations_ms: Mapping[str, int | None],
) -> AudioAnomalies:
    """Flags for every catalogued file with stored features, most severe first per track."""
    by_track = {row["track_id"]: row for row in features}
    rows: list[dict[str, Any]] = []
    model_items: list[dict[str, Any]] = []
    model_ids: list[str] = []
    for entry in catalog:
        analysed = by_track.get(entry["track_id"])
        if analysed is None or analysed["content_hash"] != entry["content_hash"]:
            continue  # features not computed for this version of the file yet
        if analysed["status"] == "failed":
            flags = [Flag(FAILED_RULE, f"analysis failed: {analysed['error']}", 1.0, "error")]
        else:
            duration = track_durations_ms.get(entry["track_id"])
            flags = rule_flags(entry, stats_from_columns(analysed), duration or None)
            if analysed["status"] == "ok":
                model_items.append({name: analysed[name] for name in FEATURE_NAMES})
                model_ids.append(entry["track_id"])
        rows.extend(_row(entry, flag) for flag in flags)
    forest = isolation_forest_flags(model_items, model_ids)
    entries = {entry["track_id"]: entry for entry in catalog}
    rows.extend(_row(entries[track_id], flag) for track_id, flag in forest.flags.items())
    rows.sort(key=lambda r: (r["track_id"], SEVERITY_ORDER[r["severity"]], r["rule"], r["reason"]))
    return AudioAnomalies(rows, forest)


def _row(entry: Mapping[str, Any], flag: Flag) -> dict[str, Any]:
    return {
        "track_id": entry["track_id"],
        "path": entry["path"],
        "content_hash": entry["content_hash"],
        **flag.to_record(),
    }
