"""Synthesized audio clips with known ground truth: the audio landing zone's sample source.

For every track the sample world serves on `DEFAULT_AS_OF` (502 at seed 7) `audio_ground_truth`
plans one short clip and `render_clip` synthesizes it, mono at 22,050 Hz, 10-12 s. What the clip
*is* (its ground truth) is a pure function of (world seed, track id, the artist's genre family):
each track draws from its own numpy stream seeded by a SHA-256 of `(seed, "audio", track id)`,
so clips never depend on each other, on the catalogue's order or on any other random stream of
the world. The rendering details (velocities, drum pattern, voice) come from a second stream per
track, so the plan can be read without synthesizing anything.

Characters (`CHARACTERS`) and what makes the truth recoverable from the audio:
- ``percussive`` and ``tonal`` (content type ``music``, about 75%): 4/4 at an exact tempo (the beat
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
- ``drums_only`` (``music``, 3%): the percussive clips' kit alone, its kick at any low pitch,
  with quieter off-beat hats and ghost snares: a tempo, no key.
- ``a_cappella`` (``music``, 3%): four voices (`sound_sources.sung_notes`: formant-shaped
  harmonics, 4.5-6.5 Hz vibrato, soft attacks) singing the key's progression a chord per bar,
  the bass on the tonic at both ends: a key and mode, no claimed tempo.
- ``speech_like`` (``speech``, 5%): a voice-like source-filter signal: a glottal harmonic series
  on a gliding pitch contour (declining over each phrase, accented per syllable) shaped by vowel
  formants, syllables at 3-8 Hz of irregular length (a talker's pace scales them by 0.8-1.6)
  with consonant noise between them, phrases separated by pauses. No beat, no key:
  `tempo_bpm`, `key` and `mode` are None.
- ``speech_over_music`` (``speech``, 3%): the same voice over a percussive, tonal or sung bed
  4-16 dB under it (a podcast, a radio host). No tempo or key claimed.
- ``animal`` (``other``, 4%) and ``environmental`` (``other``, 4%): bird calls with fast FM,
  howls and whale-like glides, or barks; wind, rain, or hum with traffic
  (`sound_sources.animal_calls`, `sound_sources.environmental_noise`). No tempo, no key.
- ``near_silent`` (``silence``, 3%): pink noise 60-70 dB below full scale.

Every clip is a catalogue track, so the non-instrumental characters are kept to about a quarter
of the catalogue: what the rest of the pipeline measures (tempo, key, genre) is measured on the
instrumental music. `plan_clip`'s ``forced_character`` makes labelled clips of any character
outside the catalogue (tests, training experiments).

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
from dataclasses import asdict, dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from spotify_agent_assets.lake.atomic_file import atomic_path, write_bytes
from spotify_agent_assets.sample_world.catalogue import DEFAULT_AS_OF
from spotify_agent_assets.sample_world.sound_sources import (
    animal_calls,
    environmental_noise,
    harmonic_sine,
    near_silence,
    speech,
    sung_notes,
)

if TYPE_CHECKING:
    from spotify_agent_assets.sample_world.world import SampleWorld

SAMPLE_RATE = 22_050
AUDIO_DIR = "audio"
GROUND_TRUTH_FILE = "_ground_truth.json"
# Short enough that synthesizing and later analysing the whole catalogue stays cheap.
DEFAULT_DURATIONS_S = (10.0, 12.0)

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
MODES = ("major", "minor")
CHARACTERS = (
    "percussive",
    "tonal",
    "drums_only",
    "a_cappella",
    "speech_like",
    "speech_over_music",
    "animal",
    "environmental",
    "near_silent",
)
CONTENT_TYPES = {
    "percussive": "music",
    "tonal": "music",
    "drums_only": "music",
    "a_cappella": "music",
    "speech_like": "speech",
    "speech_over_music": "speech",
    "animal": "other",
    "environmental": "other",
    "near_silent": "silence",
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
# Shares of the characters that are not percussive or tonal music, drawn in this order (the rest
# is music with instruments). Kept small: every clip is a landing-zone track, and what the rest
# of the pipeline measures (tempo, key, genre) is measured on the instrumental music.
_OTHER_SHARES = (
    ("near_silent", 0.03),
    ("speech_like", 0.05),
    ("speech_over_music", 0.03),
    ("animal", 0.04),
    ("environmental", 0.04),
    ("drums_only", 0.03),
    ("a_cappella", 0.03),
)

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
# Which characters have a tempo (a drummed beat) and which a key (pitched harmony) in their truth.
_WITH_TEMPO = frozenset({"percussive", "tonal", "drums_only"})
_WITH_KEY = frozenset({"percussive", "tonal", "a_cappella"})

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
    forced_character: str | None = None,
) -> AudioGroundTruth:
    """The ground truth of one track's clip, drawn from the track's own stream.

    `durations` is the (shortest, longest) clip in seconds; the other draws do not depend on it.
    `forced_character` (one of `CHARACTERS`) replaces the drawn character, every other draw
    unchanged: labelled clips of a chosen kind for training and tests, outside the catalogue.
    """
    shortest, longest = durations
    if not 0 < shortest <= longest:
        raise ValueError(f"durations must be (shortest, longest) seconds > 0, got {durations}")
    rng = audio_rng(seed, track_id, "plan")
    percussive_share, (low_bpm, high_bpm) = _FAMILY_STYLE.get(family or "", _DEFAULT_STYLE)
    draw = rng.random()
    character = None
    for candidate, share in _OTHER_SHARES:
        if draw < share:
            character = candidate
            break
        draw -= share
    if character is None:
        character = "percussive" if rng.random() < percussive_share else "tonal"
    if forced_character is not None:
        if forced_character not in CHARACTERS:
            raise ValueError(f"character must be one of {CHARACTERS}, got {forced_character!r}")
        character = forced_character
    audio_format = AUDIO_FORMATS[int(rng.choice(len(AUDIO_FORMATS), p=_FORMAT_SHARE))]
    duration_s = round(float(rng.uniform(shortest, longest)), 2)
    tonic = int(rng.integers(12))
    mode = MODES[int(rng.integers(2))]
    nominal_bpm = int(rng.integers(low_bpm, high_bpm + 1))
    tempo_bpm = key = chosen_mode = None
    if character in _WITH_TEMPO:
        beat = round(60 * SAMPLE_RATE / nominal_bpm)
        tempo_bpm = round(60 * SAMPLE_RATE / beat, 3)
    if character in _WITH_KEY:
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
        return near_silence(rng, n)
    if truth.character == "speech_like":
        signal = speech(rng, n, truth.sample_rate)
    elif truth.character == "speech_over_music":
        signal = _speech_over_music(rng, truth)
    elif truth.character == "animal":
        signal = animal_calls(rng, n, truth.sample_rate)
    elif truth.character == "environmental":
        signal = environmental_noise(rng, n, truth.sample_rate)
    elif truth.character == "a_cappella":
        if truth.key not in PITCH_CLASSES or truth.mode not in MODES:
            raise ValueError(
                f"{truth.track_id}: an a_cappella clip needs key (one of {PITCH_CLASSES}) and "
                f"mode (one of {MODES}); got {truth.key!r}, {truth.mode!r}"
            )
        signal = _a_cappella(rng, truth)
    elif truth.character == "drums_only":
        if truth.tempo_bpm is None:
            raise ValueError(f"{truth.track_id}: a drums_only clip needs tempo_bpm; got None")
        signal = np.zeros(n + (truth.beat_samples or 0), dtype=np.float32)
        _drums(rng, signal, truth, math.ceil(n / (truth.beat_samples or 1)))
        # A room under the kit: a recording is never digitally silent between hits.
        signal = signal[:n] + near_silence(rng, n)
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
