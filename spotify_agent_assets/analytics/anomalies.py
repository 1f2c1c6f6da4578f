"""Streaming anomalies: incidents where streams leave an artist's or a track's own normal range.

Method (``AnomalyParams.method()`` names it in every row), for every entity-day scored:

1. **Weekday factors** pooled per level (artists, tracks) from the 28 days before the day
   only, see :mod:`spotify_agent_assets.analytics.baseline`; the window is divided by them, so a
   Saturday is judged against Saturdays' normal, and a day is judged the same whenever it is
   computed.
2. **Trailing baseline** over the ``window_days`` (28) days before the day, never the day
   itself, and never days before the entity's last change point (step 6): ``m = median`` of the
   adjusted series, ``s = 1.4826 * MAD``. At least ``min_history_days`` (7) known days, and an
   expected ``mu = m * factor(weekday) >= min_expected_streams`` (20): below that one
   listener's binge is a "spike".
3. **Negative-binomial p-value.** Streams are counts, and overdispersed: listeners replay,
   sessions cluster, popularity drifts. The day's count is compared with a negative binomial of
   mean ``mu`` and variance ``mu + alpha * mu**2``, where the dispersion ``alpha`` is the
   entity's own, estimated robustly from its window: ``alpha = (s**2 - m) / m**2`` (the
   variance the MAD sees beyond Poisson), floored at ``min_dispersion`` (0.02, a 14% day-to-day
   swing). The floor is calibrated, not guessed: on event-free sample worlds (seeds 1 and 2,
   not the backtest's seeds) it is the smallest of 0.005 steps for which at most 1% of the
   tests have p < 0.01, at both levels (with 0.01, 2.4-2.8% of artist tests did: a MAD from a
   few weeks understates the tails, and a too-small ``alpha`` is what turns ordinary days into
   "anomalies"). ``p_value`` is two-sided: ``min(1, 2 * min(P(Y >= y), P(Y <= y)))``. A track
   at 0 where 20+ were expected gets a tiny p (a take-down shows).
4. **False discovery rate.** All tests of one scored day, artists and tracks together (about
   450 on the sample world), are one Benjamini-Hochberg family; ``q_value`` is the BH-adjusted
   p, and a test is significant at ``q_value <= fdr_q`` (0.01). The family is the day, not
   the run, so a day's result does not depend on how many days a run scores (an hourly run and
   a backfill agree); in steady state a run adds one new day, so this is one run's tests.
5. **Incidents.** A significant artist-day is one incident (``level = 'artist'``); the
   artist's tracks significant the same day in the same direction are listed under it
   (``track_ids``, ``track_names``) and are not incidents of their own. A significant track
   whose artist is not is its own incident (``level = 'track'``).
6. **Change points.** A significant day whose next ``shift_confirm_days - 1`` (2) days all stay
   beyond the old baseline on the same side (one-sided p <= ``shift_confirm_p``, 0.05, against
   the day's baseline) is a level shift: reported once, on its first day, as
   ``kind = 'level_shift'``; the baseline then restarts at that day (only days from the change
   point on enter later windows), so the new level becomes the normal after
   ``min_history_days`` days instead of being flagged for weeks. Until the confirming days
   exist the day reads as a spike or drop; the asset re-scores recent days, so it becomes a
   level shift when they arrive. An artist's level shift restarts its tracks' baselines as
   well: a breakout lifts every track, some a day later or below significance, and each would
   otherwise become an incident of its own over the next days.

``value`` is the day's raw streams; ``expected`` is ``mu`` (on the day's weekday scale), so both
read in streams; ``dispersion`` is ``alpha``.

Missing data: a day with no rows at all in the input is unknown and never scored; a track's
days before its first play are unknown (a release is not a spike from zero), and after it a day
without a row is 0 streams (the fact table only holds days with plays).

Scoring window: ``as_of`` (the last complete day; later rows are ignored) and ``score_from``
(the first day reported). Days before ``score_from`` are still walked, so their change points
restart the baselines of the reported days, but they give no rows. The caller reads
``lookback_days`` (56) days before ``score_from``: a change point inside a reported day's 28-day
window is then judged on its own 28 days, as it was when that day was first reported.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from spotify_agent_assets.analytics.series import as_frame, calendar, latest_value, to_matrix
from spotify_agent_assets.analytics.tables import STREAMING_ANOMALIES
from spotify_agent_assets.lake.table_contract import arrow_schema

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class AnomalyParams:
    """Thresholds of the detector; the defaults are the documented ones."""

    window_days: int = 28
    min_history_days: int = 7
    fdr_q: float = 0.01
    min_dispersion: float = 0.02
    min_expected_streams: float = 20.0
    shift_confirm_days: int = 3
    shift_confirm_p: float = 0.05

    def __post_init__(self) -> None:
        if not self.min_dispersion > 0 or not 0 < self.fdr_q < 1:
            raise ValueError(
                f"min_dispersion ({self.min_dispersion}) must be > 0 and fdr_q ({self.fdr_q}) "
                "in (0, 1)"
            )

    @property
    def lookback_days(self) -> int:
        """Days a scored day reads before it: its window, and the window of a change point in it."""
        return 2 * self.window_days

    def method(self) -> str:
        return (
            f"negative binomial vs weekday-adjusted trailing {self.window_days}d median, "
            f"dispersion from the entity's MAD (>= {self.min_dispersion:g}), "
            f"Benjamini-Hochberg q <= {self.fdr_q:g} per day, min history "
            f"{self.min_history_days}d, min expected {self.min_expected_streams:g}/day; "
            f"level shift when {self.shift_confirm_days} days stay beyond "
            f"(p <= {self.shift_confirm_p:g}), baseline restarts there"
        )


DEFAULT_PARAMS = AnomalyParams()

# Codes of ``DayScores.kind``.
NOT_SIGNIFICANT, SPIKE, DROP, LEVEL_SHIFT = 0, 1, 2, 3


@dataclass(frozen=True)
class DayScores:
    """The detector's numbers for every entity and day (NaN where not scored)."""

    entity_ids: list[str]
    days: list[date]
    values: np.ndarray
    expected: np.ndarray  # mu, on the raw (weekday) scale
    dispersion: np.ndarray  # alpha
    p_value: np.ndarray  # two-sided
    q_value: np.ndarray  # Benjamini-Hochberg within the day
    kind: np.ndarray  # int8 codes above


def negative_binomial_tails(
    y: np.ndarray, mu: np.ndarray, alpha: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(P(Y >= y), P(Y <= y)) for Y negative binomial with mean mu, variance mu + alpha mu^2."""
    import numpy as np
    from scipy.stats import nbinom

    size = 1.0 / alpha
    prob = size / (size + mu)
    counts = np.round(y)
    upper = nbinom.sf(counts - 1, size, prob)
    lower = nbinom.cdf(counts, size, prob)
    return upper, lower


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """BH-adjusted p-values (q-values) of one family; NaN entries are not tests."""
    import numpy as np

    q = np.full(p_values.shape, np.nan)
    tested = np.flatnonzero(np.isfinite(p_values))
    if not len(tested):
        return q
    order = tested[np.argsort(p_values[tested], kind="stable")]
    ranked = p_values[order] * len(order) / np.arange(1, len(order) + 1)
    q[order] = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    return q


def score_days(
    values: np.ndarray,
    factors: Sequence[np.ndarray],
    level_of_row: np.ndarray,
    days: list[date],
    entity_ids: list[str],
    params: AnomalyParams,
    parents: np.ndarray | None = None,
) -> DayScores:
    """Walk the days in order: baseline, p-values, BH per day, change points and restarts.

    ``values``: raw streams (entities x days, NaN unknown); ``factors``: per level, the weekday
    factors as of each day (``trailing_weekday_factors``, days x 7); ``level_of_row``: each
    entity's level (an index into ``factors``); ``parents``: each entity's
    parent row (a track's artist) or -1. A parent's level shift restarts its children's
    baselines too: a breakout lifts every track, some only a day later or below significance,
    and each would otherwise become an incident of its own in the following days.
    """
    import numpy as np

    n_entities, n_days = values.shape
    weekday = np.array([d.weekday() for d in days], dtype=np.int64)
    shape = (n_entities, n_days)
    expected, dispersion = np.full(shape, np.nan), np.full(shape, np.nan)
    p_value, q_value = np.full(shape, np.nan), np.full(shape, np.nan)
    kind = np.zeros(shape, dtype=np.int8)
    restart = np.zeros(n_entities, dtype=np.int64)  # first day a baseline may use
    rows = np.arange(n_entities)
    window = params.window_days
    for t in range(n_days):
        lo = max(0, t - window)
        own = np.stack([level[t] for level in factors])[level_of_row]  # as of day t
        history = values[:, lo:t] / own[:, weekday[lo:t]]
        history[np.arange(lo, t)[None, :] < restart[:, None]] = np.nan
        known = np.isfinite(history).sum(axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows give NaN
            median = np.nanmedian(history, axis=1)
            sigma = MAD_TO_SIGMA * np.nanmedian(np.abs(history - median[:, None]), axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            alpha = np.fmax((sigma**2 - median) / median**2, params.min_dispersion)
            mu = median * own[:, weekday[t]]
            tested = (
                (known >= params.min_history_days)
                & np.isfinite(values[:, t])
                & (mu >= params.min_expected_streams)
            )
        if not tested.any():
            continue
        idx = rows[tested]
        upper, lower = negative_binomial_tails(values[idx, t], mu[idx], alpha[idx])
        p = np.minimum(1.0, 2 * np.minimum(upper, lower))
        q = benjamini_hochberg(p)
        expected[idx, t], dispersion[idx, t] = mu[idx], alpha[idx]
        p_value[idx, t], q_value[idx, t] = p, q
        significant = q <= params.fdr_q
        up = upper < lower
        kind[idx[significant & up], t] = SPIKE
        kind[idx[significant & ~up], t] = DROP
        for i, going_up in zip(idx[significant], up[significant], strict=True):
            day_factors = own[i, weekday]
            if _stays_beyond(values[i], day_factors, median[i], alpha[i], t, going_up, params):
                kind[i, t] = LEVEL_SHIFT
                restart[i] = t
                if parents is not None:
                    restart[parents == i] = t
    return DayScores(
        entity_ids=entity_ids,
        days=days,
        values=values,
        expected=expected,
        dispersion=dispersion,
        p_value=p_value,
        q_value=q_value,
        kind=kind,
    )


def _stays_beyond(
    values: np.ndarray,
    factors: np.ndarray,
    median: float,
    alpha: float,
    t: int,
    going_up: bool,
    params: AnomalyParams,
) -> bool:
    """Whether the days after ``t`` all stay beyond ``t``'s baseline on the same side.

    ``factors``: the weekday factor of every day, as of day ``t``.
    """
    import numpy as np

    after = np.arange(t + 1, t + params.shift_confirm_days)
    if not len(after) or after[-1] >= len(values) or not np.isfinite(values[after]).all():
        return False  # not confirmable yet: the day reads as a spike or drop for now
    mu = median * factors[after]
    upper, lower = negative_binomial_tails(values[after], mu, np.full(len(after), alpha))
    tail = upper if going_up else lower
    return bool((tail <= params.shift_confirm_p).all())


def streaming_anomalies(
    artist_daily_metrics: pa.Table | pd.DataFrame,
    fct_streams_daily: pa.Table | pd.DataFrame | None = None,
    dim_track: pa.Table | pd.DataFrame | None = None,
    params: AnomalyParams = DEFAULT_PARAMS,
    *,
    as_of: date | None = None,
    score_from: date | None = None,
) -> pa.Table:
    """Incidents of daily streams per artist and, given the fact table, per track.

    ``artist_daily_metrics``: (date, artist_id, artist_name, streams) at least.
    ``fct_streams_daily``: (date, track_id, streams), summed over countries per track.
    ``dim_track``: (track_id, track_name, primary_artist_id), for names and the artist link.
    ``as_of``: the last day judged (default: the latest date given); ``score_from``: the first
    day reported (default: every day). Rows are sorted by the table's key (level, entity_id,
    date).
    """
    import numpy as np
    import pyarrow as pa

    from spotify_agent_assets.analytics.baseline import trailing_weekday_factors

    metrics = as_frame(
        artist_daily_metrics,
        "artist_daily_metrics",
        ["date", "artist_id", "artist_name", "streams"],
        keys=("date", "artist_id"),
    )
    facts = None
    if fct_streams_daily is not None:
        facts = as_frame(
            fct_streams_daily,
            "fct_streams_daily",
            ["date", "track_id", "streams"],
            keys=("date", "track_id"),
        )
    if as_of is not None:
        metrics = metrics[metrics["date"] <= as_of]
        facts = facts[facts["date"] <= as_of] if facts is not None else None
    dates = list(metrics["date"]) + (list(facts["date"]) if facts is not None else [])
    if not dates:
        return arrow_schema(STREAMING_ANOMALIES).empty_table()
    days = calendar(min(dates), max(dates))

    artists = to_matrix(metrics, "artist_id", "streams", days=days, zero_after_first=False)

    def level_factors(values: np.ndarray) -> np.ndarray:
        return trailing_weekday_factors(
            values, days, window_days=params.window_days, min_level=params.min_expected_streams
        )

    blocks, factor_blocks = [artists.values], [level_factors(artists.values)]
    names: dict[str, str] = latest_value(metrics, "artist_id", "artist_name")
    track_artist: dict[str, str] = {}
    track_ids: list[str] = []
    if facts is not None and len(facts):
        tracks = to_matrix(facts, "track_id", "streams", days=days, zero_after_first=True)
        track_ids = tracks.entity_ids
        blocks.append(tracks.values)
        factor_blocks.append(level_factors(tracks.values))
        if dim_track is not None:
            catalogue = as_frame(
                dim_track, "dim_track", ["track_id", "track_name", "primary_artist_id"]
            )
            names.update(latest_value(catalogue, "track_id", "track_name"))
            track_artist = latest_value(catalogue, "track_id", "primary_artist_id")
    entity_ids = artists.entity_ids + track_ids
    artist_row = {a: i for i, a in enumerate(artists.entity_ids)}
    parents = np.array(
        [-1] * len(artists.entity_ids)
        + [artist_row.get(track_artist.get(t, ""), -1) for t in track_ids],
        dtype=np.int64,
    )
    level_of_row = np.repeat(np.arange(len(blocks)), [len(block) for block in blocks])
    scores = score_days(
        np.vstack(blocks), factor_blocks, level_of_row, days, entity_ids, params, parents
    )
    levels = ["artist"] * len(artists.entity_ids) + ["track"] * len(track_ids)
    rows = _incidents(scores, levels, names, track_artist, params, score_from or days[0])
    rows.sort(key=lambda r: (r["level"], r["entity_id"], r["date"]))
    return pa.Table.from_pylist(rows, schema=arrow_schema(STREAMING_ANOMALIES))


_KIND_NAMES = {SPIKE: "spike", DROP: "drop", LEVEL_SHIFT: "level_shift"}


def _incidents(
    scores: DayScores,
    levels: list[str],
    names: dict[str, str],
    track_artist: dict[str, str],
    params: AnomalyParams,
    score_from: date,
) -> list[dict[str, object]]:
    """One row per incident; an artist's tracks that went the same way are listed under it."""
    import numpy as np

    method = params.method()
    found: dict[tuple[str, str, date], dict[str, object]] = {}
    explained: list[tuple[int, int]] = []
    for i, j in zip(*np.nonzero(scores.kind), strict=True):
        day = scores.days[j]
        if day < score_from:
            continue
        entity, level = scores.entity_ids[i], levels[i]
        if level == "track":
            explained.append((i, j))
            continue
        found[("artist", entity, day)] = _row(scores, i, j, level, entity, entity, names, method)
    for i, j in explained:
        entity, day = scores.entity_ids[i], scores.days[j]
        artist = track_artist.get(entity)
        direction = _direction(scores, i, j)
        incident = found.get(("artist", artist, day)) if artist is not None else None
        if incident is not None and incident["direction"] == direction:
            incident["track_ids"].append(entity)
            incident["track_names"].append(names.get(entity) or entity)
            continue
        found[("track", entity, day)] = _row(scores, i, j, "track", entity, artist, names, method)
    return list(found.values())


def _direction(scores: DayScores, i: int, j: int) -> str:
    return "up" if scores.values[i, j] > scores.expected[i, j] else "down"


def _row(
    scores: DayScores,
    i: int,
    j: int,
    level: str,
    entity: str,
    artist: str | None,
    names: dict[str, str],
    method: str,
) -> dict[str, object]:
    return {
        "level": level,
        "entity_id": entity,
        "entity_name": names.get(entity),
        "artist_id": artist,
        "date": scores.days[j],
        "metric": "streams",
        "kind": _KIND_NAMES[int(scores.kind[i, j])],
        "direction": _direction(scores, i, j),
        "value": float(scores.values[i, j]),
        "expected": round(float(scores.expected[i, j]), 2),
        "dispersion": round(float(scores.dispersion[i, j]), 5),
        "p_value": float(scores.p_value[i, j]),
        "q_value": float(scores.q_value[i, j]),
        "track_ids": [],
        "track_names": [],
        "method": method,
    }
