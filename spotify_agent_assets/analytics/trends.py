"""Artist trends: streams growth, momentum, follower growth and breakout detection.

One row per (artist_id, date) of ``analytics.artist_daily_metrics``, up to ``as_of``, the last
complete day: the day in progress is never computed (a day cut to 40% of its plays would read
as a fall, or a drop of every artist's 7-day growth). Windows are calendar days
ending on (and including) the row's date; a window that reaches a day the input does not have
(before the artist's first row, or a day missing from the table) makes its figure NULL rather
than a sum of fewer days that would read as a drop.

Growth
    ``streams_7d`` = streams of the 7 days ending on the date; ``growth_7d`` = ``streams_7d`` /
    the 7 days before - 1 (NULL before 14 days of history or when the earlier week had none).
    ``growth_28d`` compares the last ``growth_28d_window_days`` days with as many days before.
    The window is 28 days once 56 days of history exist; with less it is the largest whole
    number of weeks that fits twice into the history (``7 * floor(history / 14)``, so both
    windows hold the same weekdays) and NULL below 14 days (28 days of history), where it would
    only repeat ``growth_7d``. The column ``growth_28d_window_days`` says which window was used.
``momentum``
    ``growth_7d`` minus the weekly rate implied by ``growth_28d``
    (``(1 + growth_28d) ** (7 / window) - 1``): positive when the last week grew faster than the
    longer trend (accelerating), negative when growth is slowing. NULL with ``growth_28d``.
Followers
    ``follower_growth_1d`` / ``follower_growth_7d``: relative change against 1 / 7 days before.
    ``follower_z``: robust z of the day's follower log-change against the 28 days before
    (median, 1.4826 * MAD, MAD floored at 0.1 percentage points a day so a perfectly smooth
    history does not make every wobble infinite).
Breakout (``breakout_signal``, ``is_breakout``, ``breakout_day``)
    A signal day has streams far above the artist's own normal, ``streams_z >= 4`` (the
    weekday-adjusted robust z of :func:`~spotify_agent_assets.analytics.baseline.robust_z`, with
    at least 20 expected streams), AND follower growth that jumped within the last 3 days
    (max ``follower_z`` over the date and the 2 days before ``>= 4``). A day ``is_breakout``
    when it is a signal day and another signal day lies within 2 days of it (at least 2 signal
    days in some 3-day window holding it), so a one-day burst is not a breakout.
    ``breakout_day`` is the artist's first ``is_breakout`` day in the 28 days ending on the
    row's date (NULL without one), so a row's figures never need more than ``LOOKBACK_DAYS``
    (56) days before it.
    Requiring followers is what separates a breakout from a burst of artificial or playlist
    streams (fans follow, bots do not): those are left to ``streaming_anomalies``. An artist
    without follower snapshots cannot break out here. The confirmation looks up to two days
    ahead, so the flags of the latest two days can still appear when the next days arrive
    (the asset recomputes its last days each run).
``trend_status``
    'breakout' when a day in the last 7 is ``is_breakout``; otherwise by ``growth_7d``:
    'rising' (>= +15%), 'falling' (<= -15%), 'steady', or 'insufficient_history' when NULL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from spotify_agent_assets.analytics.baseline import robust_z
from spotify_agent_assets.analytics.series import as_frame, calendar, latest_value, to_matrix
from spotify_agent_assets.analytics.tables import ARTIST_TRENDS
from spotify_agent_assets.lake.table_contract import arrow_schema

if TYPE_CHECKING:
    from datetime import date

    import numpy as np
    import pandas as pd
    import pyarrow as pa


@dataclass(frozen=True)
class TrendParams:
    """Thresholds of trends and breakouts; the defaults are the documented ones."""

    stream_z: float = 4.0
    follower_z: float = 4.0
    follower_lookback_days: int = 3  # the follower jump may lead the streams by up to 2 days
    confirm_within_days: int = 2  # another signal day this close confirms a breakout
    follower_min_scale: float = 0.001  # 0.1 percentage points of daily follower growth
    rising: float = 0.15
    falling: float = -0.15
    breakout_status_days: int = 7
    breakout_day_days: int = 28  # breakout_day: the first is_breakout day in this many days
    window_days: int = 28
    min_history_days: int = 7
    min_relative_scale: float = 0.10
    min_expected_streams: float = 20.0


DEFAULT_PARAMS = TrendParams()

# Days before a computed day that its figures read: growth_28d compares 28 days with the 28
# before; the z-scores and breakout_day reach 28 + 28 days back at most.
LOOKBACK_DAYS = 56

TREND_STATUSES = ("breakout", "rising", "steady", "falling", "insufficient_history")


def artist_trends(
    artist_daily_metrics: pa.Table | pd.DataFrame,
    params: TrendParams = DEFAULT_PARAMS,
    *,
    as_of: date | None = None,
    score_from: date | None = None,
) -> pa.Table:
    """Growth, momentum, follower growth and breakout flags per artist and date.

    Needs (date, artist_id, artist_name, streams, followers) from ``artist_daily_metrics``.
    ``as_of``: the last day computed (later rows, e.g. the day in progress, are ignored);
    ``score_from``: the first day output (earlier rows only feed the windows; every figure of
    a day needs at most ``LOOKBACK_DAYS`` days before it). Rows come out sorted by artist_id,
    date, one per input row from ``score_from`` to ``as_of``.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    metrics = as_frame(
        artist_daily_metrics,
        "artist_daily_metrics",
        ["date", "artist_id", "artist_name", "streams", "followers"],
        keys=("date", "artist_id"),
    )
    if as_of is not None:
        metrics = metrics[metrics["date"] <= as_of]
    if not len(metrics):
        return arrow_schema(ARTIST_TRENDS).empty_table()
    duplicated = metrics.duplicated(["artist_id", "date"])
    if duplicated.any():
        first = metrics[duplicated].iloc[0]
        raise ValueError(
            f"artist_daily_metrics has more than one row for artist {first['artist_id']} on "
            f"{first['date']}; expected one row per (date, artist_id)"
        )
    days = calendar(min(metrics["date"]), max(metrics["date"]))
    streams = to_matrix(metrics, "artist_id", "streams", days=days, zero_after_first=False)
    followers = to_matrix(
        metrics,
        "artist_id",
        "followers",
        days=days,
        zero_after_first=False,
        entity_ids=streams.entity_ids,
    )
    y, f = streams.values, followers.values

    streams_7d = _window_sum(y, 7)
    growth_7d = _ratio(streams_7d, _shift(streams_7d, 7)) - 1
    streams_28d, growth_28d, window_28d = _growth_28d(y)
    with np.errstate(invalid="ignore"):
        weekly_28d = np.power(1 + growth_28d, 7 / np.where(window_28d > 0, window_28d, 1)) - 1
    momentum = growth_7d - weekly_28d

    follower_growth_1d = _ratio(f, _shift(f, 1)) - 1
    follower_growth_7d = _ratio(f, _shift(f, 7)) - 1
    follower_z = _follower_z(f, params)

    scores = robust_z(
        y,
        days,
        window_days=params.window_days,
        min_history_days=params.min_history_days,
        min_relative_scale=params.min_relative_scale,
        min_level=params.min_expected_streams,
    )
    streams_z = scores.z
    with np.errstate(invalid="ignore"):
        enough_volume = scores.expected >= params.min_expected_streams
        recent_follower_z = _rolling_max(follower_z, params.follower_lookback_days)
        signal = (
            (np.nan_to_num(streams_z, nan=-np.inf) >= params.stream_z)
            & enough_volume
            & (np.nan_to_num(recent_follower_z, nan=-np.inf) >= params.follower_z)
        )
    is_breakout = signal & _has_neighbour(signal, params.confirm_within_days)
    recent_breakout = _rolling_max(is_breakout.astype(float), params.breakout_status_days) > 0

    status = np.full(y.shape, "insufficient_history", dtype=object)
    status[growth_7d >= params.rising] = "rising"
    status[growth_7d <= params.falling] = "falling"
    status[(growth_7d > params.falling) & (growth_7d < params.rising)] = "steady"
    status[recent_breakout] = "breakout"

    first_breakout = _first_in_window(is_breakout, params.breakout_day_days)
    entity_index = {e: i for i, e in enumerate(streams.entity_ids)}
    day_index = {d: j for j, d in enumerate(days)}
    if score_from is not None:
        metrics = metrics[metrics["date"] >= score_from]
    metrics = metrics.sort_values(["artist_id", "date"], kind="stable").reset_index(drop=True)
    ei = metrics["artist_id"].map(entity_index).to_numpy()
    dj = metrics["date"].map(day_index).to_numpy()
    names = latest_value(metrics, "artist_id", "artist_name")

    def cell(matrix: np.ndarray) -> np.ndarray:
        return matrix[ei, dj]

    def number(matrix: np.ndarray) -> np.ndarray:
        # NaN and +-inf (a ratio over zero) are "not computable": NULL in the table.
        values = cell(matrix).astype(float)
        return np.where(np.isfinite(values), np.round(values, 6), np.nan)

    out = pd.DataFrame(
        {
            "artist_id": metrics["artist_id"],
            "artist_name": metrics["artist_id"].map(names),
            "date": metrics["date"],
            "streams": _int_or_null(cell(y)),
            "streams_7d": _int_or_null(cell(streams_7d)),
            "growth_7d": number(growth_7d),
            "streams_28d": _int_or_null(cell(streams_28d)),
            "growth_28d": number(growth_28d),
            "growth_28d_window_days": pd.array(
                np.where(np.isnan(cell(growth_28d)), 0, cell(window_28d)), dtype="Int32"
            ),
            "momentum": number(momentum),
            "followers": _int_or_null(cell(f)),
            "follower_growth_1d": number(follower_growth_1d),
            "follower_growth_7d": number(follower_growth_7d),
            "streams_z": number(streams_z),
            "follower_z": number(follower_z),
            "breakout_signal": cell(signal),
            "is_breakout": cell(is_breakout),
            # An object column of dates (None where no breakout in the window).
            "breakout_day": pd.Series(
                [None if k < 0 else days[k] for k in cell(first_breakout)], dtype=object
            ),
            "trend_status": cell(status),
        }
    )
    out.loc[out["growth_28d_window_days"] == 0, "growth_28d_window_days"] = pd.NA
    table = pa.Table.from_pandas(out, schema=arrow_schema(ARTIST_TRENDS), preserve_index=False)
    return table.replace_schema_metadata(None)  # no pandas blob in the stored Parquet


def _first_in_window(flags: np.ndarray, length: int) -> np.ndarray:
    """Per entity-day, the column of the first flag in the ``length`` days ending there (-1)."""
    import numpy as np

    out = np.full(flags.shape, -1, dtype=np.int64)
    for j in range(flags.shape[1]):
        lo = max(0, j - length + 1)
        window = flags[:, lo : j + 1]
        hit = window.any(axis=1)
        out[hit, j] = lo + np.argmax(window[hit], axis=1)
    return out


def _shift(values: np.ndarray, days: int) -> np.ndarray:
    """``values`` moved ``days`` columns later (the value of ``days`` before), NaN in front."""
    import numpy as np

    shifted = np.full_like(values, np.nan)
    if days < values.shape[1]:
        shifted[:, days:] = values[:, : values.shape[1] - days]
    return shifted


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def _prefix(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Prefix sums of values (NaN as 0) and of unknown days, with a leading 0 column."""
    import numpy as np

    zeros = np.zeros((values.shape[0], 1))
    total = np.concatenate([zeros, np.cumsum(np.nan_to_num(values, nan=0.0), axis=1)], axis=1)
    unknown = np.concatenate([zeros, np.cumsum(np.isnan(values), axis=1)], axis=1)
    return total, unknown


def _window_sum(values: np.ndarray, length: int) -> np.ndarray:
    """Sum of the ``length`` days ending on each day; NaN when any of them is unknown."""
    import numpy as np

    n_days = values.shape[1]
    total, unknown = _prefix(values)
    end = np.arange(n_days) + 1
    start = end - length
    out = np.full(values.shape, np.nan)
    ok = start >= 0
    sums = total[:, end[ok]] - total[:, start[ok]]
    gaps = unknown[:, end[ok]] - unknown[:, start[ok]]
    out[:, ok] = np.where(gaps == 0, sums, np.nan)
    return out


def _growth_28d(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(streams in the window, growth against the window before, window length in days)."""
    import numpy as np

    n_entities, n_days = values.shape
    known = np.isfinite(values)
    first = np.where(known.any(axis=1), np.argmax(known, axis=1), n_days)
    history = np.arange(n_days)[None, :] - first[:, None] + 1
    window = np.minimum(28, 7 * (np.maximum(history, 0) // 14))
    total, unknown = _prefix(values)
    end = np.broadcast_to(np.arange(n_days) + 1, values.shape)
    middle = np.maximum(end - window, 0)
    start = np.maximum(end - 2 * window, 0)
    rows = np.arange(n_entities)[:, None]
    current = total[rows, end] - total[rows, middle]
    previous = total[rows, middle] - total[rows, start]
    gaps = unknown[rows, end] - unknown[rows, start]
    usable = (window >= 14) & (gaps == 0)
    current = np.where(usable, current, np.nan)
    growth = np.where(usable, _ratio(current, previous) - 1, np.nan)
    return current, growth, window


def _follower_z(followers: np.ndarray, params: TrendParams) -> np.ndarray:
    import numpy as np

    from spotify_agent_assets.analytics.baseline import trailing_baseline

    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.log(_ratio(followers, _shift(followers, 1)))
    change[~np.isfinite(change)] = np.nan
    baseline = trailing_baseline(
        change, window_days=params.window_days, min_history_days=params.min_history_days
    )
    scale = np.fmax(baseline.scale, params.follower_min_scale)
    return (change - baseline.expected) / scale


def _rolling_max(values: np.ndarray, days: int) -> np.ndarray:
    """Max over each day and the ``days - 1`` before it, ignoring unknown days."""
    import numpy as np

    stacked = np.stack([_shift(values, k) for k in range(days)])
    known = np.isfinite(stacked).any(axis=0)
    best = np.max(np.where(np.isfinite(stacked), stacked, -np.inf), axis=0)
    return np.where(known, best, np.nan)


def _has_neighbour(flags: np.ndarray, within: int) -> np.ndarray:
    """True where another flagged day lies within ``within`` days before or after."""
    import numpy as np

    found = np.zeros_like(flags)
    n_days = flags.shape[1]
    for k in range(1, within + 1):
        if k < n_days:
            found[:, k:] |= flags[:, :-k]  # a flag k days before
            found[:, :-k] |= flags[:, k:]  # a flag k days after
    return found


def _int_or_null(values: np.ndarray) -> pd.arrays.IntegerArray:
    import numpy as np
    import pandas as pd

    out = pd.array(np.where(np.isfinite(values), np.round(values), 0).astype(np.int64))
    out[~np.isfinite(values)] = pd.NA
    return out
