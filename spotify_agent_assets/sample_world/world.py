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

This module holds `SampleWorld` itself: generation (artists, discographies, take-downs, podcasts,
playlists) and the queries over the result. The rest lives next to it:
- `catalogue`: domain dataclasses, constants, name pools, `namespace_rng` and `spotify_id`;
- `artist_series`: each artist's daily followers and popularity;
- `playlists`: playlist specs and the builder that plans each playlist's history;
- `shapes`: the Web API JSON builders, bound here as methods (`world.artist_json(...)`).
"""

from __future__ import annotations

import base64
import hashlib
import math
import random
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date, timedelta

from spotify_agent_assets.sample_world import shapes
from spotify_agent_assets.sample_world.artist_series import _ArtistSeries
from spotify_agent_assets.sample_world.catalogue import (
    _ADJECTIVES,
    _ARTIST_NAMES,
    _COUNTRIES,
    _LABELS,
    _NOUNS,
    _SHOWS,
    ALL_GENRES,
    BREAKOUT_DAY,
    DEFAULT_AS_OF,
    FOLLOWER_DROP_DAY,
    GENRE_FAMILIES,
    MARKETS,
    WORLD_START,
    Album,
    Artist,
    Episode,
    GroundTruthEvent,
    Playlist,
    PlaylistEntry,
    Show,
    Track,
    _clamp_popularity,
    _hex_digest,
    _random_day,
    namespace_rng,
    spotify_id,
)
from spotify_agent_assets.sample_world.playlists import (
    _PLAYLIST_SPECS,
    _PlaylistBuilder,
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

    def show(self, show_id: str) -> Show | None:
        return self._shows.get(show_id)

    def episode(self, episode_id: str) -> Episode | None:
        return self._episodes.get(episode_id)

    def episodes(self) -> list[Episode]:
        return list(self._episodes.values())

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
    # Defined in `shapes` with the world as first parameter, so they bind as methods here.

    simplified_artist_json = shapes.simplified_artist_json
    artist_json = shapes.artist_json
    simplified_album_json = shapes.simplified_album_json
    album_json = shapes.album_json
    simplified_track_json = shapes.simplified_track_json
    track_json = shapes.track_json
    episode_json = shapes.episode_json
    user_json = shapes.user_json
    playlist_item_json = shapes.playlist_item_json
    simplified_playlist_json = shapes.simplified_playlist_json
    playlist_json = shapes.playlist_json

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
