"""Curating one playlist from a spec: candidates, fit, filters, order and a reason per track.

Candidates come from three places, each with a relevance in 0..1 and a reason:

- the seeds themselves: seed tracks, and every track of a seed artist (relevance 1);
- ``ml.similar_tracks`` of every seed track: its neighbours, relevance the cosine similarity;
- ``ml.user_recommendations`` of the spec's listener segment: how many of the segment's
  listeners the track is recommended to, relative to the segment's most recommended track.
  ``seed_listeners`` are the listeners whose recommendations include a seed track or were
  made because of one (they already play or are about to play the seeds); ``all_listeners``
  is everyone.

A track found several ways keeps its most relevant reason. Its score is relevance minus its
distance to the audio targets (mean absolute difference, tempo in 100-BPM units), so the mood
decides among equally relevant tracks. Only tracks with audio features (status ok) qualify:
without them there is nothing to fit or order by. Explicit tracks are dropped when the spec
says ``explicit: false`` (an unknown rating counts as explicit, as in user_recommendations),
each primary artist keeps at most ``max_per_artist`` tracks, and selection stops at the
spec's length or duration. Ties break on the track id, so the same inputs give the same list.
No listener key leaves this module: segments become counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from spotify_agent_assets.activation.harmonic_order import TrackSound, order_tracks, transition_cost
from spotify_agent_assets.activation.playlist_spec import PlaylistSpec

TEMPO_SCALE_BPM = 100.0
# A duration playlist may run over its target by at most this much to fit a last track.
DURATION_SLACK_MS = 5 * 60 * 1000


@dataclass(frozen=True)
class CatalogueTrack:
    track_id: str
    name: str
    artist_ids: tuple[str, ...]
    explicit: bool | None
    duration_ms: int | None

    @property
    def primary_artist_id(self) -> str | None:
        return self.artist_ids[0] if self.artist_ids else None


@dataclass(frozen=True)
class AudioFeatures:
    tempo_bpm: float | None
    key: str | None
    mode: str | None
    energy: float | None
    valence: float | None
    danceability: float | None


@dataclass(frozen=True)
class Candidate:
    track_id: str
    source: str  # seed, similar or recommended
    relevance: float
    reason: str


@dataclass(frozen=True)
class CuratedTrack:
    position: int
    track: CatalogueTrack
    features: AudioFeatures
    candidate: Candidate
    mood_distance: float
    transition_cost: float | None


@dataclass(frozen=True)
class CurationInputs:
    tracks: Mapping[str, CatalogueTrack]
    artist_names: Mapping[str, str]
    features: Mapping[str, AudioFeatures]
    similar: Mapping[str, list[tuple[str, float]]]
    """track_id -> [(similar_track_id, cosine)], best first."""
    recommendations: Mapping[str, list[tuple[str, str | None]]]
    """listener_key -> [(track_id, because_track_id)]."""


def seed_track_ids(spec: PlaylistSpec, inputs: CurationInputs) -> list[str]:
    artists = set(spec.seed_artists)
    by_artist = sorted(t.track_id for t in inputs.tracks.values() if set(t.artist_ids) & artists)
    return list(dict.fromkeys([*spec.seed_tracks, *by_artist]))


def segment_listeners(spec: PlaylistSpec, inputs: CurationInputs, seeds: set[str]) -> list[str]:
    if spec.segment == "all_listeners":
        return sorted(inputs.recommendations)
    return sorted(
        listener
        for listener, recs in inputs.recommendations.items()
        if any(track in seeds or because in seeds for track, because in recs)
    )


def candidates(spec: PlaylistSpec, inputs: CurationInputs) -> tuple[dict[str, Candidate], int]:
    """Every candidate track with its best reason, and the size of the listener segment."""
    seeds = seed_track_ids(spec, inputs)
    seed_set = set(seeds)
    found: dict[str, Candidate] = {}

    def offer(candidate: Candidate) -> None:
        known = found.get(candidate.track_id)
        if known is None or (candidate.relevance, candidate.source) > (
            known.relevance,
            known.source,
        ):
            found[candidate.track_id] = candidate

    seed_artists = set(spec.seed_artists)
    for track_id in seeds:
        track = inputs.tracks.get(track_id)
        if track_id in spec.seed_tracks or track is None:
            reason = "seed track"
        else:
            artist = next(a for a in track.artist_ids if a in seed_artists)
            reason = f"by seed artist {inputs.artist_names.get(artist, artist)}"
        offer(Candidate(track_id, "seed", 1.0, reason))
    for seed in seeds:
        for neighbour, score in inputs.similar.get(seed, []):
            offer(
                Candidate(
                    neighbour,
                    "similar",
                    max(0.0, min(1.0, score)),
                    f"similar to {_label(seed, inputs)} (cosine {score:.2f})",
                )
            )
    listeners = segment_listeners(spec, inputs, seed_set)
    counts: dict[str, int] = defaultdict(int)
    for listener in listeners:
        for track_id in {track for track, _ in inputs.recommendations[listener]}:
            counts[track_id] += 1
    # Relative to the segment's most recommended track: a share of a few percent is already
    # a strong signal among thousands of listeners, and must compete with cosine similarity.
    most = max(counts.values(), default=1)
    for track_id, count in counts.items():
        offer(
            Candidate(
                track_id,
                "recommended",
                count / most,
                f"recommended to {count} of {len(listeners)} listeners in segment {spec.segment}",
            )
        )
    return found, len(listeners)


def mood_distance(target: Mapping[str, float], features: AudioFeatures) -> float:
    """Mean absolute distance to the targets (tempo in 100-BPM units); an unknown value: 0.5."""
    if not target:
        return 0.0
    gaps = []
    for name, wanted in target.items():
        value = getattr(features, name)
        if value is None:
            gaps.append(0.5)
        elif name == "tempo_bpm":
            gaps.append(abs(value - wanted) / TEMPO_SCALE_BPM)
        else:
            gaps.append(abs(value - wanted))
    return sum(gaps) / len(gaps)


def curate(spec: PlaylistSpec, inputs: CurationInputs) -> tuple[list[CuratedTrack], int]:
    """The playlist in play order, and the listener segment's size."""
    found, segment_size = candidates(spec, inputs)
    scored = []
    for candidate in found.values():
        track = inputs.tracks.get(candidate.track_id)
        features = inputs.features.get(candidate.track_id)
        if track is None or features is None:
            continue
        if not spec.explicit and track.explicit is not False:
            continue
        distance = mood_distance(spec.target, features)
        scored.append((candidate.relevance - distance, candidate, track, features, distance))
    scored.sort(key=lambda item: (-item[0], item[1].track_id))

    chosen = []
    per_artist: dict[str | None, int] = defaultdict(int)
    total_ms = 0
    target_ms = None if spec.duration_minutes is None else spec.duration_minutes * 60_000
    for item in scored:
        if spec.length is not None and len(chosen) >= spec.length:
            break
        if target_ms is not None and total_ms >= target_ms:
            break
        track = item[2]
        if per_artist[track.primary_artist_id] >= spec.max_per_artist:
            continue
        if target_ms is not None:
            length_ms = track.duration_ms or 0
            if total_ms + length_ms > target_ms + DURATION_SLACK_MS:
                continue
            total_ms += length_ms
        per_artist[track.primary_artist_id] += 1
        chosen.append(item)

    by_id = {item[1].track_id: item for item in chosen}
    sounds = [
        TrackSound(tid, f.tempo_bpm, f.key, f.mode, f.energy)
        for tid, (_, _, _, f, _) in by_id.items()
    ]
    path = order_tracks(sounds)
    result = []
    for position, sound in enumerate(path, start=1):
        _, candidate, track, features, distance = by_id[sound.track_id]
        cost = None if position == 1 else transition_cost(path[position - 2], sound)
        result.append(CuratedTrack(position, track, features, candidate, distance, cost))
    return result, segment_size


def _label(track_id: str, inputs: CurationInputs) -> str:
    track = inputs.tracks.get(track_id)
    if track is None:
        return track_id
    artist = track.primary_artist_id
    return f"'{track.name}' by {inputs.artist_names.get(artist or '', artist or 'unknown')}"


def index_similar(rows: Iterable[Mapping[str, object]]) -> dict[str, list[tuple[str, float]]]:
    """``ml.similar_tracks`` rows as track_id -> neighbours, best rank first."""
    grouped: dict[str, list[tuple[int, str, float]]] = defaultdict(list)
    for row in rows:
        grouped[str(row["track_id"])].append(
            (int(row["rank"]), str(row["similar_track_id"]), float(row["score"]))  # type: ignore[arg-type]
        )
    return {k: [(t, s) for _, t, s in sorted(v)] for k, v in grouped.items()}


def index_recommendations(
    rows: Iterable[Mapping[str, object]],
) -> dict[str, list[tuple[str, str | None]]]:
    grouped: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for row in rows:
        because = row.get("because_track_id")
        grouped[str(row["listener_key"])].append(
            (str(row["track_id"]), None if because is None else str(because))
        )
    return dict(grouped)


def spec_findings(spec: PlaylistSpec, playlist: list[CuratedTrack]) -> tuple[list[str], list[str]]:
    """Checks a curated playlist against its spec, independently of how it was selected:
    (broken rules, shortfalls). A broken rule (a track without a reason, an explicit track
    where none may be, an artist over the cap, a track twice) is a bug; a shortfall (fewer
    tracks or minutes than asked, because too few candidates pass the filters) is a warning."""
    broken, short = [], []
    ids = [item.track.track_id for item in playlist]
    if len(set(ids)) != len(ids):
        broken.append(f"{spec.name}: a track appears twice")
    if any(not item.candidate.reason for item in playlist):
        broken.append(f"{spec.name}: a track has no reason")
    if not spec.explicit and any(item.track.explicit is not False for item in playlist):
        broken.append(f"{spec.name}: explicit (or unrated) tracks although explicit: false")
    per_artist = defaultdict(int)
    for item in playlist:
        per_artist[item.track.primary_artist_id] += 1
    if per_artist and max(per_artist.values()) > spec.max_per_artist:
        broken.append(f"{spec.name}: an artist has more than {spec.max_per_artist} tracks")
    if spec.length is not None and len(playlist) < spec.length:
        short.append(f"{spec.name}: {len(playlist)} of {spec.length} tracks")
    minutes = sum(item.track.duration_ms or 0 for item in playlist) / 60_000
    if spec.duration_minutes is not None and minutes < spec.duration_minutes:
        short.append(f"{spec.name}: {minutes:.1f} of {spec.duration_minutes:g} minutes")
    return broken, short
