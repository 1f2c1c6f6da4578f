"""Speech, animal calls, environmental noise and sung voices for the sample world's clips.

`sample_world.audio` plans and mixes the clips; these are its sources for the content types that
are not instruments or speech. Each function draws only from the numpy stream it is given, so a
clip stays a pure function of (world seed, track id). Everything is mono float32 at the caller's
rate, not normalised (the caller sets the level).

What makes each one what it is, and what the content-type classifier must learn from:

- `speech` (``speech``): source-filter speech (see `sample_world.audio`, ``speech_like``);
  `near_silence` (``silence``): pink noise 60-70 dB below full scale.

- `animal_calls` (content type ``other``): one of
  - ``bird``: high (1.8-6 kHz), short calls with fast frequency modulation: sweeps of up to an
    octave in 30-150 ms, trills (a note repeated 12-25 times a second), whistles with a glide,
    in phrases separated by pauses;
  - ``howl``: long voiced glides (a dog's howl 300-900 Hz, a whale's moan 40-500 Hz) that rise,
    drift and fall over 1.5-5 s without settling on a scale, a few harmonics;
  - ``bark``: short, harsh harmonic-and-noise bursts with a falling pitch, in irregular groups.
- `environmental_noise` (``other``): ``wind`` (low-pass noise under slow gusts, sometimes a
  whistling narrow band that wanders), ``rain`` (a hiss with hundreds of droplet clicks a
  second) or ``hum`` (mains or engine hum with its harmonics, slow wobble, rumble and passing
  vehicles); stationary over seconds, with no pulse and no scale.
- `sung_notes` (``music``, a cappella): voices on given notes, each a harmonic series shaped
  by a vowel's formants with a 4.5-6.5 Hz vibrato of 20-60 cents and soft attacks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ANIMAL_KINDS = ("bird", "howl", "bark")
ENVIRONMENT_KINDS = ("wind", "rain", "hum")
# Rounded back vowels (F1, F2, F3 in Hz): their energy sits on the low harmonics, as a choir's
# "oo" and "oh" do.
# Vowel formants (F1, F2, F3) in Hz, adult speaker.
_SPOKEN_VOWELS = (
    (730, 1090, 2440),
    (270, 2290, 3010),
    (300, 870, 2240),
    (530, 1840, 2480),
    (570, 840, 2410),
    (440, 1020, 2240),
    (660, 1720, 2410),
)
_SUNG_VOWELS = ((300, 870, 2240), (570, 840, 2410), (440, 1020, 2240), (730, 1090, 2440))


def animal_calls(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Bird calls, howls or barks (one kind per clip) over a faint background."""
    kind = ANIMAL_KINDS[int(rng.integers(len(ANIMAL_KINDS)))]
    out = np.zeros(n, dtype=np.float32)
    if kind == "bird":
        _birdsong(rng, out, sr)
    elif kind == "howl":
        _howls(rng, out, sr)
    else:
        _barks(rng, out, sr)
    peak = float(np.max(np.abs(out))) or 1.0
    # Field recordings are never digitally silent between calls.
    out += _coloured_noise(rng, n, 1.0) * np.float32(
        peak * 10 ** (-float(rng.uniform(35, 50)) / 20)
    )
    return out


def environmental_noise(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Wind, rain or hum (one kind per clip)."""
    kind = ENVIRONMENT_KINDS[int(rng.integers(len(ENVIRONMENT_KINDS)))]
    if kind == "wind":
        return _wind(rng, n, sr)
    if kind == "rain":
        return _rain(rng, n, sr)
    return _hum(rng, n, sr)


def sung_notes(
    rng: np.random.Generator,
    notes: Sequence[tuple[int, int, float, float]],
    n: int,
    sr: int,
) -> np.ndarray:
    """Voices singing `notes`, each ``(start sample, length, MIDI pitch, gain)``."""
    out = np.zeros(n, dtype=np.float32)
    for start, length, midi, gain in notes:
        end = min(n, start + length)
        if end <= start:
            continue
        span = end - start
        t = np.arange(span, dtype=np.float64) / sr
        rate = float(rng.uniform(4.5, 6.5))
        depth = float(rng.uniform(0.2, 0.6))  # semitones
        # Vibrato grows in after the attack, as trained singers do.
        onset = np.minimum(1.0, t / 0.25)
        semitones = midi + depth * onset * np.sin(2 * np.pi * rate * t + rng.uniform(0, 2 * np.pi))
        f0 = 440.0 * 2.0 ** ((semitones - 69) / 12)
        vowel = _SUNG_VOWELS[int(rng.integers(len(_SUNG_VOWELS)))]
        envelope = _envelope(span, sr, float(rng.uniform(0.05, 0.12)), 0.08)
        # A little breath noise under the tone.
        voice = _formant_voice(f0, vowel, sr, 3000.0) + 0.02 * _coloured_noise(rng, span, 0.0)
        out[start:end] += np.float32(gain) * voice * envelope
    return out


# ---- speech and near-silence ---------------------------------------------------------------------


def speech(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Source-filter speech: harmonics of a gliding F0 weighted by vowel formants."""
    hop = 110  # control rate 200 Hz at 22,050 Hz
    frames = n // hop + 2
    voiced = np.zeros(frames)
    hiss = np.zeros(frames)
    f0 = np.zeros(frames)
    formants = np.zeros((frames, 3))
    base_f0 = float(rng.uniform(95.0, 230.0))
    # Talkers differ in pace: syllables and consonants of a fast talker are up to 1.6x shorter.
    pace = float(rng.uniform(0.8, 1.6))
    rate = sr / hop
    position = int(rng.uniform(0.1, 0.4) * rate)
    vowel = _SPOKEN_VOWELS[0]
    while position < frames - 2:
        phrase_end = min(frames - 2, position + int(rng.uniform(1.2, 3.2) * rate))
        phrase_start = position
        while position < phrase_end:
            syllable = int(rng.uniform(0.12, 0.33) * rate / pace)
            consonant = int(rng.uniform(0.03, 0.08) * rate / pace) if rng.random() < 0.6 else 0
            end = min(phrase_end, position + syllable)
            if consonant:
                stop = min(end, position + consonant)
                hiss[position:stop] = float(rng.uniform(0.05, 0.25))
            vowel_start = min(end, position + consonant)
            span = end - vowel_start
            if span > 0:
                vowel = _SPOKEN_VOWELS[int(rng.integers(len(_SPOKEN_VOWELS)))]
                voiced[vowel_start:end] = np.sin(np.linspace(0.0, np.pi, span)) ** 0.6
                voiced[vowel_start:end] *= float(rng.uniform(0.6, 1.0))
                formants[vowel_start:end] = vowel
                progress = (np.arange(vowel_start, end) - phrase_start) / max(
                    1, phrase_end - phrase_start
                )
                accent = float(rng.uniform(-0.06, 0.12)) * np.sin(np.linspace(0, np.pi, span))
                f0[vowel_start:end] = base_f0 * (1.12 - 0.25 * progress) * (1 + accent)
            position = end
        position = phrase_end + int(rng.uniform(0.25, 0.8) * rate)
    # Hold F0 and formants through unvoiced stretches so the glides stay continuous.
    filled = np.flatnonzero(f0)
    if filled.size == 0:
        return np.zeros(n, dtype=np.float32)
    frame_index = np.arange(frames)
    f0 = np.interp(frame_index, filled, f0[filled])
    for column in range(3):
        formants[:, column] = np.interp(frame_index, filled, formants[filled, column])

    phase = np.cumsum(_upsample(f0, hop, n), dtype=np.float64) / sr
    phase -= np.floor(phase)
    base = phase.astype(np.float32)
    out = np.zeros(n, dtype=np.float32)
    voice = np.empty(n, dtype=np.float32)
    bandwidths = np.array([90.0, 110.0, 170.0])
    weights = np.array([1.0, 0.55, 0.25])
    for harmonic in range(1, int(3800 / f0.min()) + 1):
        freq = harmonic * f0  # per control frame
        distance = (freq[:, None] - formants) / bandwidths
        envelope = (weights / (1 + distance**2)).sum(axis=1) + 0.02
        amplitude = voiced * envelope / harmonic**0.7 * (freq < 3800)
        if not amplitude.any():
            continue
        harmonic_sine(base, harmonic, voice)
        voice *= _upsample(amplitude, hop, n)
        out += voice
    noise = np.diff(rng.standard_normal(n + 1)).astype(np.float32)
    out += noise * _upsample(hiss, hop, n)
    return out


def _upsample(control: np.ndarray, hop: int, n: int) -> np.ndarray:
    """Linear interpolation of a control-rate track (one value per `hop` samples, at least
    ceil(n / hop) + 1 values) to `n` float32 samples."""
    frames = -(-n // hop)
    values = control.astype(np.float32)
    ramp = np.arange(hop, dtype=np.float32) / np.float32(hop)
    slopes = values[1 : frames + 1] - values[:frames]
    return (values[:frames, None] + slopes[:, None] * ramp).ravel()[:n]


def near_silence(rng: np.random.Generator, n: int) -> np.ndarray:
    """Pink noise 60-70 dB below full scale (room tone, a fade-out, a muted channel)."""
    size = 1 << (n - 1).bit_length()  # a power of two: the FFT of an odd length can be slow
    spectrum = np.fft.rfft(rng.standard_normal(size))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1.0))
    spectrum[0] = 0.0
    noise = np.fft.irfft(spectrum, size)[:n]
    rms = float(np.sqrt(np.mean(noise**2))) or 1.0
    level = 10 ** (float(rng.uniform(-70.0, -60.0)) / 20)
    return (noise * (level / rms)).astype(np.float32)


# ---- animals -----------------------------------------------------------------------------------


def _birdsong(rng: np.random.Generator, out: np.ndarray, sr: int) -> None:
    n = len(out)
    position = int(rng.uniform(0.05, 0.6) * sr)
    while position < n - sr // 10:
        phrase_end = min(n, position + int(rng.uniform(0.8, 2.5) * sr))
        base = float(rng.uniform(1800, 5000))
        while position < phrase_end:
            style = int(rng.integers(3))
            if style == 0:  # a sweep up or down, up to an octave
                length = int(rng.uniform(0.03, 0.15) * sr)
                t = np.linspace(0.0, 1.0, length)
                octaves = float(rng.uniform(-1.0, 1.0))
                freq = base * 2.0 ** (octaves * t)
            elif style == 1:  # a trill: one short note repeated quickly
                length = int(rng.uniform(0.2, 0.6) * sr)
                t = np.arange(length) / sr
                rate = float(rng.uniform(12, 25))
                freq = base * (1 + float(rng.uniform(0.05, 0.2)) * np.sin(2 * np.pi * rate * t))
            else:  # a whistle with a glide
                length = int(rng.uniform(0.15, 0.45) * sr)
                t = np.linspace(0.0, 1.0, length)
                freq = base * (1 + float(rng.uniform(-0.15, 0.15)) * t + 0.02 * np.sin(9 * t))
            length = min(length, n - position)
            if length <= 16:
                break
            freq = np.minimum(freq[:length], 0.45 * sr)
            tone = _sine(freq, sr) + 0.15 * _sine(np.minimum(2 * freq, 0.45 * sr), sr)
            if style == 1:
                rate_samples = max(1, int(sr / rate))
                tone *= (np.sin(np.pi * (np.arange(length) % rate_samples) / rate_samples) ** 2)[
                    :length
                ].astype(np.float32)
            envelope = np.sin(np.linspace(0.0, np.pi, length)).astype(np.float32) ** 2
            out[position : position + length] += np.float32(rng.uniform(0.5, 1.0)) * tone * envelope
            base = float(np.clip(base * 2.0 ** rng.uniform(-0.4, 0.4), 1800, 6000))
            position += length + int(rng.uniform(0.02, 0.25) * sr)
        position = phrase_end + int(rng.uniform(0.4, 1.5) * sr)


def _howls(rng: np.random.Generator, out: np.ndarray, sr: int) -> None:
    n = len(out)
    whale = bool(rng.random() < 0.5)
    low, high = (40.0, 500.0) if whale else (300.0, 900.0)
    position = int(rng.uniform(0.0, 0.8) * sr)
    while position < n - sr // 2:
        length = min(n - position, int(rng.uniform(1.5, 5.0) * sr))
        # A smooth contour through a few random points: rise, drift, fall.
        points = int(rng.integers(3, 6))
        anchors = np.exp(rng.uniform(np.log(low), np.log(high), points))
        anchors[0] *= float(rng.uniform(0.7, 0.9))
        anchors[-1] *= float(rng.uniform(0.6, 0.9))
        contour = np.interp(np.linspace(0, points - 1, length), np.arange(points), anchors)
        # Irregular wobble, not a vibrato: a slow random walk of a few percent.
        wobble = np.cumsum(rng.standard_normal(length // 512 + 2)) * 0.004
        contour = contour * (1 + np.interp(np.arange(length) / 512, np.arange(len(wobble)), wobble))
        partials = (1.0, 0.5, 0.3, 0.2, 0.12, 0.08) if whale else (1.0, 0.35, 0.15, 0.06)
        voice = np.zeros(length, dtype=np.float32)
        for harmonic, amplitude in enumerate(partials, start=1):
            freq = contour * harmonic
            if freq.max() >= 0.45 * sr:
                break
            voice += np.float32(amplitude) * _sine(freq, sr)
        envelope = _envelope(length, sr, float(rng.uniform(0.1, 0.4)), float(rng.uniform(0.2, 0.6)))
        if whale:  # a slow swell inside the moan
            envelope *= (
                0.7 + 0.3 * np.sin(np.linspace(0, np.pi * rng.uniform(1, 3), length))
            ).astype(np.float32)
        out[position : position + length] += np.float32(rng.uniform(0.6, 1.0)) * voice * envelope
        position += length + int(rng.uniform(0.4, 2.0) * sr)


def _barks(rng: np.random.Generator, out: np.ndarray, sr: int) -> None:
    n = len(out)
    position = int(rng.uniform(0.1, 0.8) * sr)
    while position < n - sr // 5:
        for _ in range(int(rng.integers(1, 5))):
            length = min(n - position, int(rng.uniform(0.08, 0.25) * sr))
            if length <= 64:
                break
            t = np.arange(length) / sr
            start_hz = float(rng.uniform(350, 900))
            freq = start_hz * (0.6 + 0.4 * np.exp(-t / 0.05))
            voice = np.zeros(length, dtype=np.float32)
            for harmonic in range(1, 11):
                if start_hz * harmonic >= 0.45 * sr:
                    break
                voice += np.float32(1 / harmonic) * _sine(freq * harmonic, sr)
            noise = _coloured_noise(rng, length, 0.5)
            bark = voice + np.float32(rng.uniform(0.8, 2.0)) * noise
            bark *= np.exp(-t / rng.uniform(0.04, 0.1)).astype(np.float32)
            bark[: int(0.004 * sr)] *= np.linspace(0, 1, int(0.004 * sr), dtype=np.float32)
            out[position : position + length] += np.float32(rng.uniform(0.6, 1.0)) * bark
            position += length + int(rng.uniform(0.1, 0.4) * sr)
            if position >= n - sr // 5:
                break
        position += int(rng.uniform(0.6, 2.2) * sr)


# ---- environment -------------------------------------------------------------------------------


def _wind(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    noise = _coloured_noise(rng, n, float(rng.uniform(1.0, 2.0)))
    gusts = _slow_curve(rng, n, sr, float(rng.uniform(0.1, 0.5)))
    out = noise * (0.35 + gusts)
    if rng.random() < 0.5:  # a whistle: a narrow, wandering band, loudest in the gusts
        centre = float(rng.uniform(300, 1200)) * 2.0 ** (0.8 * (_slow_curve(rng, n, sr, 0.3) - 0.5))
        band = _sine(centre, sr) * (0.5 + 0.5 * _slow_curve(rng, n, sr, 8.0))
        out += np.float32(rng.uniform(0.05, 0.3)) * band * gusts
    return out


def _rain(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    out = 0.4 * np.diff(_coloured_noise(rng, n + 1, 0.3)).astype(np.float32)
    drops = int(rng.uniform(100, 600) * n / sr)
    length = int(0.012 * sr)
    t = np.arange(length) / sr
    for _ in range(drops):
        start = int(rng.integers(0, n - length))
        ping = np.sin(2 * np.pi * rng.uniform(1500, 7000) * t) * np.exp(
            -t / rng.uniform(0.001, 0.004)
        )
        out[start : start + length] += np.float32(rng.uniform(0.1, 1.0)) * ping.astype(np.float32)
    return out * (0.8 + 0.2 * _slow_curve(rng, n, sr, 0.2))


def _hum(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    mains = float(rng.choice([50.0, 60.0, 100.0, 120.0])) * float(rng.uniform(0.97, 1.03))
    wobble = 1 + 0.01 * (_slow_curve(rng, n, sr, float(rng.uniform(0.2, 1.0))) - 0.5)
    hum = np.zeros(n, dtype=np.float32)
    for harmonic in range(1, 9):
        hum += np.float32(rng.uniform(0.1, 1.0) / harmonic**0.5) * _sine(
            mains * harmonic * wobble, sr
        )
    hum *= 0.8 + 0.4 * _slow_curve(rng, n, sr, float(rng.uniform(0.2, 2.0)))
    out = hum + np.float32(rng.uniform(0.5, 2.0)) * _coloured_noise(rng, n, 2.0)
    # Passing vehicles: swelling broadband noise, some with a Doppler-falling engine tone.
    for _ in range(int(rng.integers(0, 4))):
        length = int(rng.uniform(2.0, 5.0) * sr)
        start = int(rng.integers(-length // 2, n - length // 2))
        swell = np.hanning(length).astype(np.float32) ** 2
        engine = float(rng.uniform(80, 250)) * np.linspace(1.06, 0.94, length)
        car = _coloured_noise(rng, length, 1.0) + 0.3 * _sine(engine, sr)
        lo, hi = max(0, start), min(n, start + length)
        if hi > lo:
            out[lo:hi] += np.float32(rng.uniform(1.0, 3.0)) * (car * swell)[lo - start : hi - start]
    return out


# ---- building blocks ---------------------------------------------------------------------------


def harmonic_sine(base: np.ndarray, harmonic: int, out: np.ndarray) -> np.ndarray:
    """sin(2 pi harmonic * base) into `out`, for a phase `base` in cycles within [0, 1).

    The long running phase is reduced to [0, 1) in float64 by the caller; the rest runs in
    float32, which numpy vectorises (float64 `sin` is several times slower here).
    """
    np.multiply(base, np.float32(harmonic), out=out)
    out -= np.floor(out)
    out *= np.float32(2 * np.pi)
    return np.sin(out, out=out)


def _sine(freq: float | np.ndarray, sr: int) -> np.ndarray:
    """A sine whose frequency (Hz, a constant or one value per sample) may change over time."""
    if np.isscalar(freq):
        raise TypeError("freq must be an array; use a constant array for a steady tone")
    phase = np.cumsum(np.asarray(freq, dtype=np.float64)) / sr
    phase -= np.floor(phase)
    return np.sin((2 * np.pi) * phase).astype(np.float32)


def _formant_voice(
    f0: np.ndarray, vowel: tuple[int, int, int], sr: int, top_hz: float
) -> np.ndarray:
    """A harmonic series on the per-sample pitch `f0`, each harmonic weighted by the vowel."""
    cycles = np.cumsum(np.asarray(f0, dtype=np.float64)) / sr
    cycles -= np.floor(cycles)
    base = cycles.astype(np.float32)  # the phase in cycles; harmonics multiply it in float32
    out = np.zeros(len(f0), dtype=np.float32)
    work = np.empty(len(f0), dtype=np.float32)
    mean_f0 = float(np.mean(f0))
    bandwidths = np.array([90.0, 110.0, 170.0])
    weights = np.array([1.0, 0.55, 0.25])
    for harmonic in range(1, int(top_hz / mean_f0) + 1):
        distance = (harmonic * mean_f0 - np.array(vowel)) / bandwidths
        amplitude = float((weights / (1 + distance**2)).sum() + 0.05) / harmonic**0.8
        out += np.float32(amplitude) * harmonic_sine(base, harmonic, work)
    return out


def _coloured_noise(rng: np.random.Generator, n: int, slope: float) -> np.ndarray:
    """Unit-RMS noise whose power falls as 1/f^slope (0 white, 1 pink, 2 brown)."""
    size = 1 << max(1, (n - 1).bit_length())
    spectrum = np.fft.rfft(rng.standard_normal(size))
    spectrum /= np.maximum(np.arange(len(spectrum)), 1.0) ** (slope / 2)
    spectrum[0] = 0.0
    noise = np.fft.irfft(spectrum, size)[:n]
    rms = float(np.sqrt(np.mean(noise**2))) or 1.0
    return (noise / rms).astype(np.float32)


def _slow_curve(rng: np.random.Generator, n: int, sr: int, rate_hz: float) -> np.ndarray:
    """A smooth random curve in [0, 1] that changes about `rate_hz` times a second."""
    points = max(2, int(n / sr * rate_hz) + 2)
    values = rng.random(points)
    x = np.linspace(0, points - 1, n)
    curve = np.interp(x, np.arange(points), values)
    # Cosine-smooth between the points so the curve has no corners.
    fraction = x - np.floor(x)
    low = values[np.minimum(np.floor(x).astype(int), points - 1)]
    high = values[np.minimum(np.floor(x).astype(int) + 1, points - 1)]
    smooth = low + (high - low) * (1 - np.cos(np.pi * fraction)) / 2
    return (0.5 * curve + 0.5 * smooth).astype(np.float32)


def _envelope(n: int, sr: int, attack_s: float, release_s: float) -> np.ndarray:
    envelope = np.ones(n, dtype=np.float32)
    attack, release = min(n, int(attack_s * sr)), min(n, int(release_s * sr))
    envelope[:attack] = np.sin(np.linspace(0, np.pi / 2, attack, dtype=np.float32)) ** 2
    if release:
        envelope[n - release :] *= np.cos(np.linspace(0, np.pi / 2, release, dtype=np.float32)) ** 2
    return envelope
