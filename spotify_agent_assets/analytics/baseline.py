"""Weekday-adjusted trailing baselines: the weekday factors and windows trends and anomalies share.

Daily streaming counts defeat a plain mean/standard-deviation z-score twice over. They are
seasonal (people listen by the week; weekends run about 1.2x weekdays in the sample world), so
a Saturday looks like a spike against a weekday average. And the outliers we hunt inflate the
mean and the standard deviation of every window they fall in, hiding themselves and the next
anomaly.

So a day ``t`` is judged against the ``window_days`` (28) days before it, and only them:

1. **Weekday factors** ``f_t[w]``: for every entity and every 7-day week lying wholly inside
   the window, the ratio of each day to the week's mean (a week holds each weekday once, so
   its mean carries no weekly pattern); ``f_t[w]`` is the median of these ratios over the days
   on weekday ``w``, pooled over the entities of one level and rescaled so the seven factors
   average 1. Pooling is deliberate: one entity has only a few days per weekday in a month,
   too few for a median, while dozens of entities share the audience's week; one week of data
   is enough to start. A median also ignores the few days a spike or a surge distorts. With
   fewer than ``MIN_RATIOS_PER_WEEKDAY`` ratios for some weekday the factors are all 1 (no
   adjustment), rather than guessed. Nothing after ``t - 1`` enters ``f_t``: a day is judged
   the same whenever it is computed, so a table kept incrementally equals one computed at once.
2. **Adjusted window** ``a[s] = y[s] / f_t[weekday(s)]`` for the days ``s`` of the window.
3. **Trailing baseline**: ``expected = median(a)``, ``scale = 1.4826 * MAD(a)`` (a standard
   deviation under normal noise, insensitive to a minority of outliers), and
   ``z = (y[t] / f_t[weekday(t)] - expected) / scale`` (``robust_z``, used by the trends).
   NULL (NaN) with fewer than ``min_history_days`` known days in the window. ``scale`` is
   floored: counts cannot be less noisy than Poisson (``sqrt(expected)``), and a flat history
   must not turn any change into an infinite z. The anomalies use the same factors and window,
   with negative-binomial p-values instead of z (see
   :mod:`spotify_agent_assets.analytics.anomalies`).

Everything works on dense ``entities x days`` matrices (NaN = unknown).
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


def trailing_weekday_factors(
    values: np.ndarray, days: list[date], *, window_days: int, min_level: float = 0.0
) -> np.ndarray:
    """Per day (rows, ``days x 7``), Monday first: the factors from the ``window_days`` before.

    Only weeks whose mean is at least ``min_level`` vote: on a handful of plays a day the
    ratios are mostly Poisson noise.
    """
    import numpy as np

    n_days = values.shape[1]
    factors = np.ones((n_days, 7))
    weekday = np.array([d.weekday() for d in days], dtype=np.int64)
    for t in range(7, n_days):
        first = max(0, t - window_days)
        weeks = np.lib.stride_tricks.sliding_window_view(values[:, first:t], 7, axis=1)
        week_mean = weeks.mean(axis=2, keepdims=True)  # NaN where any day is unknown
        usable = np.isfinite(week_mean) & (week_mean >= max(min_level, 1e-12))
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(usable, weeks / week_mean, np.nan)
        day_weekday = np.lib.stride_tricks.sliding_window_view(weekday[first:t], 7)
        day_weekday = np.broadcast_to(day_weekday, ratio.shape)
        pooled = [ratio[day_weekday == w] for w in range(7)]
        pooled = [r[np.isfinite(r)] for r in pooled]
        if any(len(r) < MIN_RATIOS_PER_WEEKDAY for r in pooled):
            continue
        medians = np.array([np.median(r) for r in pooled])
        factors[t] = medians / medians.mean()
    return factors


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


@dataclass(frozen=True)
class RobustZ:
    """Weekday-adjusted robust z of every entity-day, and its expected value (NaN: unknown)."""

    z: np.ndarray
    expected: np.ndarray  # trailing median put back on the day's weekday scale


def robust_z(
    values: np.ndarray,
    days: list[date],
    *,
    window_days: int,
    min_history_days: int,
    min_relative_scale: float,
    min_level: float,
) -> RobustZ:
    """``(adjusted - median) / scale`` against the trailing window (steps 1-3 above).

    ``scale`` is floored at ``sqrt(expected)`` (counts are at least Poisson-noisy) and at
    ``min_relative_scale * expected`` (day-to-day swings of 10% are ordinary in streaming).
    """
    import numpy as np

    factors = trailing_weekday_factors(values, days, window_days=window_days, min_level=min_level)
    weekday = np.array([d.weekday() for d in days], dtype=np.int64)
    z = np.full(values.shape, np.nan)
    expected = np.full(values.shape, np.nan)
    for t in range(values.shape[1]):
        first = max(0, t - window_days)
        own = factors[t]
        window = values[:, first:t] / own[weekday[first:t]]
        enough = np.isfinite(window).sum(axis=1) >= min_history_days
        if not enough.any():
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows give NaN
            median = np.nanmedian(window, axis=1)
            mad = np.nanmedian(np.abs(window - median[:, None]), axis=1)
        median = np.where(enough, median, np.nan)
        with np.errstate(invalid="ignore"):
            floor = np.fmax(np.sqrt(np.fmax(median, 0.0)), 1.0)
            scale = np.fmax(np.fmax(MAD_TO_SIGMA * mad, floor), min_relative_scale * median)
            z[:, t] = (values[:, t] / own[weekday[t]] - median) / scale
        expected[:, t] = median * own[weekday[t]]
    return RobustZ(z=z, expected=expected)
