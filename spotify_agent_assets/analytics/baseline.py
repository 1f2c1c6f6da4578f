"""Weekday-adjusted trailing baselines: the robust z-score that trends and anomalies share.

Daily streaming counts defeat a plain mean/standard-deviation z-score twice over. They are
seasonal (people listen by the week; weekends run about 1.2x weekdays in the sample world), so
a Saturday looks like a spike against a weekday average. And the outliers we hunt inflate the mean and the
standard deviation of every window they fall in, hiding themselves and the next anomaly.

So a series is judged in three steps:

1. **Weekday factors** ``f[w]``: for every entity-day whose centred 7-day window is complete,
   the ratio of the day to that window's mean (the window holds each weekday once, so its mean
   carries no weekly pattern); ``f[w]`` is the median ratio over all entity-days of weekday
   ``w``, pooled over the entities of one level and rescaled so the seven factors average 1.
   Pooling is deliberate: one entity has only ~4 days per weekday in a month of history, too few
   for a median, while dozens of entities share the audience's week. A median also ignores the
   few entity-days a spike or a surge distorts. With fewer than ``MIN_RATIOS_PER_WEEKDAY``
   ratios for some weekday the factors are all 1 (no adjustment), rather than guessed.
2. **Adjusted series** ``a[t] = y[t] / f[weekday(t)]``.
3. **Trailing baseline** over the ``window_days`` days before ``t`` (the day itself is never
   in its own baseline): ``expected = median(a)``, ``scale = 1.4826 * MAD(a)`` (a standard
   deviation under normal noise, insensitive to a minority of outliers), and
   ``z = (a[t] - expected) / scale``. NULL (NaN) with fewer than ``min_history_days`` known days
   in the window. Callers floor ``scale``: counts cannot be less noisy than Poisson
   (``sqrt(expected)``), and a flat history must not turn any change into an infinite z.

Everything works on dense ``entities x days`` matrices (NaN = unknown), in chunks of entities so
memory stays bounded with thousands of tracks.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this is its standard deviation
MIN_RATIOS_PER_WEEKDAY = 3
CHUNK_ENTITIES = 500  # x days x window floats per temporary array


@dataclass(frozen=True)
class TrailingBaseline:
    """Per entity and day: the robust baseline of the days before (all NaN where unknown)."""

    expected: np.ndarray  # median of the adjusted series over the trailing window
    scale: np.ndarray  # 1.4826 * MAD over the same window, before any floor
    history: np.ndarray  # known days in the window


def weekday_factors(values: np.ndarray, days: list[date], *, min_level: float = 0.0) -> np.ndarray:
    """Seven multiplicative factors, Monday first, estimated from ``values`` (entities x days).

    Only windows whose mean is at least ``min_level`` vote: on a handful of plays a day the
    ratios are mostly Poisson noise.
    """
    import numpy as np

    if values.shape[1] < 7:
        return np.ones(7)
    windows = np.lib.stride_tricks.sliding_window_view(values, 7, axis=1)
    centre_mean = windows.mean(axis=2)  # NaN where any day of the window is unknown
    centre = values[:, 3 : 3 + centre_mean.shape[1]]
    centre_weekday = np.array([d.weekday() for d in days[3 : 3 + centre_mean.shape[1]]])
    usable = np.isfinite(centre_mean) & np.isfinite(centre)
    usable &= centre_mean >= max(min_level, 1e-12)
    ratio = np.divide(centre, centre_mean, out=np.full_like(centre_mean, np.nan), where=usable)
    pooled = [ratio[:, centre_weekday == w] for w in range(7)]
    pooled = [r[np.isfinite(r)] for r in pooled]
    if any(len(r) < MIN_RATIOS_PER_WEEKDAY for r in pooled):
        return np.ones(7)
    factors = np.array([np.median(r) for r in pooled])
    return factors / factors.mean()


def adjust_for_weekday(values: np.ndarray, days: list[date], factors: np.ndarray) -> np.ndarray:
    """``values`` divided by the factor of each column's weekday."""
    import numpy as np

    return values / factors[np.array([d.weekday() for d in days])]


def trailing_baseline(
    adjusted: np.ndarray, *, window_days: int, min_history_days: int
) -> TrailingBaseline:
    """Median, scaled MAD and count of the known values in the ``window_days`` before each day."""
    import numpy as np

    if window_days < 1 or min_history_days < 1:
        raise ValueError(
            f"window_days ({window_days}) and min_history_days ({min_history_days}) must be >= 1"
        )
    n_entities, n_days = adjusted.shape
    expected = np.full((n_entities, n_days), np.nan)
    scale = np.full((n_entities, n_days), np.nan)
    history = np.zeros((n_entities, n_days), dtype=np.int64)
    for start in range(0, n_entities, CHUNK_ENTITIES):
        block = adjusted[start : start + CHUNK_ENTITIES]
        # Pad with `window_days` unknown days in front; window t then covers days t-W..t-1.
        padded = np.concatenate([np.full((len(block), window_days), np.nan), block], axis=1)
        windows = np.lib.stride_tricks.sliding_window_view(padded, window_days, axis=1)
        windows = windows[:, :n_days]
        known = np.isfinite(windows).sum(axis=2)
        enough = known >= min_history_days
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows give NaN
            median = np.nanmedian(windows, axis=2)
            mad = np.nanmedian(np.abs(windows - median[..., None]), axis=2)
        expected[start : start + len(block)] = np.where(enough, median, np.nan)
        scale[start : start + len(block)] = np.where(enough, MAD_TO_SIGMA * mad, np.nan)
        history[start : start + len(block)] = known
    return TrailingBaseline(expected=expected, scale=scale, history=history)
