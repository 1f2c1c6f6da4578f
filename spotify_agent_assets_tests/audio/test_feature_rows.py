"""Which files need analysing, and the rows of the features table."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spotify_agent_assets.audio.anomalies import signal_stats
from spotify_agent_assets.audio.catalog import CatalogEntry
from spotify_agent_assets.audio.feature_names import EXTRACTOR_VERSION, FEATURE_NAMES
from spotify_agent_assets.audio.feature_rows import (
    ANALYSIS_COLUMNS,
    feature_rows,
    files_to_analyse,
    reusable_features,
)
from spotify_agent_assets.audio.parallel import AnalysisFailure
from spotify_agent_assets.audio.signal_columns import signal_columns, stats_from_columns


def entry(path: str, track_id: str, content_hash: str) -> CatalogEntry:
    return CatalogEntry(
        path=path,
        track_id=track_id,
        track_id_source="name",
        format="wav",
        subtype="PCM_16",
        content_hash=content_hash,
        size_bytes=100,
        mtime_ns=1,
        duration_s=10.0,
        sample_rate=22050,
        channels=1,
        frames=220500,
    )


def analysis(version: str = EXTRACTOR_VERSION, status: str = "ok") -> dict:
    values = {name: 0.5 for name in ANALYSIS_COLUMNS}
    return values | {"extractor_version": version, "status": status}


def stored(content_hash: str, **overrides: object) -> dict:
    return {"track_id": "t", "path": "p", "content_hash": content_hash, "error": None} | (
        analysis() | overrides
    )


def test_only_unknown_content_is_analysed_once_per_hash() -> None:
    catalog = [entry("a.wav", "A", "h1"), entry("b.wav", "B", "h2"), entry("c.wav", "C", "h2")]
    reusable = reusable_features([stored("h1")])
    todo = files_to_analyse(catalog, reusable)
    assert [e.path for e in todo] == ["b.wav"]  # h2 once, for two tracks


@pytest.mark.parametrize(
    ("row", "reused"),
    [
        (stored("h"), True),
        (stored("h", extractor_version="0"), False),  # another extractor: analyse again
        (stored("h", status="failed"), False),  # failures are retried
        ({k: v for k, v in stored("h").items() if k != "mfcc_01_mean"}, False),  # old schema
    ],
)
def test_what_may_be_reused(row: dict, reused: bool) -> None:
    assert ("h" in reusable_features([row])) is reused


def test_rows_follow_the_catalogue_and_failures_keep_their_error() -> None:
    catalog = [entry("a.wav", "A", "h1"), entry("b.wav", "B", "h2")]
    failure = AnalysisFailure("AudioDecodeError", "b.wav: not audio libsndfile can decode")
    rows = feature_rows(catalog, {"h1": analysis(), "h2": failure})
    assert [r["track_id"] for r in rows] == ["A", "B"]
    assert rows[0]["status"] == "ok" and rows[0]["error"] is None
    assert rows[1]["status"] == "failed"
    assert rows[1]["error"] == "AudioDecodeError: b.wav: not audio libsndfile can decode"
    assert rows[1]["tempo_bpm"] is None and rows[1]["extractor_version"] == EXTRACTOR_VERSION
    assert set(FEATURE_NAMES) <= set(rows[0])


def test_a_missing_analysis_is_an_error_naming_the_file() -> None:
    with pytest.raises(ValueError, match=r"no analysis for a.wav \(content hash h1\)"):
        feature_rows([entry("a.wav", "A", "h1")], {})


@pytest.mark.parametrize(
    "samples",
    [
        np.zeros((22050, 1), np.float32),  # digital silence: RMS -inf
        np.stack([np.full(22050, 0.2), np.zeros(22050)], axis=1).astype(np.float32),
        np.tile(np.linspace(-1, 1, 100, dtype=np.float32), (2, 1)).T.repeat(3, axis=0),
    ],
)
def test_signal_stats_survive_the_round_trip_through_columns(samples: np.ndarray) -> None:
    stats = signal_stats(samples, sr=22050)
    back = stats_from_columns(signal_columns(stats))
    assert back.keys() == stats.keys()
    for key, value in stats.items():
        if isinstance(value, float) and math.isinf(value):
            assert back[key] == value
        else:
            assert back[key] == pytest.approx(value), key
