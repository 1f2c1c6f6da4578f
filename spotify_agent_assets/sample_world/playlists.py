"""Playlist plans and their day-by-day history: which items a playlist holds on any day.

`_PLAYLIST_SPECS` describes the world's playlists (owner, size, genre families, edit cadence and
the quirks to plant: local files, unavailable tracks, podcast episodes, taken-down tracks).
`_PlaylistBuilder` turns one spec into `PlaylistEntry`s: the initial items, then additions and
removals scheduled up to `WORLD_START + HORIZON_DAYS`. `SampleWorld` runs one builder per spec
on its "playlists" random stream, in spec order, so this order is part of the world's identity.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from spotify_agent_assets.sample_world.catalogue import (
    _ADJECTIVES,
    _NOUNS,
    HORIZON_DAYS,
    WORLD_START,
    Artist,
    Episode,
    LocalFile,
    PlaylistEntry,
    _random_day,
    _random_instant,
)


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
