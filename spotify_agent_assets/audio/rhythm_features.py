"""Beat and pulse features of a recording from its percussive onset envelope and tempo estimate.

``tempo_bpm``, ``tempo_confidence``, ``tempo_second_bpm``, ``tempo_status``: `audio.tempo` on
the *percussive* part (sustained chords and pads go to the harmonic part). No prior around 120
BPM: the metrical level is read from the drums (the finest steady pulse of the envelope's
autocorrelation, tracked with ``librosa.beat.beat_track`` and grouped in twos or threes while
the off positions hold only subdivisions; a snare-against-kick backbeat marks the beat), and the
tempo is the mean interval of the beats tracked at that level (sub-frame, not quantised to 23 ms
lags). ``tempo_confidence`` in [0, 1] is always set when the status is ok; ``tempo_status`` is
``"ok"``, ``"low_confidence"`` (reported, flagged) or ``"no_pulse"`` (``tempo_bpm`` None:
speech, noise, a pad without attacks; the beat descriptors below are None too). When the first
and second halves of a clip of 16 s or more hold different steady tempi, ``tempo_bpm`` is the
first and ``tempo_second_bpm`` the second (None otherwise). ``beat_strength`` in [0, 1]:
``(b - o) / (b + o)``, ``b`` the mean percussive onset strength at the beats (max within +-1
frame), ``o`` its mean 3+ frames from any beat: 0 when beats are no stronger than the rest, 1
when every attack is on a beat. ``pulse_clarity`` in [0, 1]: autocorrelation of the
mean-removed percussive envelope at the beat period (best lag within +-4%) over lag 0.
``onset_rate``: ``librosa.onset.onset_detect`` onsets per second.

Apart from `features` because the rhythm family reads only the percussive envelope, the onsets
and `audio.tempo`'s estimate.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from spotify_agent_assets.audio.decoding import SAMPLE_RATE
from spotify_agent_assets.audio.descriptors import clip
from spotify_agent_assets.audio.intermediates import HOP_LENGTH
from spotify_agent_assets.audio.tempo import TempoEstimate, autocorrelation

if TYPE_CHECKING:
    from spotify_agent_assets.audio.feature_names import Features
    from spotify_agent_assets.audio.intermediates import Intermediates

PULSE_LAG_TOLERANCE = 0.04


def rhythm_features(series: Intermediates, duration: float) -> Features:
    """Tempo, onset rate, beat strength and pulse clarity (definitions in the module doc)."""
    envelope = series.percussive_envelope.astype(np.float64)
    estimate: TempoEstimate = series.tempo
    beats = estimate.beats
    tempo = estimate.tempo_bpm
    out: Features = {
        "tempo_bpm": tempo,
        "tempo_confidence": estimate.confidence,
        "tempo_second_bpm": estimate.second_bpm,
        "tempo_status": estimate.status,
        "onset_rate": len(series.onsets) / duration,
        "beat_strength": None,
        "pulse_clarity": None,
    }
    if len(beats) >= 2:
        on_beat = np.array([envelope[max(b - 1, 0) : b + 2].max() for b in beats])
        near = np.zeros(len(envelope), dtype=bool)
        for b in beats:
            near[max(b - 2, 0) : b + 3] = True
        between = ~near
        between[: beats[0]] = between[beats[-1] :] = False
        b_mean = float(on_beat.mean())
        o_mean = float(envelope[between].mean()) if between.any() else 0.0
        if b_mean + o_mean > 0:
            out["beat_strength"] = clip((b_mean - o_mean) / (b_mean + o_mean))
    if tempo is not None:
        out["pulse_clarity"] = _pulse_clarity(envelope, 60 * SAMPLE_RATE / HOP_LENGTH / tempo)
    return out


def _pulse_clarity(envelope: np.ndarray, period_frames: float) -> float | None:
    low = max(1, math.floor(period_frames * (1 - PULSE_LAG_TOLERANCE)))
    high = math.ceil(period_frames * (1 + PULSE_LAG_TOLERANCE))
    if high >= len(envelope):
        return None
    correlation = autocorrelation(envelope)
    if correlation[0] <= 0:
        return None  # a flat envelope
    return clip(float(correlation[low : high + 1].max()))
