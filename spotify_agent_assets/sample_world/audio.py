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

The clips' files (`write_audio_landing_zone`, `write_clip`) are written by
`audio_landing_files`; the music synthesis is in `music_synthesis`.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from spotify_agent_assets.sample_world.catalogue import DEFAULT_AS_OF
from spotify_agent_assets.sample_world.music_synthesis import (
    MODES,
    PITCH_CLASSES,
    _a_cappella,
    _drums,
    _music,
    _speech_over_music,
)
from spotify_agent_assets.sample_world.sound_sources import (
    animal_calls,
    environmental_noise,
    near_silence,
    speech,
)

if TYPE_CHECKING:
    from spotify_agent_assets.sample_world.world import SampleWorld

SAMPLE_RATE = 22_050
# Short enough that synthesizing and later analysing the whole catalogue stays cheap.
DEFAULT_DURATIONS_S = (10.0, 12.0)

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
