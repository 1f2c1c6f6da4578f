"""`anomalies.signal_stats` as flat ``signal_*`` columns of ``audio_features``, and back.

The statistics are taken once, from the raw decode (`recording.analyse_recording`), and stored
with the features so that ``audio_anomalies`` applies its rules without decoding anything again.
Plain Python: the table contracts read `SIGNAL_COLUMNS` when the code location loads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

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
