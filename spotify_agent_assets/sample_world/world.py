"""A seeded, invented Spotify catalogue that evolves day by day.

`SampleWorld(seed)` generates artists, albums, tracks, podcast episodes and playlists and answers
"what did Spotify return for this object on this day?" with the exact JSON shapes of the Web API.
Local runs, the HTTP emulator and tests all read the same world, so a pipeline run is reproducible
down to the byte: the same seed gives identical JSON for every endpoint and day.

Random streams: every concern draws from its own `random.Random` seeded with
`f"{seed}:{namespace}"` (see `namespace_rng`). Adding a namespace later (listeners, listening
events, audio clips) therefore never shifts the numbers of an existing one, and the catalogue
stays stable when the world grows. Per-artist daily series use one stream per artist for the
same reason.

Calendar: the world starts on `WORLD_START`; any later day can be asked about. Daily series are
extended lazily; playlist edits are scheduled up to `WORLD_START + HORIZON_DAYS`, after which
playlists stay as they are.
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote_plus, urlencode

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


@dataclass(frozen=True)
class _PlaylistSpec:
    name: str
    owner_id: str
    description: str
    families: tuple[str, ...]  # empty: the whole catalogue
    size: int
    cadence: str  # "weekly" (Fridays), "releases" (new roster releases), "random" (a few edits)
    quirks: Mapping[str, int]  # entry kind -> how many to plant: local, missing, episode, removed


_PLAYLIST_SPECS = (
    _PlaylistSpec("Fresh Finds Weekly", "spotify", "New music from artists to watch. Updated "
                  "every Friday.", (), 40, "weekly", {}),
    _PlaylistSpec("All Out Northside", "northside-artists", "Every release on the Northside "
                  "roster, as it lands.", (), 130, "releases", {"removed": 3}),
    _PlaylistSpec("Late Night Jazz", "spotify", "Smooth jazz and quiet strings for after hours.",
                  ("jazz", "classical"), 25, "weekly", {}),
    _PlaylistSpec("Indie Mornings", "spotify", "Wake up gently with indie, folk and rock.",
                  ("indie", "folk", "rock"), 35, "weekly", {}),
    _PlaylistSpec("Hip Hop Heat", "spotify", "The hottest bars right now.",
                  ("hip hop",), 30, "weekly", {}),
    _PlaylistSpec("Pulse: Electronic", "spotify", "House, techno and everything in between.",
                  ("electronic", "pop"), 30, "weekly", {}),
    _PlaylistSpec("Ritmo Latino", "spotify", "Latin pop and reggaeton hits.",
                  ("latin", "pop"), 30, "weekly", {}),
    _PlaylistSpec("Team Mixtape", "mara.ops", "What the artist team plays in the office.",
                  (), 30, "random", {"local": 2, "missing": 1, "episode": 2, "removed": 2}),
    _PlaylistSpec("Road Trip Radio", "kofi-curates", "Windows down.",
                  (), 45, "random", {"local": 1, "missing": 1, "removed": 1}),
    _PlaylistSpec("Podcasts & Playlists", "northside-artists", "Interviews with the roster, "
                  "and the songs they talk about.", (), 20, "random", {"episode": 5, "missing": 1}),
)  # fmt: skip

_SHOWS = (
    ("The Liner Notes", "Northside Media", "Artists from the Northside roster talk about how "
     "their records were made."),
    ("Tour Bus Diaries", "Blue Fern Podcasts", "Life on the road, one city at a time."),
)  # fmt: skip


def namespace_rng(seed: int, namespace: str) -> random.Random:
    """The random stream of one concern of the world; independent of every other namespace."""
    # String seeds are hashed with SHA-512 by `random`, which is stable across Python versions.
    return random.Random(f"{seed}:{namespace}")


def spotify_id(seed: int, kind: str, key: str) -> str:
    """A 22-character base62 id, stable for (seed, kind, key)."""
    number = int.from_bytes(hashlib.sha256(f"{seed}:{kind}:{key}".encode()).digest()[:17], "big")
    chars = []
    for _ in range(22):
        number, rest = divmod(number, 62)
        chars.append(_BASE62[rest])
    return "".join(chars)


def _hex_digest(key: str, length: int = 40) -> str:
    return hashlib.sha1(key.encode()).hexdigest()[:length]


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


def paging_json(
    items: list[Any],
    *,
    endpoint: str,
    offset: int,
    limit: int,
    total: int,
    query: Mapping[str, str] | None = None,
) -> JsonObject:
    """A Spotify paging object whose links keep every other query parameter of the request."""

    def link(page_offset: int) -> str:
        params = {"offset": str(page_offset), "limit": str(limit), **(query or {})}
        return f"{endpoint}?{urlencode(params, safe=',')}"

    return {
        "href": link(offset),
        "items": items,
        "limit": limit,
        "next": link(offset + limit) if offset + limit < total else None,
        "offset": offset,
        "previous": link(max(0, offset - limit)) if offset > 0 else None,
        "total": total,
    }


def _images(key: str, sizes: Sequence[int | None]) -> list[JsonObject]:
    return [
        {"height": size, "url": f"https://i.scdn.co/image/{_hex_digest(f'{key}:{size}')}",
         "width": size}
        for size in sizes
    ]  # fmt: skip


def _release_date_text(day: date, precision: str) -> str:
    if precision == "year":
        return f"{day.year:04d}"
    if precision == "month":
        return f"{day.year:04d}-{day.month:02d}"
    return day.isoformat()


def _clamp_popularity(value: float) -> int:
    return max(0, min(100, round(value)))


def _random_day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randrange((last - first).days + 1))


def _random_instant(rng: random.Random, day: date) -> datetime:
    return datetime.combine(day, time(rng.randrange(24), rng.randrange(60), rng.randrange(60)), UTC)


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class _ArtistSeries:
    """Followers and popularity of one artist, extended lazily one day at a time."""

    def __init__(self, rng: random.Random, artist: Artist, events: Sequence[GroundTruthEvent]):
        self._rng = rng
        self._artist = artist
        self._events = events
        self._log_followers = math.log(artist.base_followers)
        self._wobble = 0.0
        self.followers: list[int] = []
        self.popularity: list[int] = []

    def extend_to(self, index: int) -> None:
        while len(self.followers) <= index:
            self._step(len(self.followers))

    def _step(self, index: int) -> None:
        day = WORLD_START + timedelta(days=index)
        # Followers only grow organically (nobody mass-unfollows by chance), at a noisy rate.
        self._log_followers += self._artist.daily_growth * (0.4 + 1.2 * self._rng.random())
        self._wobble = 0.8 * self._wobble + self._rng.gauss(0.0, 0.7)
        log_boost, popularity_boost = 0.0, 0.0
        for event in self._events:
            days_in = (day - event.day).days
            if days_in < 0:
                continue
            if event.kind == "breakout":
                # A jump on the day, then fast growth that slowly calms down.
                log_boost += math.log(1.6) + 0.06 * (1 - 0.85**days_in) / 0.15
                popularity_boost += 12 + 14 * (1 - 0.8**days_in)
            elif event.kind == "follower_drop":
                log_boost += math.log(0.85)
                popularity_boost -= 3
        growth = self._log_followers - math.log(self._artist.base_followers)
        self.followers.append(round(math.exp(self._log_followers + log_boost)))
        self.popularity.append(
            _clamp_popularity(
                self._artist.base_popularity + 8 * growth + self._wobble + popularity_boost
            )
        )


class SampleWorld:
    """The invented catalogue: domain objects, daily series and Web API JSON builders."""

    def __init__(self, seed: int = 7) -> None:
        self.seed = seed
        self._artists: dict[str, Artist] = {}
        self._albums: dict[str, Album] = {}
        self._tracks: dict[str, Track] = {}
        self._shows: dict[str, Show] = {}
        self._episodes: dict[str, Episode] = {}
        self._playlists: dict[str, Playlist] = {}
        self._series: dict[str, _ArtistSeries] = {}
        self._series_lock = threading.Lock()
        self._build_artists()
        self.ground_truth: tuple[GroundTruthEvent, ...] = self._choose_ground_truth()
        self._build_discography()
        self._remove_some_tracks()
        self._build_podcasts()
        self._build_playlists()

    # ---- domain access -------------------------------------------------------------------

    def artists(self) -> list[Artist]:
        return list(self._artists.values())

    def roster(self) -> list[tuple[str, str]]:
        """(artist_id, name) of the artists the artist team manages: the whole world."""
        return [(artist.id, artist.name) for artist in self._artists.values()]

    def albums(self) -> list[Album]:
        return list(self._albums.values())

    def tracks(self) -> list[Track]:
        return list(self._tracks.values())

    def playlists(self) -> list[Playlist]:
        return list(self._playlists.values())

    def playlist_ids(self) -> list[str]:
        return list(self._playlists)

    def artist(self, artist_id: str) -> Artist | None:
        return self._artists.get(artist_id)

    def album(self, album_id: str) -> Album | None:
        return self._albums.get(album_id)

    def track(self, track_id: str) -> Track | None:
        return self._tracks.get(track_id)

    def playlist(self, playlist_id: str) -> Playlist | None:
        return self._playlists.get(playlist_id)

    def album_visible(self, album_id: str, day: date) -> bool:
        album = self._albums.get(album_id)
        return album is not None and album.release_date <= day

    def track_visible(self, track_id: str, day: date) -> bool:
        """Released on or before `day` and not yet taken down."""
        track = self._tracks.get(track_id)
        if track is None or not self.album_visible(track.album_id, day):
            return False
        return track.removed_on is None or day < track.removed_on

    def visible_albums(self, day: date) -> list[Album]:
        return [album for album in self._albums.values() if album.release_date <= day]

    def visible_tracks(self, day: date) -> list[Track]:
        return [track for track in self._tracks.values() if self.track_visible(track.id, day)]

    def album_track_ids(self, album_id: str, day: date) -> list[str]:
        """The album's tracks as its track listing shows them on `day` (taken-down ones omitted)."""
        album = self._albums[album_id]
        return [track_id for track_id in album.track_ids if self.track_visible(track_id, day)]

    def artist_album_ids(self, artist_id: str, day: date) -> list[tuple[str, str]]:
        """(album_id, album_group) of every release the artist is on, in Spotify's order.

        Releases where the artist is only featured on a track belong to group `appears_on`.
        Spotify lists albums, then singles, compilations and appearances, newest first.
        """
        order = {"album": 0, "single": 1, "compilation": 2, "appears_on": 3}
        found: list[tuple[str, str]] = []
        for album in self.visible_albums(day):
            if artist_id in album.artist_ids:
                found.append((album.id, album.album_type))
            elif any(artist_id in self._tracks[t].artist_ids for t in album.track_ids):
                found.append((album.id, "appears_on"))
        found.sort(
            key=lambda pair: (order[pair[1]], -self._albums[pair[0]].release_date.toordinal())
        )
        return found

    def followers(self, artist_id: str, day: date) -> int:
        return self._artist_series(artist_id, day).followers[(day - WORLD_START).days]

    def popularity(self, artist_id: str, day: date) -> int:
        return self._artist_series(artist_id, day).popularity[(day - WORLD_START).days]

    def track_popularity(self, track_id: str, day: date) -> int:
        track = self._tracks[track_id]
        if not self.track_visible(track_id, day):
            return 0
        return _clamp_popularity(
            self.popularity(track.artist_ids[0], day) + track.popularity_offset
        )

    def playlist_entries(self, playlist_id: str, day: date) -> list[PlaylistEntry]:
        return [entry for entry in self._playlists[playlist_id].entries if entry.visible_on(day)]

    def snapshot_id(self, playlist_id: str, day: date) -> str:
        """Changes exactly when the playlist's list of items changes."""
        keys = "|".join(entry.key for entry in self.playlist_entries(playlist_id, day))
        digest = hashlib.sha256(f"{playlist_id}|{keys}".encode()).digest()
        return base64.b64encode(digest[:30]).decode()

    def _artist_series(self, artist_id: str, day: date) -> _ArtistSeries:
        if day < WORLD_START:
            raise ValueError(f"day {day} is before the sample world starts ({WORLD_START})")
        artist = self._artists[artist_id]
        with self._series_lock:
            series = self._series.get(artist_id)
            if series is None:
                rng = namespace_rng(self.seed, f"artist-series:{artist_id}")
                events = [e for e in self.ground_truth if e.artist_id == artist_id]
                series = self._series[artist_id] = _ArtistSeries(rng, artist, events)
            series.extend_to((day - WORLD_START).days)
        return series

    # ---- JSON builders (Spotify Web API shapes) --------------------------------------------

    def _ref(self, kind: str, object_id: str, base_url: str) -> JsonObject:
        return {
            "external_urls": {"spotify": f"{OPEN_SPOTIFY_URL}{kind}/{object_id}"},
            "href": f"{base_url}{kind}s/{object_id}",
            "id": object_id,
        }

    def simplified_artist_json(
        self, artist_id: str, *, base_url: str = SPOTIFY_API_BASE_URL
    ) -> JsonObject:
        artist = self._artists[artist_id]
        return {
            **self._ref("artist", artist_id, base_url),
            "name": artist.name,
            "type": "artist",
            "uri": f"spotify:artist:{artist_id}",
        }

    def artist_json(
        self, artist_id: str, day: date, *, base_url: str = SPOTIFY_API_BASE_URL
    ) -> JsonObject:
        artist = self._artists[artist_id]
        ref = self._ref("artist", artist_id, base_url)
        return {
            "external_urls": ref["external_urls"],
            "followers": {"href": None, "total": self.followers(artist_id, day)},
            "genres": list(artist.genres),
            "href": ref["href"],
            "id": artist_id,
            "images": _images(f"{self.seed}:artist:{artist_id}", (640, 320, 160)),
            "name": artist.name,
            "popularity": self.popularity(artist_id, day),
            "type": "artist",
            "uri": f"spotify:artist:{artist_id}",
        }

    def simplified_album_json(
        self,
        album_id: str,
        day: date,
        *,
        base_url: str = SPOTIFY_API_BASE_URL,
        album_group: str | None = None,
    ) -> JsonObject:
        """The album as it appears inside tracks, search results and artist discographies."""
        album = self._albums[album_id]
        ref = self._ref("album", album_id, base_url)
        group = {"album_group": album_group} if album_group is not None else {}
        return {
            **group,
            "album_type": album.album_type,
            "artists": [
                self.simplified_artist_json(a, base_url=base_url) for a in album.artist_ids
            ],
            "available_markets": list(album.markets),
            "external_urls": ref["external_urls"],
            "href": ref["href"],
            "id": album_id,
            "images": _images(f"{self.seed}:album:{album_id}", (640, 300, 64)),
            "name": album.name,
            "release_date": _release_date_text(album.release_date, album.release_date_precision),
            "release_date_precision": album.release_date_precision,
            "total_tracks": len(self.album_track_ids(album_id, day)),
            "type": "album",
            "uri": f"spotify:album:{album_id}",
        }

    def album_json(
        self,
        album_id: str,
        day: date,
        *,
        base_url: str = SPOTIFY_API_BASE_URL,
        market: str | None = None,
    ) -> JsonObject:
        """The full album, with the first page (50) of its track listing like the real API."""
        album = self._albums[album_id]
        track_ids = self.album_track_ids(album_id, day)
        first_page = [
            self.simplified_track_json(t, day, base_url=base_url, market=market)
            for t in track_ids[:50]
        ]
        simplified = self.simplified_album_json(album_id, day, base_url=base_url)
        year = album.release_date.year
        return {
            **{k: v for k, v in simplified.items() if k != "type" and k != "uri"},
            "copyrights": [
                {"text": f"© {year} {album.label}", "type": "C"},
                {"text": f"℗ {year} {album.label}", "type": "P"},
            ],
            "external_ids": {"upc": album.upc},
            "genres": [],
            "label": album.label,
            "popularity": _clamp_popularity(
                self.popularity(album.artist_ids[0], day) + album.popularity_offset
            ),
            "tracks": paging_json(
                first_page,
                endpoint=f"{base_url}albums/{album_id}/tracks",
                offset=0,
                limit=50,
                total=len(track_ids),
                query={"market": market} if market else None,
            ),
            "type": "album",
            "uri": f"spotify:album:{album_id}",
        }

    def simplified_track_json(
        self,
        track_id: str,
        day: date,
        *,
        base_url: str = SPOTIFY_API_BASE_URL,
        market: str | None = None,
    ) -> JsonObject:
        """A track inside an album's track listing.

        A taken-down track keeps its metadata but has no markets, as Spotify shows it in
        playlists that still hold it; `is_playable` appears only when a market is given.
        """
        track = self._tracks[track_id]
        album = self._albums[track.album_id]
        markets = list(album.markets) if self.track_visible(track_id, day) else []
        json: JsonObject = {
            "artists": [
                self.simplified_artist_json(a, base_url=base_url) for a in track.artist_ids
            ],
            "available_markets": markets,
            "disc_number": track.disc_number,
            "duration_ms": track.duration_ms,
            "explicit": track.explicit,
            **self._ref("track", track_id, base_url),
            "is_local": False,
            "name": track.name,
            # Spotify stopped serving 30-second previews to new apps in late 2024.
            "preview_url": None,
            "track_number": track.track_number,
            "type": "track",
            "uri": f"spotify:track:{track_id}",
        }
        if market is not None:
            json["is_playable"] = market in markets
        return json

    def track_json(
        self,
        track_id: str,
        day: date,
        *,
        base_url: str = SPOTIFY_API_BASE_URL,
        market: str | None = None,
    ) -> JsonObject:
        """The full track: simplified track plus album, ISRC and popularity."""
        track = self._tracks[track_id]
        simplified = self.simplified_track_json(track_id, day, base_url=base_url, market=market)
        return {
            "album": self.simplified_album_json(track.album_id, day, base_url=base_url),
            **simplified,
            "external_ids": {"isrc": track.isrc},
            "popularity": self.track_popularity(track_id, day),
        }

    def episode_json(self, episode_id: str, *, base_url: str = SPOTIFY_API_BASE_URL) -> JsonObject:
        episode = self._episodes[episode_id]
        show = self._shows[episode.show_id]
        ref = self._ref("episode", episode_id, base_url)
        show_ref = self._ref("show", show.id, base_url)
        return {
            "audio_preview_url": None,
            "description": episode.description,
            "duration_ms": episode.duration_ms,
            "episode": True,
            "explicit": False,
            "external_urls": ref["external_urls"],
            "href": ref["href"],
            "html_description": f"<p>{episode.description}</p>",
            "id": episode_id,
            "images": _images(f"{self.seed}:show:{show.id}", (640, 300, 64)),
            "is_externally_hosted": False,
            "is_playable": True,
            "language": "en-US",
            "languages": ["en-US"],
            "name": episode.name,
            "release_date": episode.release_date.isoformat(),
            "release_date_precision": "day",
            "show": {
                "available_markets": list(MARKETS),
                "copyrights": [],
                "description": show.description,
                "explicit": False,
                **show_ref,
                "html_description": f"<p>{show.description}</p>",
                "images": _images(f"{self.seed}:show:{show.id}", (640, 300, 64)),
                "is_externally_hosted": False,
                "languages": ["en-US"],
                "media_type": "audio",
                "name": show.name,
                "publisher": show.publisher,
                "total_episodes": sum(1 for e in self._episodes.values() if e.show_id == show.id),
                "type": "show",
                "uri": f"spotify:show:{show.id}",
            },
            "track": False,
            "type": "episode",
            "uri": f"spotify:episode:{episode_id}",
        }

    def _local_track_json(self, local: LocalFile) -> JsonObject:
        # Spotify knows nothing about a local file but its tags: every id and link is null.
        return {
            "album": {
                "album_type": None,
                "artists": [],
                "available_markets": [],
                "external_urls": {},
                "href": None,
                "id": None,
                "images": [],
                "name": local.album,
                "release_date": None,
                "release_date_precision": None,
                "type": "album",
                "uri": None,
            },
            "artists": [
                {
                    "external_urls": {},
                    "href": None,
                    "id": None,
                    "name": local.artist,
                    "type": "artist",
                    "uri": None,
                }
            ],
            "available_markets": [],
            "disc_number": 0,
            "duration_ms": local.duration_ms,
            "episode": False,
            "explicit": False,
            "external_ids": {},
            "external_urls": {},
            "href": None,
            "id": None,
            "is_local": True,
            "name": local.title,
            "popularity": 0,
            "preview_url": None,
            "track": True,
            "track_number": 0,
            "type": "track",
            "uri": local.uri,
        }

    def user_json(
        self, user_id: str, *, base_url: str = SPOTIFY_API_BASE_URL, with_name: bool = True
    ) -> JsonObject:
        name = {"display_name": _USERS[user_id]} if with_name else {}
        return {
            **name,
            "external_urls": {"spotify": f"{OPEN_SPOTIFY_URL}user/{user_id}"},
            "href": f"{base_url}users/{user_id}",
            "id": user_id,
            "type": "user",
            "uri": f"spotify:user:{user_id}",
        }

    def playlist_item_json(
        self,
        entry: PlaylistEntry,
        day: date,
        *,
        base_url: str = SPOTIFY_API_BASE_URL,
        market: str | None = None,
    ) -> JsonObject:
        """One playlist item. Episodes are always returned as episode objects."""
        if entry.kind == "track" and entry.ref_id is not None:
            item: JsonObject | None = {
                **self.track_json(entry.ref_id, day, base_url=base_url, market=market),
                "episode": False,
                "track": True,
            }
        elif entry.kind == "episode" and entry.ref_id is not None:
            item = self.episode_json(entry.ref_id, base_url=base_url)
        elif entry.kind == "local" and entry.local is not None:
            item = self._local_track_json(entry.local)
        else:
            item = None
        return {
            "added_at": _timestamp(entry.added_at),
            "added_by": self.user_json(entry.added_by, base_url=base_url, with_name=False),
            "is_local": entry.kind == "local",
            "primary_color": None,
            "track": item,
            "video_thumbnail": {"url": None},
        }

    def _playlist_header(self, playlist_id: str, day: date, base_url: str) -> JsonObject:
        playlist = self._playlists[playlist_id]
        ref = self._ref("playlist", playlist_id, base_url)
        # Spotify's own playlists carry sized cover art; user playlists get one image with
        # null dimensions, a quirk parsers have to accept.
        sizes: tuple[int | None, ...] = (640,) if playlist.owner_id == "spotify" else (None,)
        return {
            "collaborative": playlist.collaborative,
            "description": playlist.description,
            "external_urls": ref["external_urls"],
            "href": ref["href"],
            "id": playlist_id,
            "images": _images(f"{self.seed}:playlist:{playlist_id}", sizes),
            "name": playlist.name,
            "owner": self.user_json(playlist.owner_id, base_url=base_url),
            "primary_color": None,
            "public": playlist.public,
            "snapshot_id": self.snapshot_id(playlist_id, day),
        }

    def simplified_playlist_json(
        self, playlist_id: str, day: date, *, base_url: str = SPOTIFY_API_BASE_URL
    ) -> JsonObject:
        return {
            **self._playlist_header(playlist_id, day, base_url),
            "tracks": {
                "href": f"{base_url}playlists/{playlist_id}/tracks",
                "total": len(self.playlist_entries(playlist_id, day)),
            },
            "type": "playlist",
            "uri": f"spotify:playlist:{playlist_id}",
        }

    def playlist_json(
        self,
        playlist_id: str,
        day: date,
        *,
        base_url: str = SPOTIFY_API_BASE_URL,
        market: str | None = None,
        items_query: Mapping[str, str] | None = None,
    ) -> JsonObject:
        """The full playlist with the first page (100) of its items under `tracks`.

        `items_query` holds request parameters (market, additional_types) that the `next` link
        of the embedded page keeps.
        """
        playlist = self._playlists[playlist_id]
        entries = self.playlist_entries(playlist_id, day)
        items = [
            self.playlist_item_json(e, day, base_url=base_url, market=market) for e in entries[:100]
        ]
        days_live = (day - WORLD_START).days
        return {
            **self._playlist_header(playlist_id, day, base_url),
            "followers": {
                "href": None,
                "total": round(playlist.base_followers * (1 + 0.002 * days_live)),
            },
            "tracks": paging_json(
                items,
                endpoint=f"{base_url}playlists/{playlist_id}/tracks",
                offset=0,
                limit=100,
                total=len(entries),
                query=items_query,
            ),
            "type": "playlist",
            "uri": f"spotify:playlist:{playlist_id}",
        }

    # ---- generation ------------------------------------------------------------------------

    def _id(self, kind: str, key: str) -> str:
        return spotify_id(self.seed, kind, key)

    def _build_artists(self) -> None:
        rng = namespace_rng(self.seed, "catalogue:artists")
        names = rng.sample(_ARTIST_NAMES, 32)
        families = list(GENRE_FAMILIES)
        for index, name in enumerate(names):
            family = families[index % len(families)]
            own = list(GENRE_FAMILIES[family])
            count = rng.randint(1, 4)
            genres = rng.sample(own, min(count, len(own)))
            others = [g for g in ALL_GENRES if g not in own]
            genres += rng.sample(others, count - len(genres))
            followers = round(math.exp(rng.uniform(math.log(2_000), math.log(8_000_000))))
            popularity = _clamp_popularity(12 * math.log10(followers) - 12 + rng.gauss(0, 4))
            artist = Artist(
                id=self._id("artist", name),
                name=name,
                family=family,
                genres=tuple(genres),
                base_followers=followers,
                base_popularity=popularity,
                daily_growth=rng.uniform(0.0005, 0.003),
                country=rng.choice(_COUNTRIES),
            )
            self._artists[artist.id] = artist

    def _choose_ground_truth(self) -> tuple[GroundTruthEvent, ...]:
        # Mid-popularity artists: a jump stands out there and stays below the 0-100 ceiling.
        by_popularity = sorted(self._artists.values(), key=lambda a: (a.base_popularity, a.id))
        breakout = by_popularity[len(by_popularity) // 2]
        drop = by_popularity[len(by_popularity) * 2 // 5]
        return (
            GroundTruthEvent(
                "breakout",
                breakout.id,
                BREAKOUT_DAY,
                f"{breakout.name} breaks out: a viral single lifts followers and popularity "
                f"sharply from {BREAKOUT_DAY} and they keep growing fast for days.",
            ),
            GroundTruthEvent(
                "follower_drop",
                drop.id,
                FOLLOWER_DROP_DAY,
                f"{drop.name} loses about 15% of followers on {FOLLOWER_DROP_DAY} "
                "(a bot-account purge).",
            ),
        )

    def _build_discography(self) -> None:
        rng = namespace_rng(self.seed, "catalogue:releases")
        artists = list(self._artists.values())
        breakout_id = self.ground_truth[0].artist_id
        isrc_sequence = iter(range(rng.randrange(10_000, 20_000), 100_000))
        for index, artist in enumerate(artists):
            plan: list[tuple[str, int, date]] = []  # (album_type, track count, release day)
            for _ in range(1 if rng.random() < 0.8 else 2):
                plan.append(("album", rng.randint(6, 10), self._past_day(rng)))
            for _ in range(rng.randint(1, 2)):
                plan.append(("single", rng.randint(1, 2), self._past_day(rng)))
            if rng.random() < 0.25:
                plan.append(("single", rng.randint(4, 6), self._past_day(rng)))  # an EP
            if rng.random() < 0.35:
                first, last = WORLD_START, WORLD_START + timedelta(days=120)
                plan.append(("single", 1, _random_day(rng, first, last)))
            if index == 0:
                # A prolific producer: enough releases to page the discography at small limits.
                plan += [("single", 1, self._past_day(rng)) for _ in range(22)]
            if index == 1:
                # A box set longer than one page (50) of an album's track listing.
                plan.append(("compilation", 60, date(2025, 11, 14)))
            if artist.id == breakout_id:
                plan.append(("single", 1, BREAKOUT_DAY))
                plan.append(("album", 10, date(2026, 11, 13)))
            for number, (album_type, count, day) in enumerate(plan):
                self._add_album(rng, artist, artists, number, album_type, count, day, isrc_sequence)

    @staticmethod
    def _past_day(rng: random.Random) -> date:
        return _random_day(rng, date(2013, 1, 1), WORLD_START - timedelta(days=10))

    def _add_album(
        self,
        rng: random.Random,
        artist: Artist,
        artists: Sequence[Artist],
        number: int,
        album_type: str,
        count: int,
        day: date,
        isrc_sequence: Iterator[int],
    ) -> None:
        album_key = f"{artist.id}:{number}"
        album_id = self._id("album", album_key)
        precision = "day"
        if day.year < 2016 and rng.random() < 0.3:
            precision = "year"
            day = date(day.year, 1, 1)
        label = rng.choice(_LABELS)
        registrant = _hex_digest(label, 3).upper()
        markets = MARKETS
        if rng.random() < 0.12:
            markets = tuple(sorted(rng.sample(MARKETS, rng.randint(5, 15))))
        titles = [self._title(rng) for _ in range(count)]
        if album_type == "compilation":
            name = f"{artist.name}: The Complete Sessions"
        elif album_type == "single" and count <= 2:
            name = titles[0]
        else:
            name = self._title(rng)
        track_ids = []
        for position, title in enumerate(titles):
            disc, track_number = (
                divmod(position, 20) if album_type == "compilation" else (0, position)
            )
            if album_type == "single" and count == 2 and position == 1:
                title = f"{titles[0]} - Acoustic"
            featured: tuple[str, ...] = ()
            if rng.random() < 0.12:
                guest = rng.choice([a for a in artists if a.id != artist.id])
                featured = (guest.id,)
                title = f"{title} (feat. {guest.name})"
            track_id = self._id("track", f"{album_key}:{position}")
            heavy = artist.family in ("jazz", "classical")
            seconds = rng.gauss(330 if heavy else 205, 60 if heavy else 35)
            explicit_odds = 0.5 if artist.family == "hip hop" else 0.07
            self._tracks[track_id] = Track(
                id=track_id,
                name=title,
                album_id=album_id,
                artist_ids=(artist.id, *featured),
                disc_number=disc + 1,
                track_number=track_number + 1,
                duration_ms=int(max(90.0, min(420.0, seconds)) * 1000) + rng.randrange(1000),
                explicit=rng.random() < explicit_odds,
                isrc=f"{artist.country}{registrant}{day.year % 100:02d}{next(isrc_sequence):05d}",
                popularity_offset=rng.randint(-20, 8),
                removed_on=None,
            )
            track_ids.append(track_id)
        self._albums[album_id] = Album(
            id=album_id,
            name=name,
            album_type=album_type,
            artist_ids=(artist.id,),
            release_date=day,
            release_date_precision=precision,
            label=label,
            upc=f"{rng.randrange(10**11, 10**12)}{number % 10}",
            markets=markets,
            track_ids=tuple(track_ids),
            popularity_offset=rng.randint(-15, 5),
        )

    @staticmethod
    def _title(rng: random.Random) -> str:
        adjective, noun, other = rng.choice(_ADJECTIVES), rng.choice(_NOUNS), rng.choice(_NOUNS)
        patterns = (f"{adjective} {noun}", f"{noun} of {other}", f"The {adjective} {noun}", noun)
        return rng.choice(patterns)

    def _remove_some_tracks(self) -> None:
        rng = namespace_rng(self.seed, "catalogue:removals")
        candidates = sorted(
            track.id
            for track in self._tracks.values()
            if self._albums[track.album_id].release_date < WORLD_START
            and self._albums[track.album_id].album_type == "album"
        )
        windows = [
            (WORLD_START + timedelta(days=4), DEFAULT_AS_OF - timedelta(days=6)),
        ] * 4 + [(DEFAULT_AS_OF + timedelta(days=1), DEFAULT_AS_OF + timedelta(days=45))] * 2
        for track_id, (first, last) in zip(
            rng.sample(candidates, len(windows)), windows, strict=True
        ):
            self._tracks[track_id] = replace(
                self._tracks[track_id], removed_on=_random_day(rng, first, last)
            )

    def _build_podcasts(self) -> None:
        rng = namespace_rng(self.seed, "podcasts")
        roster_names = [artist.name for artist in self._artists.values()]
        for show_name, publisher, description in _SHOWS:
            show = Show(self._id("show", show_name), show_name, publisher, description)
            self._shows[show.id] = show
            for number in range(6):
                guest = rng.choice(roster_names)
                episode = Episode(
                    id=self._id("episode", f"{show_name}:{number}"),
                    name=f"Episode {number + 1}: {guest}",
                    show_id=show.id,
                    description=f"{guest} joins us to talk about the new record.",
                    duration_ms=rng.randint(20, 90) * 60_000 + rng.randrange(60_000),
                    release_date=_random_day(rng, date(2025, 1, 1), WORLD_START),
                )
                self._episodes[episode.id] = episode

    def _build_playlists(self) -> None:
        rng = namespace_rng(self.seed, "playlists")
        removed = sorted(t.id for t in self._tracks.values() if t.removed_on is not None)
        release_day = {t.id: self._albums[t.album_id].release_date for t in self._tracks.values()}
        for spec in _PLAYLIST_SPECS:
            playlist_id = self._id("playlist", spec.name)
            pool = sorted(
                t.id
                for t in self._tracks.values()
                if t.removed_on is None
                and (not spec.families or self._artists[t.artist_ids[0]].family in spec.families)
            )
            builder = _PlaylistBuilder(rng, spec, release_day)
            taken_removed = removed[: spec.quirks.get("removed", 0)]
            removed = removed[len(taken_removed) :]
            builder.seed_entries(pool, taken_removed, self._episodes, self._artists)
            builder.schedule_edits(pool)
            self._playlists[playlist_id] = Playlist(
                id=playlist_id,
                name=spec.name,
                description=spec.description,
                owner_id=spec.owner_id,
                public=spec.owner_id == "spotify" or rng.random() < 0.7,
                collaborative=spec.cadence == "random" and spec.owner_id == "kofi-curates",
                base_followers=round(math.exp(rng.uniform(math.log(50), math.log(400_000)))),
                entries=tuple(builder.entries),
            )


class _PlaylistBuilder:
    """Plants a playlist's initial items and schedules its later additions and removals."""

    def __init__(
        self, rng: random.Random, spec: _PlaylistSpec, release_day: Mapping[str, date]
    ) -> None:
        self._rng = rng
        self._spec = spec
        self._release_day = release_day
        self._counter = 0
        self._protected: set[str] = set()  # planted taken-down tracks: edits never remove them
        self.entries: list[PlaylistEntry] = []

    def _entry(
        self,
        kind: str,
        ref_id: str | None,
        added_at: datetime,
        local: LocalFile | None = None,
        added_by: str | None = None,
    ) -> PlaylistEntry:
        self._counter += 1
        return PlaylistEntry(
            key=f"{kind}:{ref_id or ''}:{self._counter}",
            kind=kind,
            ref_id=ref_id,
            local=local,
            added_at=added_at,
            added_by=added_by or self._spec.owner_id,
            removed_on=None,
        )

    def _past_instant(self) -> datetime:
        return _random_instant(
            self._rng, _random_day(self._rng, date(2023, 1, 1), date(2026, 8, 31))
        )

    def seed_entries(
        self,
        pool: Sequence[str],
        removed_tracks: Sequence[str],
        episodes: Mapping[str, Episode],
        artists: Mapping[str, Artist],
    ) -> None:
        rng, quirks = self._rng, self._spec.quirks
        self._protected.update(removed_tracks)
        released = [t for t in pool if self._release_day[t] < WORLD_START]
        initial = rng.sample(released, min(self._spec.size, len(released)))
        planted: list[tuple[str, str | None, LocalFile | None]] = [
            ("track", t, None) for t in (*initial, *removed_tracks)
        ]
        for _ in range(quirks.get("local", 0)):
            local = LocalFile(
                artist=rng.choice(list(artists.values())).name,
                album="Demos 2019",
                title=f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} (demo)",
                duration_ms=rng.randint(120, 300) * 1000,
            )
            planted.append(("local", None, local))
        planted += [("missing", None, None)] * quirks.get("missing", 0)
        episode_ids = sorted(episodes)
        planted += [("episode", e, None) for e in rng.sample(episode_ids, quirks.get("episode", 0))]
        timed = sorted(((self._past_instant(), p) for p in planted), key=lambda pair: pair[0])
        for added_at, (kind, ref_id, local) in timed:
            self.entries.append(self._entry(kind, ref_id, added_at, local))

    def schedule_edits(self, pool: Sequence[str]) -> None:
        rng, cadence = self._rng, self._spec.cadence
        random_days = set(rng.sample(range(150), 5))
        for offset in range(HORIZON_DAYS):
            day = WORLD_START + timedelta(days=offset)
            if cadence == "weekly" and day.weekday() == 4:
                self._add_tracks(day, pool, 2, prefer_recent=True)
                self._remove_oldest(day, 2)
            elif cadence == "releases":
                fresh = [t for t in pool if self._release_day[t] == day]
                self._add_specific(day, fresh[:5])
            elif cadence == "random" and offset in random_days:
                if rng.random() < 0.5:
                    self._add_tracks(day, pool, rng.randint(1, 2), prefer_recent=False)
                else:
                    self._remove_random(day)

    def _present_tracks(self, day: date) -> list[PlaylistEntry]:
        return [e for e in self.entries if e.kind == "track" and e.visible_on(day)]

    def _removable(self, day: date) -> list[PlaylistEntry]:
        # Only entries from before today: an item added today must not vanish the same day.
        return [
            e
            for e in self._present_tracks(day)
            if e.added_at.date() < day and e.ref_id not in self._protected
        ]

    def _add_specific(self, day: date, track_ids: Sequence[str]) -> None:
        for track_id in track_ids:
            self.entries.append(self._entry("track", track_id, _random_instant(self._rng, day)))

    def _add_tracks(self, day: date, pool: Sequence[str], count: int, prefer_recent: bool) -> None:
        present = {e.ref_id for e in self._present_tracks(day)}
        available = [t for t in pool if self._release_day[t] <= day and t not in present]
        if prefer_recent:
            recent = [t for t in available if (day - self._release_day[t]).days <= 21]
            available = recent if len(recent) >= count else available
        self._add_specific(day, self._rng.sample(available, min(count, len(available))))

    def _retire(self, entry: PlaylistEntry, day: date) -> None:
        index = self.entries.index(entry)
        self.entries[index] = replace(entry, removed_on=day)

    def _remove_oldest(self, day: date, count: int) -> None:
        older = self._removable(day)
        for entry in sorted(older, key=lambda e: e.added_at)[:count]:
            self._retire(entry, day)

    def _remove_random(self, day: date) -> None:
        older = self._removable(day)
        if older:
            self._retire(self._rng.choice(older), day)
