"""Audio anomaly rules and the IsolationForest, on synthetic samples and feature dicts.

Each rule fires on a signal built to break it, with the numbers in its reason, and stays quiet on
a clean sine; the forest finds exactly the two items planted among 60 and names their features.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from spotify_agent_assets.audio.anomalies import (
    MIN_MODEL_ITEMS,
    Flag,
    isolation_forest_flags,
    rule_flags,
    signal_stats,
)

SR = 22_050


def sine(seconds: float = 10.0, amplitude: float = 0.5, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def entry(**overrides: Any) -> dict[str, Any]:
    """A catalogue record of a clean 10 s mono excerpt at 22050 Hz."""
    record = {
        "path": "track00000000000000001.wav",
        "track_id": "track00000000000000001",
        "duration_s": 10.0,
        "sample_rate": SR,
        "channels": 1,
    }
    return record | overrides


def flags_of(y: np.ndarray, track_ms: int | None = 200_000, **entry_fields: Any) -> list[Flag]:
    return rule_flags(entry(**entry_fields), signal_stats(y, sr=SR), track_ms)


def only(flags: list[Flag], rule: str) -> Flag:
    assert [f.rule for f in flags] == [rule], flags
    flag = flags[0]
    assert 0.0 <= flag.score <= 1.0
    return flag


def test_clean_sine_raises_no_flag() -> None:
    y = sine()
    stats = signal_stats(y, sr=SR)
    assert stats["peak"] == pytest.approx(0.5, abs=1e-3)
    assert stats["clipped_fraction"] == 0.0
    assert stats["rms_dbfs"] == pytest.approx(20 * math.log10(0.5 / math.sqrt(2)), abs=0.01)
    assert rule_flags(entry(), stats, 200_000) == []
    assert rule_flags(entry(), stats, None) == []
    # A stereo copy with distinct channels is fine too.
    stereo = np.stack([y, sine(amplitude=0.4, hz=330.0)], axis=1)
    assert flags_of(stereo, channels=2) == []


def test_clipped_sine() -> None:
    flag = only(flags_of(np.clip(sine(amplitude=1.5), -1.0, 1.0)), "clipping")
    assert flag.severity == "error"
    assert "% of samples at |x| >= 0.999" in flag.reason
    assert "peak 1.0000" in flag.reason
    assert flag.score == 1.0


def test_dc_shifted_sine() -> None:
    flag = only(flags_of(sine() + np.float32(0.05)), "dc_offset")
    assert "+0.0500" in flag.reason
    assert flag.score == pytest.approx((0.05 - 0.01) / (0.1 - 0.01), abs=1e-3)
    assert only(flags_of(sine() - np.float32(0.05)), "dc_offset").reason.count("-0.0500") == 1


def test_silence_and_near_silence() -> None:
    flag = only(flags_of(np.zeros(10 * SR, dtype=np.float32)), "silence")
    assert flag.severity == "error"
    assert "digital zero" in flag.reason and "100.0% of samples" in flag.reason
    assert flag.score == 1.0
    quiet = only(flags_of(sine(amplitude=10 ** (-70 / 20))), "silence")
    assert "-73.0 dBFS" in quiet.reason  # -70 dBFS peak is -73 dBFS RMS
    assert 0 < quiet.score < 1


def test_dropout_inside_music() -> None:
    y = sine()
    y[3 * SR : 6 * SR] = 0.0
    flag = only(flags_of(y), "dropout")
    assert "3.00 s of digital silence" in flag.reason


def test_three_second_clip_of_a_long_track() -> None:
    flag = only(flags_of(sine(3.0), 200_000, duration_s=3.0), "duration_mismatch")
    assert flag.severity == "warning"
    assert "3.0 s excerpt of a 200.0 s track" in flag.reason
    assert flag.score == pytest.approx(0.4)


def test_file_longer_than_its_track() -> None:
    flag = only(flags_of(sine(), 5_000), "duration_mismatch")
    assert flag.severity == "error"
    assert "10.0 s, 5.0 s longer than the 5.0 s" in flag.reason
    # Within the tolerance (encoder padding), and excerpts of long tracks, are fine.
    assert flags_of(sine(), 8_500) == []


def test_declared_full_track() -> None:
    flag = only(flags_of(sine(), 12_000, full_track=True), "duration_mismatch")
    assert "10.0 s against Spotify's 12.0 s (16.7% off" in flag.reason
    assert flags_of(sine(), 10_300, full_track=True) == []


def test_odd_sample_rates() -> None:
    low = only(flags_of(sine(), sample_rate=8_000), "sample_rate")
    assert low.severity == "warning" and "8000 Hz" in low.reason and low.score == 1.0
    assert "22050, 44100, 48000, 88200, 96000" in low.reason
    odd = only(flags_of(sine(), sample_rate=32_000), "sample_rate")
    assert odd.severity == "info" and "32000 Hz" in odd.reason
    for rate in (22_050, 44_100, 48_000, 88_200, 96_000):
        assert flags_of(sine(), sample_rate=rate) == []


def test_channel_oddities() -> None:
    y = sine()
    surround = np.stack([y, sine(hz=330.0), sine(hz=550.0), sine(hz=660.0)], axis=1)
    assert "4 channels" in only(flags_of(surround, channels=4), "channels").reason
    half_silent = np.stack([y, np.zeros_like(y)], axis=1)
    assert "channel(s) 1 of 2" in only(flags_of(half_silent, channels=2), "channels").reason
    fake = only(flags_of(np.stack([y, y], axis=1), channels=2), "channels")
    assert fake.severity == "info" and "identical" in fake.reason


def test_signal_stats_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        signal_stats(np.zeros(0, dtype=np.float32))
    with pytest.raises(ValueError, match="float samples"):
        signal_stats(np.zeros(10, dtype=np.int16))
    with pytest.raises(ValueError, match="NaN"):
        signal_stats(np.array([0.0, np.nan]))


def feature_dicts(n: int = 60, seed: int = 1) -> list[dict[str, Any]]:
    """Feature dicts like ``extract_features``': numbers, a string, a None and a constant."""
    rng = np.random.default_rng(seed)
    items = []
    for _ in range(n):
        items.append(
            {
                "extractor_version": "1",
                "status": "ok",
                "loudness_db": float(rng.normal(-14, 2)),
                "spectral_centroid_mean": float(rng.normal(2000, 300)),
                "zero_crossing_rate_mean": float(rng.normal(0.08, 0.01)),
                "tempo_bpm": float(rng.normal(120, 10)),
                "harmonic_ratio": float(rng.normal(0.6, 0.05)),
                "mfcc_01_mean": float(rng.normal(-200, 20)),
                "key_confidence": None,
                "constant": 1.0,
            }
        )
    return items


def test_isolation_forest_finds_the_planted_outliers() -> None:
    items = feature_dicts()
    ids = [f"item{i:02d}" for i in range(len(items))]
    items[7]["loudness_db"] = -45.0
    items[7]["spectral_centroid_mean"] = 6000.0
    items[42]["tempo_bpm"] = 240.0
    items[42]["zero_crossing_rate_mean"] = 0.3

    result = isolation_forest_flags(items, ids, random_state=0)
    assert set(result.flags) == {"item07", "item42"}
    assert [row.id for row in result.rows] == ids
    assert all(0 < row.score <= 1 for row in result.rows)
    assert "constant" in (result.note or "") and "constant" not in result.features_used
    assert "key_confidence" not in result.features_used
    first = result.flags["item07"].reason
    assert first.index("loudness_db") >= 0 and "spectral_centroid_mean" in first
    assert "-45 vs median" in first
    second = result.flags["item42"].reason
    assert "tempo_bpm 240" in second and "zero_crossing_rate_mean" in second
    assert all(0 <= f.score <= 1 for f in result.flags.values())
    # A forced share flags no ordinary item: it must also reach the minimum score.
    assert set(isolation_forest_flags(items, ids, contamination=0.1).flags) == {"item07", "item42"}
    # Deterministic: the same input gives the same scores.
    again = isolation_forest_flags(items, ids, random_state=0)
    assert [r.score for r in again.rows] == [r.score for r in result.rows]


def test_isolation_forest_needs_enough_items() -> None:
    items = feature_dicts(MIN_MODEL_ITEMS - 1)
    result = isolation_forest_flags(items, [str(i) for i in range(len(items))])
    assert result.rows == () and result.flags == {}
    assert f"at least {MIN_MODEL_ITEMS}" in (result.note or "")


def test_isolation_forest_rejects_mismatched_ids() -> None:
    items = feature_dicts(20)
    with pytest.raises(ValueError, match="same length"):
        isolation_forest_flags(items, ["a"])
    with pytest.raises(ValueError, match="repeated: a"):
        isolation_forest_flags(items, ["a"] * 20)
