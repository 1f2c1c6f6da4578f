"""Track order for smooth transitions: harmonic mixing on the Camelot wheel, tempo and energy.

The Camelot wheel numbers the 24 keys so that neighbours mix well: the same number in the
other letter is the relative major/minor, one step round in the same letter is a fifth away.
A transition's cost adds the key distance on the wheel (0 or 1: harmonic), the tempo change
in steps of 6% (what a DJ's pitch fader hides without artefacts) and the energy change in
steps of 0.1. A track whose key or tempo the extractor could not find (atonal, no pulse)
costs a fixed ``UNKNOWN_COST`` in that part, so it is neither favoured nor impossible.

The path is greedy nearest-neighbour from the calmest track (lowest energy, then tempo, then
id), so a playlist builds up rather than opening at its peak; ties go to the smaller track id,
so the same tracks always come out in the same order.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

# (key, mode) -> Camelot code; keys as audio.audio_features spells them (sharps only).
_MAJOR = ("B", "F#", "C#", "G#", "D#", "A#", "F", "C", "G", "D", "A", "E")
_MINOR = ("G#", "D#", "A#", "F", "C", "G", "D", "A", "E", "B", "F#", "C#")
TEMPO_STEP = math.log(1.06)
ENERGY_STEP = 0.1
UNKNOWN_COST = 2.0


@dataclass(frozen=True)
class TrackSound:
    track_id: str
    tempo_bpm: float | None
    key: str | None
    mode: str | None
    energy: float | None

    @property
    def camelot(self) -> str | None:
        return camelot(self.key, self.mode)


def camelot(key: str | None, mode: str | None) -> str | None:
    """``8A`` for A minor, ``8B`` for C major; None when key or mode is unknown."""
    if key is None or mode is None:
        return None
    wheel = _MAJOR if mode == "major" else _MINOR if mode == "minor" else None
    if wheel is None or key not in wheel:
        return None
    return f"{wheel.index(key) + 1}{'B' if mode == 'major' else 'A'}"


def camelot_distance(a: str, b: str) -> int:
    """Steps round the wheel plus one for a change of letter; 0 or 1 mixes harmonically."""
    number_a, number_b = int(a[:-1]), int(b[:-1])
    around = abs(number_a - number_b) % 12
    return min(around, 12 - around) + (a[-1] != b[-1])


def transition_cost(a: TrackSound, b: TrackSound) -> float:
    key_a, key_b = a.camelot, b.camelot
    key = UNKNOWN_COST if key_a is None or key_b is None else float(camelot_distance(key_a, key_b))
    if a.tempo_bpm and b.tempo_bpm:
        tempo = abs(math.log(b.tempo_bpm / a.tempo_bpm)) / TEMPO_STEP
    else:
        tempo = UNKNOWN_COST
    if a.energy is None or b.energy is None:
        energy = UNKNOWN_COST
    else:
        energy = abs(b.energy - a.energy) / ENERGY_STEP
    return key + tempo + energy


def order_tracks(tracks: Sequence[TrackSound]) -> list[TrackSound]:
    """The greedy smooth path through ``tracks`` (each once), deterministic."""
    remaining = sorted(tracks, key=lambda t: t.track_id)
    if not remaining:
        return []
    start = min(
        remaining,
        key=lambda t: (
            t.energy if t.energy is not None else math.inf,
            t.tempo_bpm or math.inf,
            t.track_id,
        ),
    )
    path = [start]
    remaining.remove(start)
    while remaining:
        here = path[-1]
        following = min(remaining, key=lambda t: (transition_cost(here, t), t.track_id))
        path.append(following)
        remaining.remove(following)
    return path


def path_cost(path: Sequence[TrackSound]) -> float:
    return sum(transition_cost(a, b) for a, b in itertools.pairwise(path))


def harmonic_share(path: Sequence[TrackSound]) -> float | None:
    """Share of transitions between known keys that mix harmonically (distance <= 1)."""
    steps = [
        camelot_distance(a.camelot, b.camelot)
        for a, b in itertools.pairwise(path)
        if a.camelot is not None and b.camelot is not None
    ]
    return None if not steps else sum(s <= 1 for s in steps) / len(steps)
