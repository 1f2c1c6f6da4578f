"""Hand-made `artist_daily_metrics` frames: series whose right answer is known by construction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
import pandas as pd

MONDAY = date(2026, 1, 5)


def metrics_frame(
    streams: dict[str, Sequence[float]],
    followers: dict[str, Sequence[float | None]] | None = None,
    *,
    start: date = MONDAY,
    names: dict[str, str] | None = None,
) -> pd.DataFrame:
    """One row per artist and day from ``start``; plays = streams, listeners = streams / 3."""
    rows = []
    for artist_id, series in streams.items():
        own_followers = (followers or {}).get(artist_id)
        for offset, value in enumerate(series):
            follower_count = None if own_followers is None else own_followers[offset]
            rows.append(
                {
                    "date": start + timedelta(days=offset),
                    "artist_id": artist_id,
                    "artist_name": (names or {}).get(artist_id, f"Artist {artist_id}"),
                    "plays": int(value),
                    "streams": int(value),
                    "unique_listeners": int(value // 3),
                    "listening_ms": int(value) * 180_000,
                    "skips": int(value // 5),
                    "skip_known_plays": int(value),
                    "skip_rate": 0.2 if value else None,
                    "followers": follower_count,
                    "popularity": 50,
                }
            )
    frame = pd.DataFrame(rows)
    frame["followers"] = frame["followers"].astype("Int64")
    return frame


def steady_followers(days: int, start: float = 100_000, daily: float = 0.002) -> list[float]:
    """Followers growing by the same share every day: a flat follower-growth history."""
    return [round(start * (1 + daily) ** i) for i in range(days)]


def weekly_series(
    rng: np.random.Generator, level: float, days: int, weekend_factor: float
) -> list[float]:
    """Poisson streams around ``level`` with Saturday and Sunday multiplied (from a Monday)."""
    factors = np.array([1.0] * 5 + [weekend_factor] * 2)
    rate = level * factors[np.arange(days) % 7] / factors.mean()
    return rng.poisson(rate).astype(float).tolist()
