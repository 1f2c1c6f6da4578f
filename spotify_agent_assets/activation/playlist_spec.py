"""Curated playlist specs (``config/playlists.yaml``): parsed and validated strictly.

A spec says what a playlist is for, never which tracks it holds: seed artists and tracks, the
listener segment whose recommendations count, a mood or explicit audio targets, a length in
tracks or minutes, whether explicit tracks may appear and how many tracks one artist may
have. Everything is checked before any table is read, and an error names the field's path
(``playlists[2].target.energy``) and what was expected; unknown keys are errors too, since a
misspelt ``max_per_artst`` silently ignored would curate a different playlist than asked.
Seeds are checked against the catalogue separately (``check_seeds``): the file alone cannot
know which artists exist.

Moods are names for audio targets, on the scales of ``audio.audio_features`` (energy, valence
and danceability 0..1, tempo in BPM). They sit near the middle of what the sample catalogue
spans (energy 0.37-0.87, valence 0.17-0.76), so each picks a different part of it:

=========== ====== ======= ============ =========
mood        energy valence danceability tempo_bpm
=========== ====== ======= ============ =========
calm        0.40   0.45    0.35         80
chill       0.45   0.55    0.50         95
melancholy  0.42   0.25    0.35         85
focus       0.45   0.40    0.40         110
upbeat      0.65   0.65    0.65         120
energetic   0.78   0.55    0.60         130
=========== ====== ======= ============ =========

``target`` overrides single values of the mood (or sets targets without one).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from spotify_agent_assets.spotify.ids import InvalidSpotifyIdError, normalize_spotify_id

MOODS: dict[str, dict[str, float]] = {
    "calm": {"energy": 0.40, "valence": 0.45, "danceability": 0.35, "tempo_bpm": 80.0},
    "chill": {"energy": 0.45, "valence": 0.55, "danceability": 0.50, "tempo_bpm": 95.0},
    "melancholy": {"energy": 0.42, "valence": 0.25, "danceability": 0.35, "tempo_bpm": 85.0},
    "focus": {"energy": 0.45, "valence": 0.40, "danceability": 0.40, "tempo_bpm": 110.0},
    "upbeat": {"energy": 0.65, "valence": 0.65, "danceability": 0.65, "tempo_bpm": 120.0},
    "energetic": {"energy": 0.78, "valence": 0.55, "danceability": 0.60, "tempo_bpm": 130.0},
}
# Allowed range of each target: the feature's own scale; tempo as librosa reports music.
TARGET_RANGES: dict[str, tuple[float, float]] = {
    "energy": (0.0, 1.0),
    "valence": (0.0, 1.0),
    "danceability": (0.0, 1.0),
    "tempo_bpm": (40.0, 220.0),
}
# Listener segments defined over ml.user_recommendations (curation.segment_listeners).
SEGMENTS = ("seed_listeners", "all_listeners")
# Spotify's limit on a playlist's items; a day of music is the longest playlist we curate.
MAX_LENGTH = 10_000
MAX_DURATION_MINUTES = 24 * 60
_KEYS = {
    "name",
    "description",
    "seeds",
    "segment",
    "mood",
    "target",
    "length",
    "duration_minutes",
    "explicit",
    "max_per_artist",
    "public",
    "spotify_playlist_id",
}
_REQUIRED = ("name", "seeds")
_SEED_KEYS = {"artists", "tracks"}
_SLUG = re.compile(r"[^a-z0-9]+")


class PlaylistSpecError(ValueError):
    """A playlist spec is invalid; ``field`` is the path of the offending field."""

    def __init__(self, source: str, field_path: str, problem: str) -> None:
        super().__init__(f"{source}: {field_path}: {problem}")
        self.field = field_path


@dataclass(frozen=True)
class PlaylistSpec:
    key: str
    """Stable identifier: the name in lower case, non-alphanumerics as ``-``."""
    name: str
    description: str
    seed_artists: tuple[str, ...]
    seed_tracks: tuple[str, ...]
    segment: str
    mood: str | None
    target: dict[str, float] = field(hash=False)
    length: int | None
    duration_minutes: float | None
    explicit: bool
    max_per_artist: int
    public: bool
    spotify_playlist_id: str | None
    index: int = 0
    """Position in the file, for error messages (``playlists[index]``)."""

    def digest(self) -> str:
        """SHA-256 of the spec's content: a changed spec is a different curation."""
        content = asdict(self)
        content.pop("index")
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def load_playlist_specs(path: str | Path) -> list[PlaylistSpec]:
    """Read and validate the spec file; ``PlaylistSpecError`` naming the field on any problem."""
    import yaml

    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise PlaylistSpecError(source, "(file)", f"cannot be read: {error}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PlaylistSpecError(source, "(file)", f"is not valid YAML: {error}") from None
    return parse_playlist_specs(document, source)


def parse_playlist_specs(document: Any, source: str = "<specs>") -> list[PlaylistSpec]:
    if not isinstance(document, dict) or set(document) != {"playlists"}:
        found = sorted(document) if isinstance(document, dict) else type(document).__name__
        raise PlaylistSpecError(
            source, "(top level)", f"expected a mapping with the one key 'playlists', got {found}"
        )
    entries = document["playlists"]
    if not isinstance(entries, list) or not entries:
        raise PlaylistSpecError(source, "playlists", "expected a non-empty list of playlists")
    specs = [_parse_entry(entry, f"playlists[{i}]", i, source) for i, entry in enumerate(entries)]
    seen: dict[str, int] = {}
    for spec in specs:
        if spec.key in seen:
            raise PlaylistSpecError(
                source,
                f"playlists[{spec.index}].name",
                f"{spec.name!r} repeats the name of playlists[{seen[spec.key]}]; names are "
                "how playlists are found on Spotify, so each must be distinct",
            )
        seen[spec.key] = spec.index
    return specs


def check_seeds(
    specs: list[PlaylistSpec],
    artist_ids: Collection[str],
    track_ids: Collection[str],
    source: str = "<specs>",
) -> None:
    """Every seed must be in the catalogue (``spotify.spotify_artists`` / ``spotify_tracks``)."""
    for spec in specs:
        for j, artist in enumerate(spec.seed_artists):
            if artist not in artist_ids:
                raise PlaylistSpecError(
                    source,
                    f"playlists[{spec.index}].seeds.artists[{j}]",
                    f"unknown artist {artist!r}: not in spotify.spotify_artists "
                    f"({len(artist_ids)} artists); expected an artist of the roster",
                )
        for j, track in enumerate(spec.seed_tracks):
            if track not in track_ids:
                raise PlaylistSpecError(
                    source,
                    f"playlists[{spec.index}].seeds.tracks[{j}]",
                    f"unknown track {track!r}: not in spotify.spotify_tracks; expected a track "
                    "of the roster's catalogue",
                )


def _parse_entry(entry: Any, at: str, index: int, source: str) -> PlaylistSpec:
    def fail(name: str, problem: str) -> PlaylistSpecError:
        return PlaylistSpecError(source, f"{at}.{name}" if name else at, problem)

    if not isinstance(entry, dict):
        raise fail("", f"expected a mapping, got {type(entry).__name__}")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise fail(unknown[0], f"unknown key; expected one of {', '.join(sorted(_KEYS))}")
    for name in _REQUIRED:
        if entry.get(name) is None:
            raise fail(name, "is required")
    name = entry["name"]
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise fail("name", "expected a non-empty text of at most 100 characters")
    description = entry.get("description") or ""
    if not isinstance(description, str) or len(description) > 300:
        raise fail("description", "expected a text of at most 300 characters")

    seeds = entry["seeds"]
    if not isinstance(seeds, dict):
        raise fail("seeds", "expected a mapping with 'artists' and/or 'tracks'")
    unknown = sorted(set(seeds) - _SEED_KEYS)
    if unknown:
        raise fail(f"seeds.{unknown[0]}", "unknown key; expected 'artists' or 'tracks'")
    artists = _ids(seeds.get("artists"), "artist", f"{at}.seeds.artists", source)
    tracks = _ids(seeds.get("tracks"), "track", f"{at}.seeds.tracks", source)
    if not artists and not tracks:
        raise fail("seeds", "expected at least one seed artist or track")

    segment = entry.get("segment", "seed_listeners")
    if segment not in SEGMENTS:
        raise fail("segment", f"unknown segment {segment!r}; expected one of {', '.join(SEGMENTS)}")
    mood = entry.get("mood")
    if mood is not None and mood not in MOODS:
        raise fail("mood", f"unknown mood {mood!r}; expected one of {', '.join(MOODS)}")
    target = dict(MOODS[mood]) if mood else {}
    overrides = entry.get("target") or {}
    if not isinstance(overrides, dict):
        raise fail("target", f"expected a mapping of {', '.join(TARGET_RANGES)} to numbers")
    for feature, value in overrides.items():
        if feature not in TARGET_RANGES:
            raise fail(
                f"target.{feature}", f"unknown target; expected one of {', '.join(TARGET_RANGES)}"
            )
        low, high = TARGET_RANGES[feature]
        if not _is_number(value) or not low <= value <= high:
            raise fail(
                f"target.{feature}",
                f"{value!r} is out of range; expected a number from {low:g} to {high:g}",
            )
        target[feature] = float(value)

    length, minutes = entry.get("length"), entry.get("duration_minutes")
    if (length is None) == (minutes is None):
        raise fail("length", "set exactly one of 'length' (tracks) or 'duration_minutes'")
    if length is not None and (
        not isinstance(length, int) or isinstance(length, bool) or not 1 <= length <= MAX_LENGTH
    ):
        raise fail(
            "length",
            f"{length!r} is impossible; expected a whole number of tracks from 1 to {MAX_LENGTH}",
        )
    if minutes is not None and (not _is_number(minutes) or not 0 < minutes <= MAX_DURATION_MINUTES):
        raise fail(
            "duration_minutes",
            f"{minutes!r} is impossible; expected minutes above 0 and at most {MAX_DURATION_MINUTES}",
        )

    explicit = entry.get("explicit", True)
    if not isinstance(explicit, bool):
        raise fail("explicit", f"expected true or false, got {explicit!r}")
    public = entry.get("public", False)
    if not isinstance(public, bool):
        raise fail("public", f"expected true or false, got {public!r}")
    per_artist = entry.get("max_per_artist", 3)
    if not isinstance(per_artist, int) or isinstance(per_artist, bool) or per_artist < 1:
        raise fail("max_per_artist", f"{per_artist!r}: expected a whole number >= 1")
    playlist_id = entry.get("spotify_playlist_id")
    if playlist_id is not None:
        try:
            playlist_id = normalize_spotify_id(str(playlist_id), "playlist")
        except InvalidSpotifyIdError as error:
            raise fail("spotify_playlist_id", str(error)) from None
    return PlaylistSpec(
        key=_SLUG.sub("-", name.strip().lower()).strip("-") or f"playlist-{index}",
        name=name.strip(),
        description=description.strip(),
        seed_artists=artists,
        seed_tracks=tracks,
        segment=segment,
        mood=mood,
        target=target,
        length=length,
        duration_minutes=None if minutes is None else float(minutes),
        explicit=explicit,
        max_per_artist=per_artist,
        public=public,
        spotify_playlist_id=playlist_id,
        index=index,
    )


def _ids(values: Any, kind: str, at: str, source: str) -> tuple[str, ...]:
    if values is None:
        return ()
    if not isinstance(values, list):
        raise PlaylistSpecError(source, at, f"expected a list of {kind} ids, URIs or URLs")
    ids = []
    for j, value in enumerate(values):
        try:
            ids.append(normalize_spotify_id(str(value), kind))
        except InvalidSpotifyIdError as error:
            raise PlaylistSpecError(source, f"{at}[{j}]", str(error)) from None
    return tuple(dict.fromkeys(ids))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def targets_text(target: Mapping[str, float]) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in sorted(target.items()))
