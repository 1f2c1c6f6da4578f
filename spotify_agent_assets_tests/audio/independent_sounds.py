"""Test sounds made another way than the sample world's, for the content-type classifier.

Nothing here is shared with `spotify_agent_assets.sample_world`: speech is a pulse train through
formant resonators (scipy's ``lfilter``) rather than summed harmonics, drums are filtered noise
and pitch sweeps of other shapes, the bass is a sawtooth riff with swing, wind is filtered white
noise, rain is impulses through a resonator, the whale a cubic pitch contour with a smeared
tail. A model that learnt the sample world's synthesizer rather than the kind of sound fails on
them. Every function takes a seed and returns float32 mono at `SR`, peak 0.5.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.signal import butter, lfilter, sosfilt

SR = 22_050


def _normalised(y: np.ndarray) -> np.ndarray:
    return (0.5 * y / (np.max(np.abs(y)) or 1.0)).astype(np.float32)


def _resonator(x: np.ndarray, hz: float, bandwidth: float) -> np.ndarray:
    r = np.exp(-np.pi * bandwidth / SR)
    a = [1.0, -2 * r * np.cos(2 * np.pi * hz / SR), r * r]
    return lfilter([1 - r], a, x)


def _saw(freq: np.ndarray, harmonics: int = 10) -> np.ndarray:
    phase = 2 * np.pi * np.cumsum(freq) / SR
    return sum(np.sin(h * phase) / h for h in range(1, harmonics + 1))


def speech(seed: int, seconds: float = 8.0) -> np.ndarray:
    """A talker: glottal pulses through three formant resonators, fricatives, pauses."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    f0 = np.zeros(n)
    voicing = np.zeros(n)
    hiss = np.zeros(n)
    formants = np.zeros((n, 3))
    vowels = [(800, 1200, 2500), (350, 2000, 2800), (450, 800, 2600), (600, 1700, 2500)]
    position = int(0.2 * SR)
    base = rng.uniform(100, 210)
    while position < n - SR // 4:
        phrase = int(rng.uniform(1.0, 2.5) * SR)
        start = position
        while position < min(n, start + phrase):
            consonant = int(rng.uniform(0.04, 0.1) * SR)
            vowel = int(rng.uniform(0.08, 0.2) * SR)
            hiss[position : position + consonant] = rng.uniform(0.2, 0.6)
            v0, v1 = position + consonant, min(n, position + consonant + vowel)
            voicing[v0:v1] = np.hanning(v1 - v0) ** 0.5 if v1 > v0 else 0
            progress = (v0 - start) / phrase
            f0[v0:v1] = base * (1.15 - 0.3 * progress) * (1 + rng.uniform(-0.1, 0.15))
            formants[v0:v1] = vowels[int(rng.integers(len(vowels)))]
            position = v1
        position += int(rng.uniform(0.2, 0.6) * SR)
    voiced = np.flatnonzero(f0)
    f0 = np.interp(np.arange(n), voiced, f0[voiced])
    phase = np.cumsum(f0) / SR
    pulses = (np.diff(np.floor(phase), prepend=0) > 0).astype(float) * voicing
    out = np.zeros(n)
    for index, gain in enumerate((1.0, 0.5, 0.25)):
        # Formants change per syllable: filter each syllable's stretch with its own resonator.
        track = formants[:, index]
        for value in np.unique(track[track > 0]):
            mask = track == value
            out += gain * _resonator(pulses * mask, value, 80 + 40 * index)
    noise = sosfilt(butter(4, 2500, "highpass", fs=SR, output="sos"), rng.standard_normal(n))
    # Fricatives about 15 dB under the vowels, as in running speech.
    vowel_rms = float(np.sqrt(np.mean(out[voicing > 0.5] ** 2))) if (voicing > 0.5).any() else 1.0
    return _normalised(out + 0.18 * vowel_rms * noise * hiss)


def music_bed(seed: int, seconds: float = 8.0) -> np.ndarray:
    """Soft sawtooth chords, one every 2 s, through a low-pass."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    out = np.zeros(n)
    root = rng.integers(45, 57)
    for chord in range(int(seconds / 2) + 1):
        start, end = chord * 2 * SR, min(n, (chord + 1) * 2 * SR)
        if end <= start:
            break
        step = [0, 5, 7, 3][chord % 4]
        for interval in (0, 4 if chord % 2 else 3, 7):
            hz = 440 * 2 ** ((root + step + interval + 12 - 69) / 12)
            out[start:end] += _saw(np.full(end - start, hz), 6) * np.hanning(end - start) ** 0.2
    return _normalised(sosfilt(butter(2, 1500, fs=SR, output="sos"), out))


def speech_over_music(seed: int) -> np.ndarray:
    """A host talking over a bed 12 dB down."""
    return _normalised(speech(seed) + 0.25 * music_bed(seed + 1))


def drums_and_bass(seed: int, seconds: float = 8.0) -> np.ndarray:
    """Kick, snare and swung hats with a sawtooth bass riff; no chords, no melody."""
    rng = np.random.default_rng(seed)
    bpm = rng.uniform(85, 170)
    beat = 60 / bpm
    n = int(seconds * SR)
    out = np.zeros(n)
    t = np.arange(int(0.3 * SR)) / SR
    kick = np.sin(2 * np.pi * (50 * t + 60 * 0.04 * (1 - np.exp(-t / 0.04)))) * np.exp(-t / 0.15)
    snare_noise = sosfilt(
        butter(2, [1000, 6000], "bandpass", fs=SR, output="sos"), rng.standard_normal(len(t))
    )
    snare = (snare_noise + 0.5 * np.sin(2 * np.pi * 185 * t)) * np.exp(-t / 0.07)
    hat = sosfilt(butter(4, 7000, "highpass", fs=SR, output="sos"), rng.standard_normal(len(t)))
    hat *= np.exp(-t / 0.02)
    riff = rng.choice([0, 3, 5, 7, 10, 12], size=8)
    root = 440 * 2 ** ((rng.integers(28, 40) - 69) / 12)
    swing = rng.uniform(0.5, 0.66)

    def place(sound: np.ndarray, at: float, gain: float) -> None:
        start = int(at * SR)
        end = min(n, start + len(sound))
        if start < n:
            out[start:end] += gain * sound[: end - start]

    for index in range(int(seconds / beat) + 1):
        at = index * beat
        place(kick, at, 1.0 if index % 2 == 0 else 0.0)
        place(snare, at, 0.6 if index % 2 else 0.0)
        place(hat, at, 0.25)
        place(hat, at + swing * beat, 0.15)
        for half in range(2):
            length = int(0.45 * beat * SR)
            hz = root * 2 ** (riff[(2 * index + half) % 8] / 12)
            note = _saw(np.full(length, hz), 8) * np.exp(-np.arange(length) / SR / 0.2)
            place(note, at + half * swing * beat, 0.35)
    return _normalised(out)


def wind(seed: int, seconds: float = 8.0) -> np.ndarray:
    """White noise through a low-pass, under gusts from a smoothed random walk."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    noise = sosfilt(butter(2, rng.uniform(300, 900), fs=SR, output="sos"), rng.standard_normal(n))
    walk = np.cumsum(rng.standard_normal(n // 2000 + 2))
    gusts = np.interp(np.arange(n) / 2000, np.arange(len(walk)), walk)
    gusts = 0.4 + (gusts - gusts.min()) / (np.ptp(gusts) or 1.0)
    return _normalised(noise * gusts)


def rain(seed: int, seconds: float = 8.0) -> np.ndarray:
    """A hiss with impulses (drops) ringing a short resonator, several hundred a second."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    impulses = np.zeros(n)
    drops = rng.integers(0, n, int(rng.uniform(200, 800) * seconds))
    impulses[drops] = rng.uniform(0.2, 1.0, len(drops))
    ringing = _resonator(impulses, rng.uniform(2000, 5000), 800)
    hiss = sosfilt(butter(2, 1200, "highpass", fs=SR, output="sos"), rng.standard_normal(n))
    return _normalised(ringing + 0.02 * hiss)


def whale(seed: int, seconds: float = 9.0) -> np.ndarray:
    """Moans gliding along a cubic contour (80-600 Hz), with a smeared, reverberant tail."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    out = np.zeros(n)
    position = int(rng.uniform(0, 0.5) * SR)
    while position < n - SR:
        length = min(n - position, int(rng.uniform(2.0, 4.0) * SR))
        knots = np.linspace(0, length, 5)
        contour = CubicSpline(knots, np.exp(rng.uniform(np.log(80), np.log(600), 5)))(
            np.arange(length)
        )
        contour = np.clip(contour, 60, 900)
        phase = 2 * np.pi * np.cumsum(contour) / SR
        moan = sum(np.sin(h * phase) / h**1.5 for h in range(1, 6)) * np.hanning(length)
        out[position : position + length] += moan
        position += length + int(rng.uniform(0.3, 1.5) * SR)
    tail = rng.standard_normal(int(0.3 * SR)) * np.exp(-np.arange(int(0.3 * SR)) / SR / 0.08)
    return _normalised(np.convolve(out, tail)[:n] + 0.001 * rng.standard_normal(n))


INDEPENDENT: dict[str, tuple[str, Callable[[int], np.ndarray]]] = {
    "wind": ("other", wind),
    "rain": ("other", rain),
    "whale": ("other", whale),
    "drums_and_bass": ("music", drums_and_bass),
    "speech": ("speech", speech),
    "speech_over_music": ("speech", speech_over_music),
}
