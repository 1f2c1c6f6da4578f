"""Synthesized audio clips with known ground truth: the audio landing zone's sample source.

For every track the sample world serves on `DEFAULT_AS_OF` (502 at seed 7) `audio_ground_truth`
plans one short clip and `render_clip` synthesizes it, mono at 22,050 Hz, 10-12 s. What the clip
*is* (its ground truth) is a pure function of (world seed, track id, the artist's genre family):
each track draws from its own numpy stream seeded by a SHA-256 of `(seed, "audio", track id)`,
so clips never depend on each other, on the catalogue's order or on any other random stream of
the world. The rendering details (velocities, drum pattern, voice) come from a second stream per
track, so the plan can be read without synthesizing anything.

Characters (`CHARACTERS`) and what makes the truth recoverable from the audio:
- ``percussive`` and ``tonal`` (content type ``music``, about 90%): 4/4 at an exact tempo (the beat
  is a whole number of samples; `tempo_bpm` is that beat's tempo) drawn from a genre-typical range
  within 70-180 BPM, over a I-IV-V-I / I-ii-V-I (major) or i-iv-V-i / i-VI-V-i (minor, harmonic
  minor's major V) progression, one chord per bar (per half bar at slow tempos, so that a whole
  cycle fits the clip), looped from the start of the clip. The tonic dominates the pitch
  classes: a tonic drone throughout (in the middle register, where both CQT and STFT
  chromagrams resolve it), the bass on the tonic on every downbeat whatever the chord, the kick
  tuned to it. Each chord's third is doubled an octave up, so the degrees that tell the modes
  apart (3/b3 on I, 6/b6 on IV, the leading tone on V) stand out against the tonic. Tones have
  harmonics 1-4 only (a 5th harmonic would add a major third above every note). Every beat has
  an attack and nothing sounds between beats (no off-beat hi-hats or stabs), so the beat period
  is the strongest periodicity. Percussive clips carry a kick (beats 1 and 3, or every beat at
  some club tempos), a snare (2 and 4) and a hi-hat on every beat over short chord stabs and a
  soft pad; tonal clips have no drums, struck chords on every beat over a sustained pad. All 24
  keys (12 tonics x major/minor) are drawn uniformly. Beat trackers may still report half the
  tempo above about 155 BPM (a genuine ambiguity: an octave error, not a wrong tempo).
- ``speech_like`` (content type ``speech``, about 7%): a voice-like source-filter signal: a
  glottal harmonic series on a gliding pitch contour (declining over each phrase, accented per
  syllable) shaped by vowel formants, syllables at 3-8 Hz of irregular length with consonant
  noise between them, phrases separated by pauses. No beat, no key: `tempo_bpm`, `key` and
  `mode` are None.
- ``near_silent`` (content type ``other``, about 3%): pink noise 60-70 dB below full scale.

The landing zone (`write_audio_landing_zone`): one file per track at
``<landing>/audio/<track_id>.<ext>``. **The file stem is the 22-character Spotify track id**:
that is how the audio catalogue joins a file to `spotify_tracks`; nothing else in the path or the
file's tags carries it. Formats are mixed per track (mostly ``wav``, some ``flac``, ``ogg``
(Vorbis) and ``mp3``), so readers meet all four. Every file is written under a dot-prefixed
temporary name and renamed into place, so a scanner never sees half a file. The ground truth of
every clip goes to ``<landing>/audio/_ground_truth.json`` (a JSON array of `AudioGroundTruth`
records sorted by track id); like every ``_``- or ``.``-prefixed name it is not audio and
scanners skip it. WAV and FLAC bytes are reproducible for a given numpy and libsndfile build;
Ogg Vorbis streams carry a random serial number, so only their samples are.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from spotify_agent_assets.lake.atomic_file import atomic_path, write_bytes
from spotify_agent_assets.sample_world.catalogue import DEFAULT_AS_OF

if TYPE_CHECKING:
    from spotify_agent_assets.sample_world.world import SampleWorld

SAMPLE_RATE = 22_050
AUDIO_DIR = "audio"
GROUND_TRUTH_FILE = "_ground_truth.json"
# Short enough that synthesizing and later analysing the whole catalogue stays cheap.
DEFAULT_DURATIONS_S = (10.0, 12.0)

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
MODES = ("major", "minor")
CHARACTERS = ("percussive", "tonal", "speech_like", "near_silent")
CONTENT_TYPES = {
    "percussive": "music",
    "tonal": "music",
    "speech_like": "speech",
    "near_silent": "other",
}
AUDIO_FORMATS = ("wav", "flac", "ogg", "mp3")
# libsndfile's (major format, subtype) per extension. Files are written under a temporary name,
# so the format cannot be inferred from it.
_SOUNDFILE_FORMATS = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
}
_FORMAT_SHARE = (0.62, 0.18, 0.10, 0.10)
_SPEECH_SHARE = 0.07
_SILENT_SHARE = 0.03

# Per genre family: the share of music clips that are percussive, and the tempo range (BPM).
_FAMILY_STYLE: dict[str, tuple[float, tuple[int, int]]] = {
    "pop": (0.65, (92, 132)),
    "indie": (0.50, (80, 150)),
    "hip hop": (0.85, (72, 104)),
    "electronic": (0.90, (115, 140)),
    "jazz": (0.30, (70, 180)),
    "classical": (0.05, (70, 140)),
    "rock": (0.70, (100, 180)),
    "latin": (0.75, (88, 128)),
    "folk": (0.25, (70, 126)),
}
_DEFAULT_STYLE = (0.5, (70, 180))

# Progressions as (root semitones above the tonic, chord quality); every one starts and ends on
# the tonic chord. Minor keys take harmonic minor's major dominant, whose leading tone tells a
# minor key from its relative major.
_MAJOR, _MINOR_Q, _DIM = (0, 4, 7), (0, 3, 7), (0, 3, 6)
_PROGRESSIONS = {
    "major": (
        ((0, _MAJOR), (5, _MAJOR), (7, _MAJOR), (0, _MAJOR)),
        ((0, _MAJOR), (2, _MINOR_Q), (7, _MAJOR), (0, _MAJOR)),
    ),
    "minor": (
        ((0, _MINOR_Q), (5, _MINOR_Q), (7, _MAJOR), (0, _MINOR_Q)),
        ((0, _MINOR_Q), (8, _MAJOR), (7, _MAJOR), (0, _MINOR_Q)),
    ),
}

# Harmonics 1-4 only: they are the fundamental's own pitch class and its fifth. A fifth harmonic
# would add a major third above every note and blur minor towards major in a chromagram.
_PLUCK = (1.0, 0.45, 0.22, 0.12)
_PAD = (1.0, 0.30, 0.12, 0.05)
_BASS = (1.0, 0.55, 0.25, 0.10)
# Level of each chord's third doubled an octave up, relative to the chord tones.
_DOUBLED_THIRD = 0.5

# Vowel formants (F1, F2, F3) in Hz, adult speaker.
_VOWELS = (
    (730, 1090, 2440),
    (270, 2290, 3010),
    (300, 870, 2240),
    (530, 1840, 2480),
    (570, 840, 2410),
    (440, 1020, 2240),
    (660, 1720, 2410),
)


@dataclass(frozen=True)
class AudioGroundTruth:
    """What one synthesized clip is; a row of ``_ground_truth.json``."""

    track_id: str
    file_name: str  # "<track_id>.<ext>" under <landing>/audio/
    tempo_bpm: float | None  # None for speech and near-silence
    key: str | None  # tonic pitch class, e.g. "F#"; None without a key
    mode: str | None  # "major", "minor" or None
    character: str  # one of CHARACTERS
    content_type: str  # "music", "speech" or "other"
    duration_s: float
    sample_rate: int

    @property
    def audio_format(self) -> str:
        return self.file_name.rsplit(".", 1)[1]

    @property
    def n_samples(self) -> int:
        return round(self.duration_s * self.sample_rate)

    @property
    def beat_samples(self) -> int | None:
        """Samples per beat; `tempo_bpm` is derived from it, so it round-trips exactly."""
        if self.tempo_bpm is None:
            return None
        return round(60 * self.sample_rate / self.tempo_bpm)

    @property
    def tonic(self) -> int | None:
        return None if self.key is None else PITCH_CLASSES.index(self.key)

    def as_record(self) -> dict[str, Any]:
        return asdict(self)


def audio_rng(seed: int, track_id: str, purpose: str) -> np.random.Generator:
    """The numpy stream of one track's clip, independent of every other track and concern."""
    # SHA-256 rather than hash(): Python salts str hashes per process.
    digest = hashlib.sha256(f"{seed}:audio:{track_id}:{purpose}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "big"))


def plan_clip(
    seed: int,
    track_id: str,
    family: str | None,
    *,
    durations: tuple[float, float] = DEFAULT_DURATIONS_S,
) -> AudioGroundTruth:
    """The ground truth of one track's clip, drawn from the track's own stream.

    `durations` is the (shortest, longest) clip in seconds; the other draws do not depend on it.
    """
    shortest, longest = durations
    if not 0 < shortest <= longest:
        raise ValueError(f"durations must be (shortest, longest) seconds > 0, got {durations}")
    rng = audio_rng(seed, track_id, "plan")
    percussive_share, (low_bpm, high_bpm) = _FAMILY_STYLE.get(family or "", _DEFAULT_STYLE)
    draw = rng.random()
    if draw < _SILENT_SHARE:
        character = "near_silent"
    elif draw < _SILENT_SHARE + _SPEECH_SHARE:
        character = "speech_like"
    else:
        character = "percussive" if rng.random() < percussive_share else "tonal"
    audio_format = AUDIO_FORMATS[int(rng.choice(len(AUDIO_FORMATS), p=_FORMAT_SHARE))]
    duration_s = round(float(rng.uniform(shortest, longest)), 2)
    tonic = int(rng.integers(12))
    mode = MODES[int(rng.integers(2))]
    nominal_bpm = int(rng.integers(low_bpm, high_bpm + 1))
    tempo_bpm = key = chosen_mode = None
    if CONTENT_TYPES[character] == "music":
        beat = round(60 * SAMPLE_RATE / nominal_bpm)
        tempo_bpm = round(60 * SAMPLE_RATE / beat, 3)
        key, chosen_mode = PITCH_CLASSES[tonic], mode
    return AudioGroundTruth(
        track_id=track_id,
        file_name=f"{track_id}.{audio_format}",
        tempo_bpm=tempo_bpm,
        key=key,
        mode=chosen_mode,
        character=character,
        content_type=CONTENT_TYPES[character],
        duration_s=duration_s,
        sample_rate=SAMPLE_RATE,
    )


def audio_ground_truth(
    world: SampleWorld,
    as_of: date = DEFAULT_AS_OF,
    *,
    durations: tuple[float, float] = DEFAULT_DURATIONS_S,
) -> list[AudioGroundTruth]:
    """One clip per track the world serves on `as_of`, sorted by track id."""
    truths = []
    for track in world.visible_tracks(as_of):
        artist = world.artist(track.artist_ids[0])
        family = artist.family if artist else None
        truths.append(plan_clip(world.seed, track.id, family, durations=durations))
    return sorted(truths, key=lambda truth: truth.track_id)


def render_clip(truth: AudioGroundTruth, seed: int) -> np.ndarray:
    """The clip's samples: float32, mono, in [-1, 1], `truth.n_samples` long."""
    rng = audio_rng(seed, truth.track_id, "render")
    n = truth.n_samples
    if truth.character == "near_silent":
        return _near_silence(rng, n)
    if truth.character == "speech_like":
        signal = _speech(rng, n, truth.sample_rate)
    elif truth.character in ("percussive", "tonal"):
        if truth.tempo_bpm is None or truth.key not in PITCH_CLASSES or truth.mode not in MODES:
            raise ValueError(
                f"{truth.track_id}: a {truth.character} clip needs tempo_bpm, key (one of "
                f"{PITCH_CLASSES}) and mode (one of {MODES}); got {truth.tempo_bpm!r}, "
                f"{truth.key!r}, {truth.mode!r}"
            )
        signal = _music(rng, truth)
    else:
        raise ValueError(f"character {truth.character!r} is not one of {CHARACTERS}")
    peak = float(np.max(np.abs(signal))) or 1.0
    target = 10 ** (float(rng.uniform(-6.0, -1.0)) / 20)
    return (signal * (target / peak)).astype(np.float32)


# ---- music ------------------------------------------------------------------------------------


def _midi_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12)


def _tone(freq: float, n: int, partials: Sequence[float], sr: int) -> np.ndarray:
    """A harmonic tone from sample 0 with the given amplitudes of harmonics 1, 2, ..."""
    cycles = np.arange(n, dtype=np.float64) * (freq / sr)
    cycles -= np.floor(cycles)
    base = cycles.astype(np.float32)
    out = np.zeros(n, dtype=np.float32)
    work = np.empty(n, dtype=np.float32)
    for harmonic, amplitude in enumerate(partials, start=1):
        if freq * harmonic / sr >= 0.45:  # would alias
            break
        _harmonic_sine(base, harmonic, work)
        work *= np.float32(amplitude)
        out += work
    return out


def _harmonic_sine(base: np.ndarray, harmonic: int, out: np.ndarray) -> np.ndarray:
    """sin(2 pi harmonic * base) into `out`, for a phase `base` in cycles within [0, 1).

    The long running phase is reduced to [0, 1) in float64 by the caller; the rest runs in
    float32, which numpy vectorises (float64 `sin` is several times slower here).
    """
    np.multiply(base, np.float32(harmonic), out=out)
    out -= np.floor(out)
    out *= np.float32(2 * np.pi)
    return np.sin(out, out=out)


def _decay(n: int, sr: int, attack_s: float, tau_s: float) -> np.ndarray:
    t = np.arange(n, dtype=np.float32) / np.float32(sr)
    envelope = np.exp(-t / np.float32(tau_s))
    attack = max(1, int(attack_s * sr))
    envelope[:attack] *= np.linspace(0.0, 1.0, attack, endpoint=False, dtype=np.float32)
    return envelope


def _fade(n: int, sr: int, attack_s: float, release_s: float) -> np.ndarray:
    envelope = np.ones(n, dtype=np.float32)
    attack, release = min(n, int(attack_s * sr)), min(n, int(release_s * sr))
    envelope[:attack] = np.linspace(0.0, 1.0, attack, endpoint=False, dtype=np.float32)
    envelope[n - release :] *= np.linspace(1.0, 0.0, release, dtype=np.float32)
    return envelope


def _add(out: np.ndarray, sound: np.ndarray, start: int, gain: float) -> None:
    end = min(len(out), start + len(sound))
    if end > start:
        out[start:end] += np.float32(gain) * sound[: end - start]


def _in_octave(pitch_class: int, low_midi: int) -> int:
    """The MIDI note of `pitch_class` in [low_midi, low_midi + 12)."""
    return low_midi + (pitch_class - low_midi) % 12


def _music(rng: np.random.Generator, truth: AudioGroundTruth) -> np.ndarray:
    sr, n = truth.sample_rate, truth.n_samples
    beat = truth.beat_samples
    tonic = truth.tonic
    assert beat is not None and tonic is not None and truth.mode is not None
    percussive = truth.character == "percussive"
    progression = _PROGRESSIONS[truth.mode][int(rng.integers(2))]
    total_beats = math.ceil(n / beat)
    # A whole cycle of the progression must fit the clip for the tonic to win; at slow tempos
    # chords change every half bar.
    beats_per_chord = 4 if total_beats >= 16 else 2
    beat_s = beat / sr
    out = np.zeros(n + beat, dtype=np.float32)  # a beat of headroom for the last notes' tails

    drone_note = _in_octave(tonic, 57)  # A3..G#4
    drone = _tone(_midi_hz(drone_note), n, _PAD, sr) * _fade(n, sr, 0.4, 0.3)
    _add(out, drone, 0, 0.08 if percussive else 0.18)

    cache: dict[tuple[int, int, str], np.ndarray] = {}

    def note(midi: int, length: int, kind: str) -> np.ndarray:
        key = (midi, length, kind)
        if key not in cache:
            if kind == "pad":
                envelope = _fade(length, sr, 0.08, 0.08)
                cache[key] = _tone(_midi_hz(midi), length, _PAD, sr) * envelope
            elif kind == "bass":
                envelope = _decay(length, sr, 0.004, 0.45 * beat_s + 0.08)
                cache[key] = _tone(_midi_hz(midi), length, _BASS, sr) * envelope
            else:  # a struck chord tone; stabs are shorter than tonal plucks
                tau = 0.18 * beat_s + 0.04 if percussive else 0.35 * beat_s + 0.1
                envelope = _decay(length, sr, 0.003, tau)
                cache[key] = _tone(_midi_hz(midi), length, _PLUCK, sr) * envelope
        return cache[key]

    chord_gain = 0.30 if percussive else 0.32
    pad_gain = 0.08 if percussive else 0.12
    for chord_index in range(math.ceil(total_beats / beats_per_chord)):
        root_offset, quality = progression[chord_index % len(progression)]
        root = (tonic + root_offset) % 12
        voicing = [(_in_octave((root + interval) % 12, 57), 1.0) for interval in quality]
        # The chord's third doubled an octave up: the degrees that tell major from minor
        # (3 or b3 on the tonic chord, 6 or b6 on IV, the leading tone on V) must stand out
        # against the tonic's weight.
        voicing.append((_in_octave((root + quality[1]) % 12, 69), _DOUBLED_THIRD))
        first_beat = chord_index * beats_per_chord
        segment = beats_per_chord * beat
        for midi, gain in voicing:
            _add(out, note(midi, segment, "pad"), first_beat * beat, pad_gain * gain)
        for offset in range(beats_per_chord):
            index = first_beat + offset
            start = index * beat
            downbeat = index % 4 == 0
            velocity = (1.0 if downbeat else 0.9) * float(rng.uniform(0.92, 1.0))
            for midi, gain in voicing:
                _add(out, note(midi, beat, "pluck"), start, chord_gain * gain * velocity)
            # Bass on every beat and never between beats: the tonic on downbeats (whatever the
            # chord), the chord's root on the other beats.
            bass_pc = tonic if downbeat else root
            bass_midi = _in_octave(bass_pc, 33)  # A1..G#2
            _add(out, note(bass_midi, beat, "bass"), start, 0.45 * velocity)

    if percussive:
        _drums(rng, out, truth, total_beats)
    return out[:n]


def _drums(
    rng: np.random.Generator, out: np.ndarray, truth: AudioGroundTruth, total_beats: int
) -> None:
    sr = truth.sample_rate
    beat = truth.beat_samples
    tonic = truth.tonic
    assert beat is not None and tonic is not None
    kick_hz = _midi_hz(_in_octave(tonic, 28))  # E1..D#2: a kick tuned to the tonic
    length = int(0.35 * sr)
    t = np.arange(length, dtype=np.float64) / sr
    # Pitch falls from ~3x to the tuned pitch; the phase is the integral of the frequency.
    freq = kick_hz * (1 + 2 * np.exp(-t / 0.025))
    phase = np.cumsum(freq) / sr
    phase -= np.floor(phase)
    kick = np.sin((2 * np.pi) * phase.astype(np.float32)) * _decay(length, sr, 0.001, 0.11)
    snare_len, hat_len = int(0.2 * sr), int(0.06 * sr)
    noise = rng.standard_normal(snare_len).astype(np.float32)
    snare = noise * _decay(snare_len, sr, 0.001, 0.05)
    hat_noise = rng.standard_normal(hat_len + 1).astype(np.float32)
    hat = np.diff(hat_noise) * _decay(hat_len, sr, 0.0005, 0.012)  # differenced: bright
    four_on_the_floor = bool(rng.random() < 0.5) and _is_club_style(truth)
    for index in range(total_beats):
        start = index * beat
        position = index % 4
        accent = float(rng.uniform(0.9, 1.0))
        if position in (0, 2) or four_on_the_floor:
            _add(out, kick, start, (0.95 if position == 0 else 0.8) * accent)
        if position in (1, 3):
            _add(out, snare, start, 0.42 * accent)
        _add(out, hat, start, 0.12 * accent)


def _is_club_style(truth: AudioGroundTruth) -> bool:
    beat = truth.beat_samples
    return beat is not None and 115 <= 60 * truth.sample_rate / beat <= 140


# ---- speech and near-silence --------------------------------------------------------------------


def _speech(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Source-filter speech: harmonics of a gliding F0 weighted by vowel formants."""
    hop = 110  # control rate 200 Hz at 22,050 Hz
    frames = n // hop + 2
    voiced = np.zeros(frames)
    hiss = np.zeros(frames)
    f0 = np.zeros(frames)
    formants = np.zeros((frames, 3))
    base_f0 = float(rng.uniform(95.0, 230.0))
    rate = sr / hop
    position = int(rng.uniform(0.1, 0.4) * rate)
    vowel = _VOWELS[0]
    while position < frames - 2:
        phrase_end = min(frames - 2, position + int(rng.uniform(1.2, 3.2) * rate))
        phrase_start = position
        while position < phrase_end:
            syllable = int(rng.uniform(0.12, 0.33) * rate)
            consonant = int(rng.uniform(0.03, 0.08) * rate) if rng.random() < 0.6 else 0
            end = min(phrase_end, position + syllable)
            if consonant:
                stop = min(end, position + consonant)
                hiss[position:stop] = float(rng.uniform(0.05, 0.25))
            vowel_start = min(end, position + consonant)
            span = end - vowel_start
            if span > 0:
                vowel = _VOWELS[int(rng.integers(len(_VOWELS)))]
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
        _harmonic_sine(base, harmonic, voice)
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


def _near_silence(rng: np.random.Generator, n: int) -> np.ndarray:
    """Pink noise 60-70 dB below full scale (room tone, a fade-out, a muted channel)."""
    size = 1 << (n - 1).bit_length()  # a power of two: the FFT of an odd length can be slow
    spectrum = np.fft.rfft(rng.standard_normal(size))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1.0))
    spectrum[0] = 0.0
    noise = np.fft.irfft(spectrum, size)[:n]
    rms = float(np.sqrt(np.mean(noise**2))) or 1.0
    level = 10 ** (float(rng.uniform(-70.0, -60.0)) / 20)
    return (noise * (level / rms)).astype(np.float32)


# ---- landing zone -------------------------------------------------------------------------------


def audio_dir(landing_dir: Path) -> Path:
    return Path(landing_dir) / AUDIO_DIR


def ground_truth_path(landing_dir: Path) -> Path:
    return audio_dir(landing_dir) / GROUND_TRUTH_FILE


def write_clip(samples: np.ndarray, path: Path, sample_rate: int = SAMPLE_RATE) -> None:
    """Write one clip atomically; the format follows the extension (one of AUDIO_FORMATS)."""
    import soundfile as sf

    extension = path.suffix.lstrip(".")
    if extension not in _SOUNDFILE_FORMATS:
        raise ValueError(f"{path}: extension must be one of {AUDIO_FORMATS}, got {extension!r}")
    major, subtype = _SOUNDFILE_FORMATS[extension]
    with atomic_path(path) as temporary:
        sf.write(temporary, samples, sample_rate, format=major, subtype=subtype)


def write_ground_truth(truths: Sequence[AudioGroundTruth], landing_dir: Path) -> Path:
    path = ground_truth_path(landing_dir)
    records = [truth.as_record() for truth in sorted(truths, key=lambda t: t.track_id)]
    write_bytes(path, (json.dumps(records, indent=1) + "\n").encode())
    return path


def write_content_type_labels(truths: Sequence[AudioGroundTruth], landing_dir: Path) -> Path:
    """The curated labels file the content-type classifier trains on (`audio.labels`)."""
    from spotify_agent_assets.audio.labels import LABELS_FILE, format_content_type_labels

    path = audio_dir(landing_dir) / LABELS_FILE
    write_bytes(
        path, format_content_type_labels({t.track_id: t.content_type for t in truths}).encode()
    )
    return path


def write_audio_landing_zone(
    world: SampleWorld,
    landing_dir: Path,
    *,
    as_of: date = DEFAULT_AS_OF,
    durations: tuple[float, float] = DEFAULT_DURATIONS_S,
) -> list[Path]:
    """Synthesize every track's clip into ``<landing>/audio/`` plus the ground truth and the
    content-type labels file (``_labels.csv``, the curated labels of `audio.labels`).

    Returns the audio files, one per track, sorted by track id. A file this sample wrote
    earlier for the same track in another format is removed, so a track never has two clips.
    """
    truths = audio_ground_truth(world, as_of, durations=durations)
    folder = audio_dir(landing_dir)
    written = []
    for truth in truths:
        path = folder / truth.file_name
        write_clip(render_clip(truth, world.seed), path, truth.sample_rate)
        for other in AUDIO_FORMATS:
            if other != truth.audio_format:
                (folder / f"{truth.track_id}.{other}").unlink(missing_ok=True)
        written.append(path)
    write_ground_truth(truths, landing_dir)
    write_content_type_labels(truths, landing_dir)
    return written
