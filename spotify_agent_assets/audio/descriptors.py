"""Spotify-style descriptors of a recording, from its other audio features only.

``c(x)`` clips to [0, 1] (`clip`):

- ``energy = c(0.45 L + 0.25 O + 0.15 F + 0.15 P)``: loudness ``L = c((loudness_db + 40) / 34)``,
  onsets ``O = c(onset_rate / 6)``, noisiness
  ``F = c((log10(spectral_flatness_active) + 5) / 4)``, percussion
  ``P = c((1 - harmonic_ratio) / 0.5)``.
- ``danceability = c(0.4 pulse_clarity + 0.3 beat_strength + 0.3 T)``, tempo fit
  ``T = exp(-0.5 (log2(tempo_bpm / 118) / 0.4)^2)``.
- ``acousticness = c(0.4 c((harmonic_ratio - 0.5) / 0.45) + 0.3 (1 - c(centroid / 4000))
  + 0.3 c(dynamic_range_db / 30))`` (``centroid`` = ``spectral_centroid_mean``, Hz).
- ``speechiness = (1 - c(spectral_flatness_active / 0.2)) V`` (white noise is not speech), with
  the voice score ``V = c(0.15 I + 0.15 A + 0.35 Z + 0.2 Y + 0.15 (1 - c(pulse_clarity / 0.5)))``:
  inharmonicity ``I = c((0.9 - harmonic_ratio) / 0.4)``, atonality
  ``A = c(1 - key_confidence / 0.8)``, alternation ``Z = c(zcr_active_cv)``, syllabic modulation
  ``Y = c((modulation_4hz - 0.04) / 0.06)`` and the absence of a steady pulse.
- ``instrumentalness = c((0.75 - V) / 0.5)``: 1 below a voice score of 0.25, 0 above 0.75.
- ``valence = c(0.35 (0.5 + 0.5 s key_confidence) + 0.25 c((tempo_bpm - 60) / 120)
  + 0.2 c(centroid / 3000) + 0.2 energy)``, ``s`` = +1 major, -1 minor.

The weights are set by hand, not trained: on the seed-7 sample world speechiness is 0.68-0.90
for every speech-like clip and at most 0.46 for music; on ``../shared/data/audio`` the LibriSpeech
reading scores 0.82, a robin's call 0.53 and the music 0.28-0.46.

Apart from `features` because the descriptors read a finished feature dict, never the signal.
"""

from __future__ import annotations

import math

from spotify_agent_assets.audio.feature_names import Features, FeatureValue


def descriptors(features: Features) -> Features:
    """The six Spotify-style descriptors (formulas in the module docstring) from the features."""
    loudness = _num(features["loudness_db"])
    harmonic = _num(features["harmonic_ratio"], 0.5)
    centroid = _num(features["spectral_centroid_mean"])
    key_confidence = _num(features["key_confidence"])
    flatness = _num(features["spectral_flatness_active"])
    pulse = _num(features["pulse_clarity"])
    tempo = features["tempo_bpm"]

    energy = clip(
        0.45 * clip((loudness + 40) / 34)
        + 0.25 * clip(_num(features["onset_rate"]) / 6)
        + 0.15 * clip((math.log10(max(flatness, 1e-10)) + 5) / 4)
        + 0.15 * clip((1 - harmonic) / 0.5)
    )
    tempo_fit = (
        math.exp(-0.5 * (math.log2(tempo / 118) / 0.4) ** 2)
        if isinstance(tempo, float) and tempo > 0
        else 0.0
    )
    voice = (
        0.15 * clip((0.9 - harmonic) / 0.4)
        + 0.15 * clip(1 - key_confidence / 0.8)
        + 0.35 * clip(_num(features["zcr_active_cv"]))
        + 0.2 * clip((_num(features["modulation_4hz"]) - 0.04) / 0.06)
        + 0.15 * (1 - clip(pulse / 0.5))
    )
    sign = {"major": 1.0, "minor": -1.0}.get(str(features["mode"]), 0.0)
    return {
        "energy": energy,
        "danceability": clip(0.4 * pulse + 0.3 * _num(features["beat_strength"]) + 0.3 * tempo_fit),
        "acousticness": clip(
            0.4 * clip((harmonic - 0.5) / 0.45)
            + 0.3 * (1 - clip(centroid / 4000))
            + 0.3 * clip(_num(features["dynamic_range_db"]) / 30)
        ),
        "speechiness": (1 - clip(flatness / 0.2)) * clip(voice),
        "instrumentalness": clip((0.75 - voice) / 0.5),
        "valence": clip(
            0.35 * (0.5 + 0.5 * sign * key_confidence)
            + 0.25 * (clip((tempo - 60) / 120) if isinstance(tempo, float) else 0.0)
            + 0.2 * clip(centroid / 3000)
            + 0.2 * energy
        ),
    }


def _num(value: FeatureValue, default: float = 0.0) -> float:
    return value if isinstance(value, float) and math.isfinite(value) else default


def clip(value: float) -> float:
    """``value`` clipped to [0, 1]."""
    return min(1.0, max(0.0, value))
