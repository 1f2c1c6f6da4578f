"""Streaming anomalies: days whose streams leave an artist's or a track's own normal range.

Method (``METHOD`` names it in every row), per level (artist, track) and per daily series:

1. weekday factors pooled over the level's series (median ratio of a day to its centred 7-day
   mean, see :mod:`spotify_agent_assets.analytics.baseline`); the series is divided by them so
   a Saturday is compared with Saturdays' normal, not with weekdays';
2. a trailing baseline of the adjusted series over the ``window_days`` (28) days before the
   day, never including the day: ``expected = median``, ``scale = 1.4826 * MAD``;
3. ``scale`` is floored at ``sqrt(expected)`` (counts are at least Poisson-noisy) and at
   ``min_relative_scale * expected`` (10%: day-to-day swings of that size are ordinary in
   streaming, and a MAD from one or two weeks of history often understates them);
4. ``robust_z = (adjusted - expected) / scale``; a day is flagged when ``|robust_z| >= threshold``
   (5), the window holds at least ``min_history_days`` (7) known days, and ``expected`` (on the
   day's weekday scale) is at least ``min_expected_streams`` (20): below that, one listener's
   binge is a "spike";
5. a day with 0 streams where at least ``min_expected_streams`` were expected is flagged as a
   drop whatever its z: under Poisson noise P(0 | 20 expected) is 2e-9, and a MAD inflated by a
   track's bursty listening (often 20-30% on a track) must not hide a track that vanished (a
   take-down, a delivery fault). Its ``robust_z`` is still the computed one.

``value`` is the day's raw streams; ``expected`` is the baseline put back on that weekday's
scale (``median * factor``), so both read in streams. Median and MAD keep a spike from
inflating its own baseline or the next days', and a breakout keeps being flagged until it has
filled half the window, which is the honest reading of "unusual for this artist".

Missing data: a day with no rows at all in the input is unknown and never flagged; a track's
days before its first play are unknown (a release is not a spike from zero), and after it a day
without a row is 0 streams (the fact table only holds days with plays), so a take-down can show
as a drop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from spotify_agent_assets.analytics.series import as_frame, calendar, latest_value, to_matrix
from spotify_agent_assets.analytics.tables import STREAMING_ANOMALIES
from spotify_agent_assets.lake.table_contract import arrow_schema

if TYPE_CHECKING:
    from datetime import date

    import numpy as np
    import pandas as pd
    import pyarrow as pa


@dataclass(frozen=True)
class AnomalyParams:
    """Thresholds of the detector; the defaults are the documented ones."""

    window_days: int = 28
    min_history_days: int = 7
    threshold: float = 5.0
    min_relative_scale: float = 0.10
    min_expected_streams: float = 20.0

    def method(self) -> str:
        return (
            f"weekday-adjusted trailing {self.window_days}d median/MAD robust z, "
            f"|z|>={self.threshold:g} or 0 streams, min history {self.min_history_days}d, "
            f"min expected {self.min_expected_streams:g}/day, "
            f"scale>=max(sqrt(expected), {self.min_relative_scale:.0%} of expected)"
        )


DEFAULT_PARAMS = AnomalyParams()


@dataclass(frozen=True)
class SeriesScores:
    """The detector's working numbers for every entity and day (NaN where not computable)."""

    entity_ids: list[str]
    days: list[date]
    values: np.ndarray
    expected: np.ndarray  # on the raw (weekday) scale
    robust_z: np.ndarray
    flagged: np.ndarray  # bool


def score_series(
    values: np.ndarray, days: list[date], entity_ids: list[str], params: AnomalyParams
) -> SeriesScores:
    """Robust z of every entity-day of one level (see the module docstring for the method)."""
    import numpy as np

    from spotify_agent_assets.analytics.baseline import (
        adjust_for_weekday,
        trailing_baseline,
        weekday_factors,
    )

    factors = weekday_factors(values, days, min_level=params.min_expected_streams)
    adjusted = adjust_for_weekday(values, days, factors)
    baseline = trailing_baseline(
        adjusted, window_days=params.window_days, min_history_days=params.min_history_days
    )
    with np.errstate(invalid="ignore"):
        floor = np.fmax(np.sqrt(np.fmax(baseline.expected, 0.0)), 1.0)
        scale = np.fmax(
            np.fmax(baseline.scale, floor), params.min_relative_scale * baseline.expected
        )
        z = (adjusted - baseline.expected) / scale
        day_factor = factors[np.array([d.weekday() for d in days], dtype=np.int64)]
        expected = baseline.expected * day_factor
        flagged = (
            np.isfinite(z)
            & ((np.abs(z) >= params.threshold) | (values == 0))
            & (expected >= params.min_expected_streams)
        )
    return SeriesScores(
        entity_ids=entity_ids,
        days=days,
        values=values,
        expected=expected,
        robust_z=z,
        flagged=flagged,
    )


def streaming_anomalies(
    artist_daily_metrics: pa.Table | pd.DataFrame,
    fct_streams_daily: pa.Table | pd.DataFrame | None = None,
    dim_track: pa.Table | pd.DataFrame | None = None,
    params: AnomalyParams = DEFAULT_PARAMS,
) -> pa.Table:
    """Anomalous days of daily streams per artist and, given the fact table, per track.

    ``artist_daily_metrics``: (date, artist_id, artist_name, streams) at least.
    ``fct_streams_daily``: (date, track_id, streams), summed over countries per track.
    ``dim_track``: (track_id, track_name, primary_artist_id), for names and the artist link.
    Rows are sorted by level, date, entity_id.
    """
    import pyarrow as pa

    metrics = as_frame(
        artist_daily_metrics,
        "artist_daily_metrics",
        ["date", "artist_id", "artist_name", "streams"],
        keys=("date", "artist_id"),
    )
    rows: list[dict[str, object]] = []
    if len(metrics):
        days = calendar(min(metrics["date"]), max(metrics["date"]))
        names = latest_value(metrics, "artist_id", "artist_name")
        matrix = to_matrix(metrics, "artist_id", "streams", days=days, zero_after_first=False)
        scores = score_series(matrix.values, days, matrix.entity_ids, params)
        rows += _rows(scores, "artist", names, {e: e for e in matrix.entity_ids}, params)

    if fct_streams_daily is not None:
        facts = as_frame(
            fct_streams_daily,
            "fct_streams_daily",
            ["date", "track_id", "streams"],
            keys=("date", "track_id"),
        )
        if len(facts):
            tracks = (
                as_frame(dim_track, "dim_track", ["track_id", "track_name", "primary_artist_id"])
                if dim_track is not None
                else None
            )
            days = calendar(min(facts["date"]), max(facts["date"]))
            matrix = to_matrix(facts, "track_id", "streams", days=days, zero_after_first=True)
            scores = score_series(matrix.values, days, matrix.entity_ids, params)
            names = latest_value(tracks, "track_id", "track_name") if tracks is not None else {}
            artists = (
                latest_value(tracks, "track_id", "primary_artist_id") if tracks is not None else {}
            )
            rows += _rows(scores, "track", names, artists, params)

    order = {"artist": 0, "track": 1}
    rows.sort(key=lambda r: (order[str(r["level"])], r["date"], r["entity_id"]))
    return pa.Table.from_pylist(rows, schema=arrow_schema(STREAMING_ANOMALIES))


def _rows(
    scores: SeriesScores,
    level: str,
    names: dict[str, str],
    artists: dict[str, str],
    params: AnomalyParams,
) -> list[dict[str, object]]:
    import numpy as np

    method = params.method()
    found = []
    for i, j in zip(*np.nonzero(scores.flagged), strict=True):
        entity = scores.entity_ids[i]
        z = float(scores.robust_z[i, j])
        found.append(
            {
                "level": level,
                "entity_id": entity,
                "entity_name": names.get(entity),
                "artist_id": artists.get(entity),
                "date": scores.days[j],
                "metric": "streams",
                "value": float(scores.values[i, j]),
                "expected": round(float(scores.expected[i, j]), 2),
                "robust_z": round(z, 3),
                "direction": "spike" if z > 0 else "drop",
                "method": method,
            }
        )
    return found
