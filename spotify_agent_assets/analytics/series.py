"""Long tables (one row per entity and day) to dense ``entities x days`` matrices and back.

The detectors work on matrices: a calendar with no holes makes "the 28 days before" a slice
instead of a date search, and vectorises over thousands of tracks. What a missing cell means
differs by source, so it is the caller's choice (see ``to_matrix``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa


@dataclass(frozen=True)
class DailyMatrix:
    """Values of many entities over one unbroken calendar (NaN where unknown)."""

    entity_ids: list[str]
    days: list[date]
    values: np.ndarray  # float64, entities x days


def as_frame(
    table: pa.Table | pd.DataFrame, name: str, columns: list[str], keys: tuple[str, ...] = ()
) -> pd.DataFrame:
    """A pandas copy of ``table`` with ``date`` as datetime.date.

    Fails naming the input when a column in ``columns`` is missing or a ``keys`` column has
    NULLs: a row without its date or id cannot be placed on any series.
    """
    import pandas as pd
    import pyarrow as pa

    frame = table.to_pandas() if isinstance(table, pa.Table) else pd.DataFrame(table)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{name} lacks column(s) {', '.join(missing)}; it has {', '.join(map(str, frame))}"
        )
    for key in keys:
        nulls = int(frame[key].isna().sum())
        if nulls:
            raise ValueError(f"{name} has {nulls} row(s) with NULL {key}; expected none")
    frame = frame.copy()
    if "date" in frame.columns:
        frame["date"] = pd.to_datetime(frame["date"]).dt.date
    return frame


def calendar(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def to_matrix(
    frame: pd.DataFrame,
    entity: str,
    value: str,
    *,
    days: list[date],
    zero_after_first: bool,
    entity_ids: list[str] | None = None,
) -> DailyMatrix:
    """Pivot ``frame`` (entity, date, value) onto ``days``.

    A missing cell is unknown (NaN), except with ``zero_after_first``: then a missing cell after
    the entity's first row, on a day for which ``frame`` has any row at all, is 0. That is what
    an absent row means in a fact table that only holds days with plays (a track nobody played),
    while days before an entity's first row (not released yet) and days with no data at all (an
    ingestion gap) stay unknown, so they can neither make nor hide an anomaly.

    ``entity_ids`` fixes the rows (and their order); by default, the sorted ids in ``frame``.
    """
    import numpy as np

    if entity_ids is None:
        entity_ids = sorted(frame[entity].dropna().unique().tolist())
    entity_index = {e: i for i, e in enumerate(entity_ids)}
    day_index = {d: j for j, d in enumerate(days)}
    values = np.full((len(entity_ids), len(days)), np.nan)
    rows = frame[[entity, "date", value]].dropna(subset=[entity])
    rows = rows[rows["date"].isin(day_index) & rows[entity].isin(entity_index)]
    grouped = rows.groupby([entity, "date"], sort=False)[value].sum(min_count=1)
    ei = np.array([entity_index[e] for e, _ in grouped.index], dtype=np.int64)
    dj = np.array([day_index[d] for _, d in grouped.index], dtype=np.int64)
    values[ei, dj] = grouped.to_numpy(dtype=np.float64)
    if zero_after_first and len(entity_ids):
        seen = np.zeros(len(days), dtype=bool)
        seen[dj] = True
        first = np.full(len(entity_ids), len(days))
        np.minimum.at(first, ei, dj)
        after_first = np.arange(len(days))[None, :] >= first[:, None]
        fill = after_first & seen[None, :] & np.isnan(values)
        values[fill] = 0.0
    return DailyMatrix(entity_ids=entity_ids, days=days, values=values)


def latest_value(frame: pd.DataFrame, key: str, column: str) -> dict[Any, Any]:
    """``column``'s latest non-null value per ``key`` (names change; the newest one wins)."""
    known = frame.dropna(subset=[key, column])
    if "date" in known.columns:
        known = known.sort_values("date", kind="stable")
    return dict(zip(known[key], known[column], strict=True))
