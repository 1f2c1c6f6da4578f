"""An independent test set for tempo: drum grooves and pulse-free sounds with a known answer.

Shares no code and no synthesis with `spotify_agent_assets.sample_world` (numpy only), so the
tempo estimator is not checked on the sounds it was tuned on. What differs on purpose:

- Drums: kicks are exponential pitch sweeps (160-60 Hz down to 40-55 Hz), snares are noise
  bursts shaped in the frequency domain (each clip its own band and body tone), claps are three
  quick bursts, closed and open hats are high-passed noise of different lengths, rim clicks a
  short 1.7-2.4 kHz ring, toms swept sines at 90-220 Hz.
- Grooves on a 16-step bar (`PATTERNS`): four-on-the-floor, rock backbeat, breakbeat,
  half-time, hats only, kick only (every beat), syncopated funk and a shuffle in triplets; swing
  on the off-beat eighths or sixteenths, timing jitter of a few ms, velocity jitter.
- Music around them: a bass line on the tonic and fifth, a pad of sustained chords (both
  optional), light reverb (noise-tail convolution), soft limiting, mono or stereo (instruments
  panned) at 22,050 or 44,100 Hz.
- Tempo: `clip_specs` spreads 16 clips evenly over each band of `TEMPO_BANDS` (60-200 BPM),
  plus tempo-change clips (one tempo for about half the clip, then 1.3x faster).
- No pulse (`pulse_free_specs`): a formant voice reading (glottal pulses through moving vowel
  formants, syllables of irregular length, pauses), brown and filtered noise, wind (slowly
  modulated noise), rain (random droplets) and an ambient pad with irregular swells.

Every clip is a pure function of its spec (seeded numpy streams). The labelled tempo is the
quarter note of the written groove: the level at which the kick and the snare alternate for a
backbeat, the hats' beat for hats-only. A half-time groove here plays its snare on beat 3 of a
bar over eighth-note hats; it is labelled at its quarter-note tempo and kept to 60-95 BPM,
where the alternative reading (half that) would be below any tempo a listener taps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TEMPO_BANDS = ((60.0, 90.0), (90.0, 120.0), (120.0, 150.0), (150.0, 200.0))
CLIPS_PER_BAND = 16
TEMPO_CHANGE_RATIO = 1.3

# One bar of 16 sixteenth steps per voice, with velocities (0 = silent). "K" kick, "S" snare,
# "C" clap, "H" closed hat, "O" open hat, "R" rim click, "T" tom.
PATTERNS: dict[str, dict[str, str]] = {
    "four_on_floor": {"K": "9...9...9...9...", "C": "....9.......9...", "O": "..6...6...6...6."},
    "rock": {"K": "9.....5.9.......", "S": "....9.......9...", "H": "7.4.7.4.7.4.7.4."},
    "breakbeat": {"K": "9.....7...6.....", "S": "....9..3.3..9..4", "H": "7.5.7.5.7.5.7.5."},
    "half_time": {"K": "9.........6.....", "S": "........9.......", "H": "7.4.7.4.7.4.7.4."},
    "hats_only": {"H": "9.4.8.4.9.4.8.4."},
    "kick_only": {"K": "9...8...9...8..."},
    "funk": {"K": "9..6..9...7..6..", "S": "....9..4.4..9...", "H": "6363636363636363"},
    "rim_toms": {
        "K": "9.......8.......",
        "R": "....8.......8...",
        "T": "..5.....5.5...6.",
        "H": "6.3.6.3.6.3.6.3.",
    },
}
# A shuffle: 12 triplet eighths per bar, the middle one of each beat silent.
SHUFFLE = {"K": "9.....8.....", "S": "...9.....9..", "H": "7.57.57.57.5"}


@dataclass(frozen=True)
class ClipSpec:
    """What to render: the truth (`tempo_bpm`, `second_tempo_bpm`) and how it sounds."""

    name: str
    tempo_bpm: float | None
    pattern: str
    seed: int
    duration_s: float = 14.0
    second_tempo_bpm: float | None = None  # the tempo after the change, for tempo-change clips
    swing: float = 0.0  # delay of off-beat eighths as a share of an eighth
    bass: bool = False
    pad: bool = False
    stereo: bool = False
    sample_rate: int = 22_050
    reverb: float = 0.0

    @property
    def band(self) -> str:
        for low, high in TEMPO_BANDS:
            if self.tempo_bpm is not None and low <= self.tempo_bpm < high + (high == 200):
                return f"{low:.0f}-{high:.0f}"
        return "none"


def clip_specs() -> list[ClipSpec]:
    """16 clips per tempo band, evenly spread, cycling through grooves and production."""
    specs = []
    grooves = [*PATTERNS, "shuffle"]
    for band_index, (low, high) in enumerate(TEMPO_BANDS):
        tempi = low + (np.arange(CLIPS_PER_BAND) + 0.5) * (high - low) / CLIPS_PER_BAND
        for i, tempo in enumerate(tempi):
            n = band_index * CLIPS_PER_BAND + i
            groove = grooves[(n * 5 + band_index) % len(grooves)]
            if groove == "half_time" and tempo > 95:
                groove = "rock"
            if groove == "shuffle" and tempo > 170:
                groove = "funk"
            swing = 0.0 if groove == "shuffle" else (0.0, 0.0, 0.2, 0.33)[n % 4]
            specs.append(
                ClipSpec(
                    name=f"{groove}_{tempo:.1f}",
                    tempo_bpm=round(float(tempo), 2),
                    pattern=groove,
                    seed=1000 + n,
                    duration_s=12.0 + (n % 5) * 2.0,
                    swing=swing if groove not in ("hats_only", "kick_only") else 0.0,
                    bass=n % 3 != 0,
                    pad=n % 2 == 0,
                    stereo=n % 4 == 1,
                    sample_rate=44_100 if n % 5 == 2 else 22_050,
                    reverb=(0.0, 0.15, 0.3)[n % 3],
                )
            )
    return specs


def tempo_change_specs() -> list[ClipSpec]:
    """One tempo for the first half, then `TEMPO_CHANGE_RATIO` times faster."""
    return [
        ClipSpec(
            name=f"change_{pattern}_{tempo:.0f}",
            tempo_bpm=tempo,
            second_tempo_bpm=round(tempo * TEMPO_CHANGE_RATIO, 2),
            pattern=pattern,
            seed=5000 + i,
            duration_s=20.0,
            bass=i % 2 == 0,
            reverb=0.1,
        )
        for i, (pattern, tempo) in enumerate(
            [("rock", 84.0), ("four_on_floor", 100.0), ("funk", 112.0), ("rock", 128.0)]
        )
    ]


def pulse_free_specs() -> list[ClipSpec]:
    """Sounds with no steady beat: a voice, noises, rain, an ambient pad."""
    names = ("voice", "voice", "brown_noise", "band_noise", "wind", "rain", "ambient_pad")
    return [
        ClipSpec(name=f"{name}_{i}", tempo_bpm=None, pattern=name, seed=9000 + i)
        for i, name in enumerate(names)
    ]


def render(spec: ClipSpec) -> np.ndarray:
    """The clip as float32 ``(frames, channels)`` at ``spec.sample_rate``, peak below 1."""
    rng = np.random.default_rng(spec.seed)
    sr = spec.sample_rate
    n = int(spec.duration_s * sr)
    if spec.tempo_bpm is None:
        mono = _pulse_free(spec.pattern, n, sr, rng)
        left = right = mono
    else:
        left, right = _groove(spec, n, sr, rng)
    y = np.stack([left, right], axis=1) if spec.stereo else ((left + right) / 2)[:, None]
    if spec.reverb > 0:
        y = _reverb(y, sr, spec.reverb, rng)
    # Soft limiting, as a mastering chain would: gain up, then a tanh knee.
    y = np.tanh(2.0 * y / max(float(np.abs(y).max()), 1e-9)) / np.tanh(2.0) * 0.8
    return y.astype(np.float32)


def _beat_times(spec: ClipSpec, n: int, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Start time (s) and length (s) of each beat, with the tempo change halfway if any."""
    starts, lengths = [], []
    t, duration = 0.05, n / sr
    while t < duration:
        tempo = spec.tempo_bpm
        if spec.second_tempo_bpm is not None and t >= duration / 2:
            tempo = spec.second_tempo_bpm
        beat = 60.0 / float(tempo)
        starts.append(t)
        lengths.append(beat)
        t += beat
    return np.array(starts), np.array(lengths)


def _groove(spec: ClipSpec, n: int, sr: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    left = np.zeros(n)
    right = np.zeros(n)
    kit = _Kit(sr, rng)
    steps_per_beat = 3 if spec.pattern == "shuffle" else 4
    pattern = SHUFFLE if spec.pattern == "shuffle" else PATTERNS[spec.pattern]
    pans = {"K": 0.5, "S": 0.45, "C": 0.55, "H": 0.75, "O": 0.3, "R": 0.35, "T": 0.6}
    starts, lengths = _beat_times(spec, n, sr)
    for beat_index, (start, length) in enumerate(zip(starts, lengths, strict=True)):
        for voice, row in pattern.items():
            steps_per_bar = len(row)
            for sub in range(steps_per_beat):
                step = (beat_index * steps_per_beat + sub) % steps_per_bar
                if row[step] == ".":
                    continue
                offset = sub / steps_per_beat
                if spec.swing and steps_per_beat == 4 and sub == 2:
                    offset += spec.swing * 0.5 / 2  # swung eighth
                if spec.swing and steps_per_beat == 4 and sub in (1, 3):
                    offset += spec.swing * 0.25 / 2  # swung sixteenths
                when = start + offset * length + rng.normal(0, 0.004)
                velocity = int(row[step]) / 9 * rng.uniform(0.85, 1.0)
                sound = kit.sound(voice) * velocity
                _add(left, sound * (1 - pans[voice]) * 2, when, sr)
                _add(right, sound * pans[voice] * 2, when, sr)
    tonal = np.zeros(n)
    if spec.bass:
        tonal += _bass_line(starts, lengths, n, sr, rng)
    if spec.pad:
        tonal += _pad(n, sr, rng, chord_s=float(lengths[0]) * 4)
    return left + tonal, right + tonal


class _Kit:
    """Drum sounds drawn once per clip (each clip its own kit), reused on every hit."""

    def __init__(self, sr: int, rng: np.random.Generator) -> None:
        self.sr = sr
        self.sounds = {
            "K": self._kick(rng),
            "S": self._snare(rng),
            "C": self._clap(rng),
            "H": self._hat(rng, 0.04),
            "O": self._hat(rng, 0.22),
            "R": self._rim(rng),
            "T": self._tom(rng),
        }

    def sound(self, voice: str) -> np.ndarray:
        return self.sounds[voice]

    def _t(self, seconds: float) -> np.ndarray:
        return np.arange(int(seconds * self.sr)) / self.sr

    def _kick(self, rng: np.random.Generator) -> np.ndarray:
        t = self._t(0.35)
        f0, f1 = rng.uniform(100, 160), rng.uniform(40, 55)
        freq = f1 + (f0 - f1) * np.exp(-t / rng.uniform(0.02, 0.05))
        phase = 2 * np.pi * np.cumsum(freq) / self.sr
        return np.sin(phase) * np.exp(-t / rng.uniform(0.12, 0.25))

    def _snare(self, rng: np.random.Generator) -> np.ndarray:
        t = self._t(0.25)
        noise = _band_noise(len(t), self.sr, rng.uniform(800, 2000), rng.uniform(5000, 9000), rng)
        body = np.sin(2 * np.pi * rng.uniform(170, 240) * t) * np.exp(-t / 0.03)
        return 0.8 * noise * np.exp(-t / rng.uniform(0.05, 0.1)) + 0.5 * body

    def _clap(self, rng: np.random.Generator) -> np.ndarray:
        t = self._t(0.2)
        noise = _band_noise(len(t), self.sr, 900, 4000, rng)
        envelope = sum(np.exp(-np.maximum(t - d, 0) / 0.012) * (t >= d) for d in (0, 0.011, 0.022))
        return 0.9 * noise * envelope * np.exp(-t / 0.08)

    def _hat(self, rng: np.random.Generator, decay: float) -> np.ndarray:
        t = self._t(decay * 5)
        noise = _band_noise(len(t), self.sr, rng.uniform(6000, 8000), self.sr / 2, rng)
        return 0.4 * noise * np.exp(-t / decay)

    def _rim(self, rng: np.random.Generator) -> np.ndarray:
        t = self._t(0.05)
        return 0.6 * np.sin(2 * np.pi * rng.uniform(1700, 2400) * t) * np.exp(-t / 0.008)

    def _tom(self, rng: np.random.Generator) -> np.ndarray:
        t = self._t(0.4)
        f = rng.uniform(90, 220)
        freq = f * (1 + 0.3 * np.exp(-t / 0.05))
        return 0.7 * np.sin(2 * np.pi * np.cumsum(freq) / self.sr) * np.exp(-t / 0.15)


def _band_noise(n: int, sr: int, low: float, high: float, rng: np.random.Generator) -> np.ndarray:
    """White noise band-limited in the frequency domain, unit peak."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / sr)
    spectrum[(freqs < low) | (freqs > high)] = 0
    noise = np.fft.irfft(spectrum, n)
    return noise / max(float(np.abs(noise).max()), 1e-9)


def _add(track: np.ndarray, sound: np.ndarray, when: float, sr: int) -> None:
    start = round(when * sr)
    if start < 0 or start >= len(track):
        return
    end = min(len(track), start + len(sound))
    track[start:end] += sound[: end - start]


def _bass_line(
    starts: np.ndarray, lengths: np.ndarray, n: int, sr: int, rng: np.random.Generator
) -> np.ndarray:
    """A plucked bass on the tonic and fifth, one note every two beats (harmonics 1-3)."""
    root = rng.uniform(41, 62)  # E1..B1
    out = np.zeros(n)
    for i in range(0, len(starts), 2):
        freq = root * (1.5 if (i // 2) % 4 == 2 else 1.0)
        t = np.arange(int(2 * lengths[i] * sr)) / sr
        note = sum(np.sin(2 * np.pi * freq * h * t) / h for h in (1, 2, 3))
        _add(out, 0.35 * note * np.exp(-t / 0.4), starts[i], sr)
    return out


def _pad(n: int, sr: int, rng: np.random.Generator, chord_s: float) -> np.ndarray:
    """Sustained triads changing every bar, crossfaded, so they add pitch but no attacks."""
    t = np.arange(n) / sr
    tonic = rng.uniform(196, 262)
    out = np.zeros(n)
    chords = ((0, 4, 7), (5, 9, 12), (7, 11, 14), (0, 4, 7))
    bar = 0
    while bar * chord_s < n / sr:
        window = np.clip(1 - np.abs((t - (bar + 0.5) * chord_s) / chord_s), 0, 1)
        for semis in chords[bar % 4]:
            out += 0.05 * window * np.sin(2 * np.pi * tonic * 2 ** (semis / 12) * t)
        bar += 1
    return out


def _reverb(y: np.ndarray, sr: int, amount: float, rng: np.random.Generator) -> np.ndarray:
    """A decaying noise tail (0.6 s RT) convolved in, mixed at ``amount``."""
    t = np.arange(int(0.6 * sr)) / sr
    tail = rng.standard_normal(len(t)) * np.exp(-t / 0.1)
    tail /= np.sqrt((tail**2).sum())
    size = len(y) + len(tail) - 1
    wet = np.fft.irfft(
        np.fft.rfft(y, size, axis=0) * np.fft.rfft(tail, size)[:, None], size, axis=0
    )[: len(y)]
    return (1 - amount) * y + amount * wet


def _pulse_free(kind: str, n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / sr
    if kind == "voice":
        return _formant_voice(n, sr, rng)
    if kind == "brown_noise":
        walk = np.cumsum(rng.standard_normal(n))
        return walk - np.convolve(walk, np.ones(2001) / 2001, mode="same")
    if kind == "band_noise":
        return _band_noise(n, sr, 300, 3000, rng)
    if kind == "wind":
        gust = np.interp(t, np.linspace(0, t[-1], 12), rng.uniform(0.2, 1.0, 12))
        return _band_noise(n, sr, 80, 1200, rng) * gust
    if kind == "rain":
        out = 0.2 * _band_noise(n, sr, 2000, 9000, rng)
        drop = np.exp(-np.arange(400) / 40) * rng.standard_normal(400)
        for when in rng.uniform(0, t[-1], int(40 * t[-1])):
            _add(out, drop * rng.uniform(0.1, 1.0), float(when), sr)
        return out
    if kind == "ambient_pad":
        out = np.zeros(n)
        # Just-intonation chord tones: no two partials beat against each other (beating
        # would be a steady amplitude pulse of its own).
        for freq in rng.uniform(110, 220) * np.array([1.0, 1.25, 1.5, 2.0, 2.5]):
            swell = np.interp(t, np.sort(rng.uniform(0, t[-1], 6)), rng.uniform(0.2, 1.0, 6))
            out += swell * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6))
        return out
    raise ValueError(f"unknown pulse-free sound {kind!r}")


def _formant_voice(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Glottal pulses on a drifting pitch through two moving formants, in irregular syllables."""
    out = np.zeros(n)
    position = int(0.2 * sr)
    vowels = ((700, 1200), (300, 2300), (500, 900), (400, 2000), (650, 1700))
    while position < n:
        phrase_end = position + int(rng.uniform(1.5, 3.5) * sr)
        while position < min(phrase_end, n):
            length = int(rng.uniform(0.09, 0.3) * sr)
            f0 = rng.uniform(95, 210)
            t = np.arange(length) / sr
            pitch = f0 * (1 + 0.15 * np.sin(2 * np.pi * rng.uniform(1, 3) * t))
            phase = np.cumsum(pitch) / sr
            source = (phase % 1.0) ** 3 - 0.25  # a buzzy, asymmetric glottal wave
            f1, f2 = vowels[int(rng.integers(len(vowels)))]
            syllable = _formants(source, sr, (f1, f2))
            syllable *= np.sin(np.pi * np.arange(length) / length) ** 2
            if rng.random() < 0.5:  # a consonant: a short noise burst before the vowel
                syllable[: length // 5] += 0.3 * _band_noise(length // 5, sr, 2500, 8000, rng)
            _add(out, syllable, position / sr, sr)
            position += length + int(rng.uniform(0.0, 0.12) * sr)
        position += int(rng.uniform(0.3, 0.9) * sr)  # pause between phrases
    return out


def _formants(source: np.ndarray, sr: int, formants: tuple[int, int]) -> np.ndarray:
    spectrum = np.fft.rfft(source)
    freqs = np.fft.rfftfreq(len(source), 1 / sr)
    gain = sum(1 / (1 + ((freqs - f) / (0.12 * f)) ** 2) for f in formants)
    shaped = np.fft.irfft(spectrum * gain, len(source))
    return shaped / max(float(np.abs(shaped).max()), 1e-9)
