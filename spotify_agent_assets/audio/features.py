"""Audio features of one recording, computed with librosa from shared intermediates.

`extract_features(y, sr)` returns one flat dict: every name of `feature_names.FEATURE_NAMES`,
always, with ``float``, ``str`` or ``None`` values, never NaN. Audio is analysed at
`decoding.SAMPLE_RATE` mono (`decoding.load_audio` decodes a file to it). The per-frame series
every feature reads are built once per file in `intermediates` (`naive_features` recomputes them
per feature, as a plain script would). This module holds the extraction itself, the frame
statistics and the voice cues; each other family is defined, with its documentation, in its own
module:

- ``status``: ``"ok"``, ``"silent"`` (the loudest 5% of frames under `SILENCE_DBFS`) or
  ``"too_short"`` (under `MIN_DURATION_S`). Tempo, beats, onsets, key, modulation and the six
  descriptors are ``None`` unless ``"ok"`` (``tempo_status`` and ``key_status`` then repeat
  the status); frame statistics are still computed (input shorter than one FFT frame is
  zero-padded), except for empty input.
- ``loudness_db``: integrated RMS, ``10 log10(mean(y^2))`` dBFS (full-scale square 0, sine
  -3.01), floored at -120. ``dynamic_range_db``: 95th minus 10th percentile of frame RMS in dB.
- ``tempo_bpm``, ``tempo_confidence``, ``tempo_second_bpm``, ``tempo_status``,
  ``beat_strength``, ``pulse_clarity``, ``onset_rate``: `rhythm_features`.
- ``key``, ``mode``, ``key_confidence``, ``key_status``: `key_features`.
- ``spectral_centroid`` / ``bandwidth`` / ``rolloff`` (85%) in Hz, ``spectral_flatness``,
  ``spectral_contrast_01..07`` (dB; librosa's 6 octave bands from 200 Hz and the top band),
  ``spectral_flux`` (librosa's onset strength of the log-mel), ``zero_crossing_rate``,
  ``mfcc_01..13`` (DCT of the log-mel), ``chroma_<pc>`` (per-frame max-normalised chroma; pitch
  classes ``C Cs D Ds E F Fs G Gs A As B``, ``s`` for sharp), each as ``_mean`` / ``_std`` over
  frames.
- ``harmonic_ratio``: the harmonic part's share of the mel energy (0: drums or noise only, 1:
  sustained tones only). Over *active* frames (within 40 dB of the loudest 5%):
  ``zcr_active_cv``, the coefficient of variation of the zero-crossing rate (voiced / unvoiced
  alternation), and ``spectral_flatness_active``, the median flatness (noisiness; digital
  silence between phrases would read as perfectly flat). ``modulation_4hz``: syllabic-rate
  modulation depth, the energy of the 3-6 Hz band-pass (Butterworth order 2, zero phase) of the
  amplitude envelopes of 16 mel band groups over their total energy.
- ``energy``, ``danceability``, ``acousticness``, ``speechiness``, ``instrumentalness``,
  ``valence``: Spotify-style descriptors from the features above only; formulas in
  `descriptors`.

Content features (`content_features.CONTENT_FEATURE_NAMES`, status ``ok`` only): harmonicity,
syllable rate, pitch stability, high-pitch share, tuning concentration, rhythm regularity and
stationarity, from ``S``, the mel spectrogram, the flux and the frame RMS; definitions in
`spotify_agent_assets.audio.content_features`.
"""

from __future__ import annotations

import math
from os import PathLike
from typing import TYPE_CHECKING

import numpy as np

from spotify_agent_assets.audio.content_features import content_features
from spotify_agent_assets.audio.decoding import SAMPLE_RATE, resample
from spotify_agent_assets.audio.descriptors import descriptors
from spotify_agent_assets.audio.feature_names import (
    COLUMN_PITCH,
    EXTRACTOR_VERSION,
    FEATURE_NAMES,
    Features,
)
from spotify_agent_assets.audio.intermediates import HOP_LENGTH, N_FFT, Intermediates
from spotify_agent_assets.audio.key_features import key_features
from spotify_agent_assets.audio.rhythm_features import rhythm_features

if TYPE_CHECKING:
    from collections.abc import Callable

MIN_DURATION_S = 1.0
SILENCE_DBFS = -50.0
LOUDNESS_FLOOR_DB = -120.0
ACTIVE_RANGE_DB = 40.0
MODULATION_BAND_HZ = (3.0, 6.0)
MODULATION_GROUPS = 16


def extract_features(y: np.ndarray, sr: int) -> Features:
    """Every feature of `FEATURE_NAMES` for the mono signal `y` at `sr` Hz (see the module doc).

    ``y`` holds float samples in [-1, 1]. Raises ``ValueError`` for a signal that is not 1-D
    float or holds NaN/inf, or a rate that is not a positive integer.
    """
    y = _validated(y, sr)
    if sr != SAMPLE_RATE:
        y = resample(y, sr)
    return _finish(Intermediates.shared(y), len(y))


def naive_features(path: str | PathLike[str]) -> Features:
    """`extract_features` the straightforward way: one librosa call per feature, from ``y``.

    The benchmark's baseline. Every call recomputes its own STFT (and mel spectrogram, HPSS,
    onset envelope, tempo) as a plain script would, with the same parameters, so values agree
    with ``extract_features(*load_audio(path))`` to float32 rounding (the tests use 1e-5
    relative, 1e-6 absolute; key, mode and status exactly).
    """
    import librosa

    y, _ = librosa.load(path, sr=SAMPLE_RATE)
    return _finish(Intermediates.naive(y), len(y))


def _validated(y: np.ndarray, sr: int) -> np.ndarray:
    array = np.asarray(y)
    if array.ndim != 1:
        raise ValueError(f"y must be a mono 1-D signal, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"y must hold float samples in [-1, 1], got dtype {array.dtype}")
    if not (isinstance(sr, int | np.integer) and sr > 0):
        raise ValueError(f"sr must be a positive integer sample rate, got {sr!r}")
    array = np.ascontiguousarray(array, dtype=np.float32)
    if not np.isfinite(array).all():
        raise ValueError("y holds NaN or infinite samples; expected finite audio samples")
    return array


def _finish(series: Intermediates, n_samples: int) -> Features:
    """Statistics, key, rhythm and descriptors from the intermediates (shared by both paths)."""
    features: Features = dict.fromkeys(FEATURE_NAMES)
    features["extractor_version"] = EXTRACTOR_VERSION
    duration = n_samples / SAMPLE_RATE
    features["duration_s"] = duration
    if n_samples == 0:
        features["status"] = features["tempo_status"] = features["key_status"] = "too_short"
        return features

    y = series.y[:n_samples].astype(np.float64)
    mean_square = float(np.mean(y * y))
    features["loudness_db"] = _db(mean_square)
    frame_db = 20 * np.log10(np.maximum(series.rms.astype(np.float64), 1e-6))
    loud_db = float(np.percentile(frame_db, 95))
    features["dynamic_range_db"] = loud_db - float(np.percentile(frame_db, 10))

    chroma = series.chroma
    chroma_norm = chroma / np.maximum(chroma.max(axis=0, keepdims=True), np.finfo(np.float32).tiny)
    stats = {
        "spectral_centroid": series.centroid,
        "spectral_bandwidth": series.bandwidth,
        "spectral_rolloff": series.rolloff,
        "spectral_flatness": series.flatness,
        **{f"spectral_contrast_{i + 1:02d}": row for i, row in enumerate(series.contrast)},
        "spectral_flux": series.flux,
        "zero_crossing_rate": series.zcr,
        **{f"mfcc_{i + 1:02d}": row for i, row in enumerate(series.mfcc)},
        **{f"chroma_{name}": row for name, row in zip(COLUMN_PITCH, chroma_norm, strict=True)},
    }
    for name, values in stats.items():
        values64 = values.astype(np.float64)
        features[f"{name}_mean"] = float(values64.mean())
        features[f"{name}_std"] = float(values64.std())

    total = series.harmonic_energy + series.percussive_energy
    features["harmonic_ratio"] = series.harmonic_energy / total if total > 0 else None
    active = frame_db >= max(loud_db - ACTIVE_RANGE_DB, SILENCE_DBFS - ACTIVE_RANGE_DB)
    zcr_active = series.zcr[active].astype(np.float64)
    if zcr_active.size and zcr_active.mean() > 0:
        features["zcr_active_cv"] = float(zcr_active.std() / zcr_active.mean())
    if active.any():
        features["spectral_flatness_active"] = float(np.median(series.flatness[active]))

    if duration < MIN_DURATION_S:
        features["status"] = "too_short"
    elif loud_db < SILENCE_DBFS:
        features["status"] = "silent"
    else:
        features["status"] = "ok"
        features.update(key_features(chroma))
        features.update(rhythm_features(series, duration))
        features["modulation_4hz"] = _modulation_depth(series.mel)
        features.update(descriptors(features))
        # What kind of sound this is (content type); see audio.content_features.
        features.update(
            content_features(
                series.magnitude,
                series.mel,
                series.flux,
                series.rms,
                SAMPLE_RATE,
                N_FFT,
                HOP_LENGTH,
            )
        )
    if features["status"] != "ok":
        features["tempo_status"] = features["key_status"] = features["status"]
    return _finite(features)


def _db(mean_square: float) -> float:
    if mean_square <= 0:
        return LOUDNESS_FLOOR_DB
    return max(10 * math.log10(mean_square), LOUDNESS_FLOOR_DB)


def _modulation_depth(mel: np.ndarray) -> float | None:
    """Energy of the 3-6 Hz modulation of mel band-group amplitude envelopes, over their total."""
    from scipy.signal import butter, sosfiltfilt

    frame_rate = SAMPLE_RATE / HOP_LENGTH
    groups = mel.astype(np.float64).reshape(MODULATION_GROUPS, -1, mel.shape[1]).sum(axis=1)
    envelopes = np.sqrt(groups)
    sos = butter(2, MODULATION_BAND_HZ, btype="bandpass", fs=frame_rate, output="sos")
    if envelopes.shape[1] <= 3 * (2 * len(sos) + 1):  # sosfiltfilt's default padding
        return None
    total = float((envelopes**2).sum())
    if total <= 0:
        return None
    band = sosfiltfilt(sos, envelopes, axis=1)
    return float((band**2).sum() / total)


def _finite(features: Features) -> Features:
    return {
        name: None if isinstance(value, float) and not math.isfinite(value) else value
        for name, value in features.items()
    }


def warm_up(extract: Callable[[np.ndarray, int], Features] = extract_features) -> None:
    """Run the extractor once on 3 s of synthetic music so numba's JIT is compiled (or loaded)."""
    sr = SAMPLE_RATE
    t = np.arange(3 * sr) / sr
    y = 0.2 * np.sin(2 * np.pi * 220.0 * t) + 0.1 * np.sin(2 * np.pi * 330.0 * t)
    clicks = (np.arange(len(t)) % (sr // 2)) < 64
    extract((y + 0.5 * clicks).astype(np.float32), sr)
