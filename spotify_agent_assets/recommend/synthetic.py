"""Synthetic listening logs with a planted taste structure, for benchmarks and tests.

Tracks belong to styles and have a Zipf-like popularity; each listener likes one to three
styles and has a personal rotation of favourites, replayed with a heavy tail. Most plays come
from the listener's styles, the rest from the whole catalogue by popularity (the radio, the
charts). A model that learns tastes recovers the styles; one that does not falls back to
popularity, so the gap between the two is measurable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def listening_log(
    listeners: int,
    tracks: int,
    events: int,
    *,
    styles: int = 40,
    days: int = 30,
    in_style: float = 0.8,
    seed: int = 0,
) -> pd.DataFrame:
    """``events`` plays as a frame: listener_id, track_id, day (0 to ``days`` - 1), plays.

    Rows are distinct (listener, track, day) with their play counts; ids are strings.
    """
    import numpy as np
    import pandas as pd

    track_style = planted_styles(tracks, styles, seed)
    rng = np.random.default_rng([seed, 1])
    appeal = 1.0 / np.arange(1, tracks + 1) ** 0.8
    rng.shuffle(appeal)
    by_style = [np.flatnonzero(track_style == s) for s in range(styles)]
    style_weights = [appeal[idx] / appeal[idx].sum() for idx in by_style]
    overall = appeal / appeal.sum()

    # Listeners' activity is heavy-tailed too: a few play a lot.
    activity = rng.pareto(1.5, size=listeners) + 1.0
    per_listener = np.maximum(1, np.round(activity / activity.sum() * events)).astype(np.int64)
    listener_of_event = np.repeat(np.arange(listeners), per_listener)[:events]
    n = len(listener_of_event)
    tastes = rng.integers(0, styles, size=(listeners, 3))
    taste_count = rng.integers(1, 4, size=listeners)
    chosen_taste = tastes[
        listener_of_event, rng.integers(0, 1 << 30, size=n) % taste_count[listener_of_event]
    ]
    from_style = rng.random(n) < in_style
    track = np.empty(n, dtype=np.int64)
    track[~from_style] = rng.choice(tracks, size=int((~from_style).sum()), p=overall)
    for style in range(styles):
        members = np.flatnonzero(from_style & (chosen_taste == style))
        if len(members) and len(by_style[style]):
            track[members] = rng.choice(by_style[style], size=len(members), p=style_weights[style])
    day = rng.integers(0, days, size=n)
    frame = (
        pd.DataFrame({"listener": listener_of_event, "track": track, "day": day})
        .value_counts()
        .rename("plays")
        .reset_index()
    )
    return pd.DataFrame(
        {
            "listener_id": "listener-" + frame["listener"].astype(str),
            "track_id": "track-" + frame["track"].astype(str),
            "day": frame["day"].astype(np.int64),
            "plays": frame["plays"].astype(np.int64),
        }
    )


def planted_styles(tracks: int, styles: int = 40, seed: int = 0) -> Any:
    """The style of each track ``listening_log`` draws with these arguments (numpy int
    array; track ``i`` is ``track-i``): the ground truth for neighbour tests."""
    import numpy as np

    return np.random.default_rng([seed, 0]).integers(0, styles, size=tracks)


def holdout_split(
    log: pd.DataFrame, share: float = 0.2, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-listener hold-out: ``share`` of each listener's distinct tracks (at least one,
    for listeners with two or more) go to the hold-out. Returns (train, holdout) as
    user_id, item_id, weight frames, weight being the summed plays."""
    import numpy as np
    import pandas as pd

    pairs = log.groupby(["listener_id", "track_id"], sort=True, as_index=False)["plays"].sum()
    rng = np.random.default_rng(seed)
    key = rng.random(len(pairs))
    rank = pd.Series(key).groupby(pairs["listener_id"].to_numpy()).rank(method="first")
    size = pairs.groupby("listener_id")["track_id"].transform("size").to_numpy()
    held = (size >= 2) & (rank.to_numpy() <= np.maximum(1, np.floor(size * share)))
    frame = pairs.rename(
        columns={"listener_id": "user_id", "track_id": "item_id", "plays": "weight"}
    )
    return frame[~held].reset_index(drop=True), frame[held].reset_index(drop=True)
