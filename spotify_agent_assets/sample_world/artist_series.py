"""One artist's daily followers and popularity, generated lazily one day at a time.

Kept apart from `world` because it is the only stateful, incrementally extended part of the
world: `SampleWorld` holds one `_ArtistSeries` per artist (created on first use, behind a lock)
and asks it to extend up to the requested day. The planted `GroundTruthEvent`s shape the series
here: a breakout lifts followers and popularity, a follower drop cuts followers.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import timedelta

from spotify_agent_assets.sample_world.catalogue import (
    WORLD_START,
    Artist,
    GroundTruthEvent,
    _clamp_popularity,
)


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
