"""One recording, decoded once: its features and the statistics of its samples.

`analyse_recording(path)` is what the ``audio_features`` asset runs per file in the worker pool:
the file is decoded once at its own rate and channel count; `signal_stats` reads those raw
samples (clipping, DC offset and silent channels are facts of the delivered file, and
resampling or downmixing would blur them), then the features read the mono 22,050 Hz signal.
The statistics travel with the features as ``signal_*`` columns (`signal_columns`), so
``audio_anomalies`` can apply its rules later without decoding anything again
(`stats_from_columns` turns a stored row back into `signal_stats`'s dict).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from spotify_agent_assets.audio.anomalies import signal_stats
from spotify_agent_assets.audio.features import (
    SAMPLE_RATE,
    analysis_signal,
    decode_audio,
    extract_features,
)
from spotify_agent_assets.audio.parallel import AnalysisResult, PathLike, analysis_failure

SIGNAL_PREFIX = "signal_"
# signal_stats' keys stored as columns; silent_channels is a comma-separated list of channel
# indices ("" when none; None for mono) and channels_identical None for mono.
SIGNAL_FLOAT_KEYS = (
    "peak",
    "clipped_fraction",
    "dc_offset",
    "rms_dbfs",
    "silent_fraction",
    "longest_silence_s",
)
SIGNAL_INT_KEYS = ("samples", "channels", "longest_silence_samples")
SIGNAL_COLUMNS = tuple(
    SIGNAL_PREFIX + key
    for key in (*SIGNAL_INT_KEYS, *SIGNAL_FLOAT_KEYS, "silent_channels", "channels_identical")
)


def analyse_recording(path: PathLike) -> AnalysisResult:
    """Features and ``signal_*`` statistics of one file; an error becomes an `AnalysisFailure`."""
    try:
        data, sr = decode_audio(path)
        stats = signal_stats(data, sr=sr)
        features = extract_features(analysis_signal(data, sr), SAMPLE_RATE)
    except Exception as exc:  # reported per file, so one bad file does not stop the batch
        return analysis_failure(path, exc)
    return {**features, **signal_columns(stats)}


def signal_columns(stats: Mapping[str, Any]) -> dict[str, Any]:
    """`signal_stats` as flat ``signal_*`` columns (-inf RMS, digital zero, is stored as None)."""
    columns: dict[str, Any] = {}
    for key in SIGNAL_INT_KEYS:
        columns[SIGNAL_PREFIX + key] = int(stats[key])
    for key in SIGNAL_FLOAT_KEYS:
        value = stats.get(key)
        columns[SIGNAL_PREFIX + key] = (
            None if value is None or not math.isfinite(value) else float(value)
        )
    silent = stats.get("silent_channels")
    columns[SIGNAL_PREFIX + "silent_channels"] = (
        None if silent is None else ",".join(str(c) for c in silent)
    )
    identical = stats.get("channels_identical")
    columns[SIGNAL_PREFIX + "channels_identical"] = None if identical is None else bool(identical)
    return columns


def stats_from_columns(row: Mapping[str, Any]) -> dict[str, Any]:
    """The `signal_stats` dict back from a row holding `signal_columns`."""
    stats: dict[str, Any] = {key: int(row[SIGNAL_PREFIX + key]) for key in SIGNAL_INT_KEYS}
    for key in SIGNAL_FLOAT_KEYS:
        stats[key] = row.get(SIGNAL_PREFIX + key)
    if stats["rms_dbfs"] is None:
        stats["rms_dbfs"] = -math.inf
    silent = row.get(SIGNAL_PREFIX + "silent_channels")
    if silent is not None:
        stats["silent_channels"] = [int(c) for c in silent.split(",") if c]
    identical = row.get(SIGNAL_PREFIX + "channels_identical")
    if identical is not None:
        stats["channels_identical"] = bool(identical)
    return stats
