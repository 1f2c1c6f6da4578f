"""A short jingle synthesised in a key and tempo: a WAV made with numpy, the same every time.

One phrase of 8 beats at the given tempo (capped to a few seconds): the key's
tonic triad played as an arpeggio up and back, over a sustained tonic an octave below so the
key is what the ear (and an FFT) hears first. Major keys use a major third, minor a minor one.
Each note has a short attack and an exponential decay so the beat is audible. Mono, 16-bit PCM
at 22,050 Hz via soundfile.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from spotify_agent_assets.activation.content_cover import PITCH_CLASSES

SAMPLE_RATE = 22_050
BEATS = 8
MAX_SECONDS = 6.0
A4_HZ = 440.0


@dataclass(frozen=True)
class JingleSpec:
    key: str  # pitch class
    mode: str  # major | minor
    tempo_bpm: float

    def __post_init__(self) -> None:
        if self.key not in PITCH_CLASSES:
            raise ValueError(f"key must be one of {', '.join(PITCH_CLASSES)}, got {self.key!r}")
        if self.mode not in ("major", "minor"):
            raise ValueError(f"mode must be major or minor, got {self.mode!r}")
        if not 40.0 <= self.tempo_bpm <= 250.0:
            raise ValueError(f"tempo_bpm must be within 40..250, got {self.tempo_bpm!r}")

    @property
    def beat_s(self) -> float:
        return 60.0 / self.tempo_bpm

    @property
    def seconds(self) -> float:
        return min(MAX_SECONDS, BEATS * self.beat_s)


def tonic_hz(key: str, octave: int = 4) -> float:
    """Equal temperament, A4 = 440 Hz (C4 is 261.63 Hz)."""
    semitones = PITCH_CLASSES.index(key) - PITCH_CLASSES.index("A") + 12 * (octave - 4)
    return A4_HZ * 2 ** (semitones / 12)


def jingle_samples(spec: JingleSpec) -> object:
    """The jingle as float32 samples in -1..1 (a numpy array)."""
    import numpy as np

    n = round(spec.seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    root = tonic_hz(spec.key)
    third = 4 if spec.mode == "major" else 3
    # Up the triad to the octave and back down: root, third, fifth, octave, fifth, third, ...
    steps = [0, third, 7, 12, 7, third, 0, 12]
    signal = 0.5 * np.sin(2 * np.pi * (root / 2) * t) * np.minimum(1.0, t / 0.05)
    beat = round(spec.beat_s * SAMPLE_RATE)
    for index, step in enumerate(steps):
        start = index * beat
        if start >= n:
            break
        length = min(beat, n - start)
        local = np.arange(length) / SAMPLE_RATE
        envelope = np.minimum(1.0, local / 0.01) * np.exp(-local / (0.35 * spec.beat_s))
        freq = root * 2 ** (step / 12)
        signal[start : start + length] += 0.3 * envelope * np.sin(2 * np.pi * freq * local)
    fade = np.minimum(1.0, (n - np.arange(n)) / (0.05 * SAMPLE_RATE))
    signal *= fade
    return (0.9 * signal / np.max(np.abs(signal))).astype(np.float32)


def jingle_wav(spec: JingleSpec) -> bytes:
    """The jingle as WAV bytes (mono, 16-bit PCM)."""
    import soundfile

    out = io.BytesIO()
    soundfile.write(out, jingle_samples(spec), SAMPLE_RATE, subtype="PCM_16", format="WAV")
    return out.getvalue()
