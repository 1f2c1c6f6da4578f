"""The names, value types and version of the audio features: the ``audio_features`` columns.

`FEATURE_NAMES` is every key `features.extract_features` returns, always, in column order;
values are ``float``, ``str`` or ``None`` (`FeatureValue`), never NaN. `EXTRACTOR_VERSION` names
the definitions in `features` and the modules it reads from (`intermediates`, `key_features`,
`rhythm_features`, `descriptors`, `content_features`): change it whenever a value could change,
and every file is analysed again. Apart from the extraction because the tables, the anomaly
rules and the classifiers read the columns only.
"""

from __future__ import annotations

from spotify_agent_assets.audio.content_features import CONTENT_FEATURE_NAMES
from spotify_agent_assets.audio.intermediates import N_MFCC

EXTRACTOR_VERSION = "4"

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
# Pitch classes as column names: ``s`` for sharp.
COLUMN_PITCH = tuple(name.replace("#", "s") for name in PITCH_CLASSES)

FeatureValue = float | str | None
Features = dict[str, FeatureValue]

_STAT_SERIES = (
    ["spectral_centroid", "spectral_bandwidth", "spectral_rolloff", "spectral_flatness"]
    + [f"spectral_contrast_{band:02d}" for band in range(1, 8)]
    + ["spectral_flux", "zero_crossing_rate"]
    + [f"mfcc_{index:02d}" for index in range(1, N_MFCC + 1)]
    + [f"chroma_{name}" for name in COLUMN_PITCH]
)
DESCRIPTORS = (
    "energy",
    "danceability",
    "acousticness",
    "speechiness",
    "instrumentalness",
    "valence",
)
FEATURE_NAMES: tuple[str, ...] = (
    "extractor_version",
    "status",
    "duration_s",
    "loudness_db",
    "dynamic_range_db",
    "tempo_bpm",
    "tempo_confidence",
    "tempo_second_bpm",
    "tempo_status",
    "beat_strength",
    "pulse_clarity",
    "onset_rate",
    "key",
    "mode",
    "key_confidence",
    "key_status",
    "harmonic_ratio",
    "zcr_active_cv",
    "spectral_flatness_active",
    "modulation_4hz",
    *(f"{series}_{stat}" for series in _STAT_SERIES for stat in ("mean", "std")),
    *DESCRIPTORS,
    *CONTENT_FEATURE_NAMES,
)
