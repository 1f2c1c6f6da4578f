"""The music of the sample world's audio clips: tones, chords, drums, sung chords, music beds.

`audio.render_clip` picks the synthesis for a clip's character; the pitched and drummed ones
are here (`_music`, `_drums`, `_a_cappella`, `_speech_over_music`), with the tonal vocabulary
(`PITCH_CLASSES`, `MODES`, the progressions) they share with the clips' ground truth. The other
sources (speech, animals, environments, near-silence) are in `sound_sources`. Every function
draws from the clip's render stream in a fixed order: the samples depend on it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from spotify_agent_assets.sample_world.sound_sources import harmonic_sine, speech, sung_notes

if TYPE_CHECKING:
    from spotify_agent_assets.sample_world.audio import AudioGroundTruth

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
MODES = ("major", "minor")

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
        harmonic_sine(base, harmonic, work)
        work *= np.float32(amplitude)
        out += work
    return out


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
    assert beat is not None and tonic is not None and truth.mode is not None  # noqa: S101 -- type narrowing of the synthetic truth
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
    assert beat is not None  # noqa: S101 -- type narrowing of the synthetic truth
    # E1..D#2: a kick tuned to the tonic; without a key (drums only), any low pitch.
    kick_hz = _midi_hz(_in_octave(tonic, 28)) if tonic is not None else float(rng.uniform(45, 75))
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
    if truth.character == "drums_only":
        # A drummer alone fills the space: off-beat hats and ghost snares between the beats,
        # quieter than the beats, so the beat stays the strongest periodicity.
        for index in range(total_beats):
            if rng.random() < 0.6:
                _add(out, hat, index * beat + beat // 2, 0.06 * float(rng.uniform(0.7, 1.0)))
            if rng.random() < 0.15:
                _add(out, snare, index * beat + 3 * beat // 4, 0.1 * float(rng.uniform(0.7, 1.0)))


def _is_club_style(truth: AudioGroundTruth) -> bool:
    beat = truth.beat_samples
    return beat is not None and 115 <= 60 * truth.sample_rate / beat <= 140


def _a_cappella(rng: np.random.Generator, truth: AudioGroundTruth) -> np.ndarray:
    """Four voices singing the key's progression, a chord per bar, at an unclaimed slow tempo:
    a bass on the tonic on the first and last chord (the root otherwise), three upper voices on
    the chord tones, the top one moving between them every two beats."""
    sr, n = truth.sample_rate, truth.n_samples
    tonic, mode = truth.tonic, truth.mode
    assert tonic is not None and mode is not None  # noqa: S101 -- type narrowing of the synthetic truth
    progression = _PROGRESSIONS[mode][int(rng.integers(2))]
    beat = round(60 * sr / float(rng.uniform(60, 110)))
    bar = 4 * beat
    notes: list[tuple[int, int, float, float]] = []
    for chord_index in range(math.ceil(n / bar)):
        root_offset, quality = progression[chord_index % len(progression)]
        root = (tonic + root_offset) % 12
        start = chord_index * bar
        # Voices overlap slightly (legato), so the chord never drops out between bars.
        length = bar + int(0.05 * sr)
        bass_pc = tonic if chord_index % len(progression) in (0, len(progression) - 1) else root
        notes.append((start, length, float(_in_octave(bass_pc, 43)), 0.9))
        for interval in quality[1:]:
            notes.append((start, length, float(_in_octave((root + interval) % 12, 55)), 0.6))
        for half in range(2):
            interval = quality[int(rng.integers(len(quality)))]
            notes.append(
                (
                    start + half * 2 * beat,
                    2 * beat,
                    float(_in_octave((root + interval) % 12, 64)),
                    0.7,
                )
            )
    return sung_notes(rng, notes, n, sr)


# ---- speech and near-silence --------------------------------------------------------------------


def _speech_over_music(rng: np.random.Generator, truth: AudioGroundTruth) -> np.ndarray:
    """Speech over a quieter music bed (a podcast, a radio host over a track): speech wins.

    The bed is 4-16 dB under the speech: drums and chords, struck chords or a sung pad."""
    sr, n = truth.sample_rate, truth.n_samples
    voice = speech(rng, n, sr)
    beat = round(60 * sr / int(rng.integers(80, 141)))
    bed = replace(
        truth,
        character=("percussive", "tonal", "a_cappella")[int(rng.integers(3))],
        tempo_bpm=60 * sr / beat,
        key=PITCH_CLASSES[int(rng.integers(12))],
        mode=MODES[int(rng.integers(2))],
    )
    # A sustained bed (a hummed choir pad) holds its partials where the speech glides: the
    # hardest case for features that look for notes.
    music = _a_cappella(rng, bed) if bed.character == "a_cappella" else _music(rng, bed)
    level = 10 ** (-float(rng.uniform(4.0, 16.0)) / 20)
    voice_rms = float(np.sqrt(np.mean(voice.astype(np.float64) ** 2))) or 1.0
    music_rms = float(np.sqrt(np.mean(music.astype(np.float64) ** 2))) or 1.0
    return voice + music * np.float32(level * voice_rms / music_rms)
