"""The audio_anomalies rows: rules from stored statistics, the forest over ok features."""

from __future__ import annotations

import numpy as np

from spotify_agent_assets.audio.anomalies import signal_stats
from spotify_agent_assets.audio.anomaly_table import audio_anomaly_rows
from spotify_agent_assets.audio.feature_names import FEATURE_NAMES
from spotify_agent_assets.audio.feature_rows import ANALYSIS_COLUMNS
from spotify_agent_assets.audio.signal_columns import signal_columns

SR = 22050


def catalog_row(track_id: str, duration_s: float = 10.0) -> dict:
    return {
        "track_id": track_id,
        "path": f"{track_id}.wav",
        "content_hash": f"hash-{track_id}",
        "duration_s": duration_s,
        "sample_rate": SR,
        "channels": 1,
    }


def feature_row(track_id: str, samples: np.ndarray, rng: np.random.Generator, **extra) -> dict:
    features = {name: float(rng.normal(0, 1)) for name in FEATURE_NAMES}
    features |= {"extractor_version": "1", "status": "ok", "key": "C", "mode": "major"}
    row = {name: features.get(name) for name in ANALYSIS_COLUMNS if name in features}
    row |= signal_columns(signal_stats(samples.reshape(-1, 1), sr=SR))
    return {"track_id": track_id, "content_hash": f"hash-{track_id}", "error": None} | row | extra


def test_rules_forest_and_failures_become_rows_with_reasons() -> None:
    rng = np.random.default_rng(3)
    tone = (0.3 * np.sin(np.arange(SR * 10) * 2 * np.pi * 440 / SR)).astype(np.float32)
    ids = [f"t{n:02d}" for n in range(30)]
    catalog = [catalog_row(i) for i in ids]
    features = [feature_row(i, tone, rng) for i in ids]
    # A silent file, a file longer than its Spotify track, a failed analysis, an odd one out.
    features[0] = feature_row(ids[0], np.zeros(SR * 10, np.float32), rng, status="silent")
    features[2] = {
        "track_id": ids[2],
        "content_hash": f"hash-{ids[2]}",
        "status": "failed",
        "error": "WorkerDied: t02.wav: the worker process died",
    }
    numeric = [n for n in FEATURE_NAMES if n not in ("extractor_version", "status", "key", "mode")]
    features[3] |= {name: 40.0 for name in numeric[::2]}
    # A stale row (the file changed since) is not judged.
    features[4] = features[4] | {"content_hash": "older"}

    result = audio_anomaly_rows(catalog, features, {ids[1]: 5_000})
    by_track: dict[str, list[dict]] = {}
    for row in result.rows:
        by_track.setdefault(row["track_id"], []).append(row)
    assert [r["rule"] for r in by_track[ids[0]]] == ["silence"]
    assert by_track[ids[1]][0]["rule"] == "duration_mismatch"
    assert "longer than the 5.0 s Spotify track" in by_track[ids[1]][0]["reason"]
    assert by_track[ids[2]] == [
        {
            "track_id": ids[2],
            "path": f"{ids[2]}.wav",
            "content_hash": f"hash-{ids[2]}",
            "rule": "analysis_failed",
            "reason": "analysis failed: WorkerDied: t02.wav: the worker process died",
            "score": 1.0,
            "severity": "error",
        }
    ]
    assert [r["rule"] for r in by_track[ids[3]]] == ["isolation_forest"]
    assert ids[4] not in by_track
    # The forest saw the ok files only (not silent, failed or stale ones).
    assert len(result.forest.rows) == 27
    assert [r["track_id"] for r in result.rows] == sorted(r["track_id"] for r in result.rows)
