"""The sample world's vocabulary: domain objects, calendar, constants and seeded id/RNG helpers.

Everything here is plain data or a pure function of its arguments. It is the one module the
rest of the sample world builds on: the daily series (`artist_series`), the playlist planner
(`playlists`) and the JSON shapes (`shapes`) need only this, not the generator in `world`.

- Domain objects (`Artist`, `Album`, `Track`, `Show`, `Episode`, `LocalFile`, `PlaylistEntry`,
  `Playlist`, `GroundTruthEvent`) are frozen dataclasses: what the world *is*, independent of
  how the Web API renders it.
- Calendar constants (`WORLD_START`, `DEFAULT_AS_OF`, `HORIZON_DAYS`, the planted anomaly days)
  and the name pools the generator draws from.
- `namespace_rng` and `spotify_id` make every random draw and every id a function of
  (seed, namespace or key) alone; see the `world` module for why. `_random_day`,
  `_random_instant` and `_clamp_popularity` are the small draw/clamp helpers shared by the
  generator, the playlist planner and the series.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote_plus

JsonObject = dict[str, Any]

WORLD_START = date(2026, 9, 1)
DEFAULT_AS_OF = date(2026, 10, 31)
HORIZON_DAYS = 400
BREAKOUT_DAY = date(2026, 10, 20)
FOLLOWER_DROP_DAY = date(2026, 10, 25)
SPOTIFY_API_BASE_URL = "https://api.spotify.com/v1/"
OPEN_SPOTIFY_URL = "https://open.spotify.com/"

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

GENRE_FAMILIES: Mapping[str, tuple[str, ...]] = {
    "pop": ("pop", "dance pop", "indie pop"),
    "indie": ("indie rock", "indie folk", "bedroom pop"),
    "hip hop": ("hip hop", "trap"),
    "electronic": ("house", "techno", "electropop"),
    "jazz": ("contemporary jazz", "vocal jazz"),
    "classical": ("modern classical", "neo-classical"),
    "rock": ("alternative rock", "garage rock"),
    "latin": ("latin pop", "reggaeton"),
    "folk": ("folk", "singer-songwriter"),
}
ALL_GENRES: tuple[str, ...] = tuple(g for family in GENRE_FAMILIES.values() for g in family)

_ARTIST_NAMES = (
    "Juniper Hale", "The Velvet Harbors", "Mara Lindqvist", "Kofi Mensah", "Static Orchard",
    "Lucía Ferrer", "DJ Nightjar", "Oskar Brandt Trio", "Harbor & Vine", "Yuna Takeda",
    "The Low Tides", "Elio Santos", "Nadia Okafor", "Copperline", "Silas Wren",
    "Bianca Moretti Quartet", "Kid Meridian", "Amara Bloom", "The Glass Pilots", "Teo Valdés",
    "Ivy Calloway", "North Atlas", "Rafferty Lane", "Sol Estrada", "Ingrid Aalto",
    "Dmitri Voss Ensemble", "Lumen Drift", "Priya Sandhu", "MC Granite", "Wilder Coast",
    "Chloé Fontaine", "Benji Arcade", "The Hollow Pines", "Zara Quill", "Luca Bellandi",
    "Neon Saints", "Hana Okoye", "Paloma Ríos", "Ezra Kingsley", "Moth & Marigold",
)  # fmt: skip
_ADJECTIVES = (
    "Golden", "Quiet", "Electric", "Paper", "Silver", "Midnight", "Borrowed", "Wild", "Crystal",
    "Hollow", "Velvet", "Northern", "Broken", "Sweet", "Neon", "Distant", "Slow", "Open",
    "Burning", "Lucky", "Blue", "Last", "Tender", "Restless",
)  # fmt: skip
_NOUNS = (
    "Hours", "Rivers", "Lanterns", "Heart", "Summer", "Signals", "Avenue", "Tides", "Mirrors",
    "Horizon", "Garden", "Static", "Echoes", "Letters", "Fever", "Coastline", "Shadows",
    "Satellites", "Weather", "Parade", "Harbor", "Skyline", "Windows", "Ghosts",
)  # fmt: skip
_LABELS = (
    "Northside Records", "Blue Fern Music", "Halcyon Sound", "Parallel Lines Recordings",
    "Copper Kettle Records", "Marea Discos", "Night Shift Audio",
)  # fmt: skip
_COUNTRIES = ("US", "GB", "SE", "DE", "FR", "BR", "MX", "NG", "JP", "CA", "ES", "IT")
MARKETS: tuple[str, ...] = (
    "AD", "AR", "AT", "AU", "BE", "BG", "BO", "BR", "CA", "CH", "CL", "CO", "CR", "CY", "CZ",
    "DE", "DK", "DO", "EC", "EE", "ES", "FI", "FR", "GB", "GR", "GT", "HK", "HN", "HU", "ID",
    "IE", "IL", "IN", "IS", "IT", "JP", "LI", "LT", "LU", "LV", "MC", "MT", "MX", "MY", "NI",
    "NL", "NO", "NZ", "PA", "PE", "PH", "PL", "PT", "PY", "RO", "SE", "SG", "SK", "SV", "TH",
    "TR", "TW", "US", "UY", "VN", "ZA",
)  # fmt: skip
_USERS: Mapping[str, str] = {
    "spotify": "Spotify",
    "northside-artists": "Northside Artist Team",
    "mara.ops": "Mara (Artist Ops)",
    "kofi-curates": "Kofi",
}


_SHOWS = (
    ("The Liner Notes", "Northside Media", "Artists from the Northside roster talk about how "
     "their records were made."),
    ("Tour Bus Diaries", "Blue Fern Podcasts", "Life on the road, one city at a time."),
)  # fmt: skip


def namespace_rng(seed: int, namespace: str) -> random.Random:
    """The random stream of one concern of the world; independent of every other namespace."""
    # String seeds are hashed with SHA-512 by `random`, which is stable across Python versions.
    return random.Random(f"{seed}:{namespace}")  # noqa: S311 -- seeded synthetic data, not security


def spotify_id(seed: int, kind: str, key: str) -> str:
    """A 22-character base62 id, stable for (seed, kind, key)."""
    number = int.from_bytes(hashlib.sha256(f"{seed}:{kind}:{key}".encode()).digest()[:17], "big")
    chars = []
    for _ in range(22):
        number, rest = divmod(number, 62)
        chars.append(_BASE62[rest])
    return "".join(chars)


def _hex_digest(key: str, length: int = 40) -> str:
    # Stable fake ids for the sample world, not a security digest.
    return hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:length]


@dataclass(frozen=True)
class GroundTruthEvent:
    """An anomaly planted in the world, for checking that alerting finds it."""

    kind: str  # "breakout" or "follower_drop"
    artist_id: str
    day: date
    description: str


@dataclass(frozen=True)
class Artist:
    id: str
    name: str
    family: str
    genres: tuple[str, ...]
    base_followers: int
    base_popularity: int
    daily_growth: float  # mean daily growth of log(followers)
    country: str


@dataclass(frozen=True)
class Album:
    id: str
    name: str
    album_type: str  # album, single or compilation
    artist_ids: tuple[str, ...]
    release_date: date
    release_date_precision: str  # day, month or year
    label: str
    upc: str
    markets: tuple[str, ...]
    track_ids: tuple[str, ...]
    popularity_offset: int


@dataclass(frozen=True)
class Track:
    id: str
    name: str
    album_id: str
    artist_ids: tuple[str, ...]
    disc_number: int
    track_number: int
    duration_ms: int
    explicit: bool
    isrc: str
    popularity_offset: int
    removed_on: date | None  # from this day on Spotify no longer serves the track


@dataclass(frozen=True)
class Show:
    id: str
    name: str
    publisher: str
    description: str


@dataclass(frozen=True)
class Episode:
    id: str
    name: str
    show_id: str
    description: str
    duration_ms: int
    release_date: date


@dataclass(frozen=True)
class LocalFile:
    """A file a user added from their own disk: Spotify knows only its tags."""

    artist: str
    album: str
    title: str
    duration_ms: int

    @property
    def uri(self) -> str:
        parts = (quote_plus(self.artist), quote_plus(self.album), quote_plus(self.title))
        return f"spotify:local:{':'.join(parts)}:{self.duration_ms // 1000}"


@dataclass(frozen=True)
class PlaylistEntry:
    key: str  # unique within the playlist; the snapshot id hashes these
    kind: str  # track, episode, local or missing (Spotify answers `"track": null`)
    ref_id: str | None  # track or episode id
    local: LocalFile | None
    added_at: datetime
    added_by: str
    removed_on: date | None

    def visible_on(self, day: date) -> bool:
        return self.added_at.date() <= day and (self.removed_on is None or day < self.removed_on)


@dataclass(frozen=True)
class Playlist:
    id: str
    name: str
    description: str
    owner_id: str
    public: bool
    collaborative: bool
    base_followers: int
    entries: tuple[PlaylistEntry, ...]


def _clamp_popularity(value: float) -> int:
    return max(0, min(100, round(value)))


def _random_day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randrange((last - first).days + 1))


def _random_instant(rng: random.Random, day: date) -> datetime:
    return datetime.combine(day, time(rng.randrange(24), rng.randrange(60), rng.randrange(60)), UTC)
