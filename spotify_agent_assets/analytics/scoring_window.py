"""Which days a run of an analytics table computes, which it reads, and which stored rows it keeps.

The analytics tables are recomputed as of the last complete day (``as_of``), never the day in
progress, over a bounded window, so a run's cost does not grow with history:

- ``score_from``: the first day the run (re)computes. The day after the previous run's
  ``as_of``, or ``rescore_days`` (7) before ``as_of`` when that is earlier (a level shift is
  confirmed by the days after it, a breakout by the 2 days after it, so the last week is
  always computed again), or the earliest day the daily models rebuilt since the previous run
  when that is earlier still (a late file three weeks back changes that day's figures, and
  every day after it that looks back at it). Without a previous run (or when the stored table
  no longer has the contract's columns): the first day of data, once.
- ``read_from``: ``score_from`` minus what a computed day looks back at (``lookback_days``:
  56 for both tables: the trends' 28-day growth compares 28 days with the 28 before, and an
  anomaly baseline's 28 days may hold a change point that must itself be judged on its own 28
  days). The SQL reads only ``read_from .. as_of``; DuckDB prunes the rest by date.
- Stored rows before ``score_from`` are kept as they were computed; the run replaces the rest
  (``merge_rows``). So each table still covers all history, incrementally by day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from spotify_agent_assets.lake.table_contract import TableContract, arrow_schema

if TYPE_CHECKING:
    import pyarrow as pa

RESCORE_DAYS = 7


@dataclass(frozen=True)
class ScoringWindow:
    as_of: date  # the last complete day
    score_from: date  # the first day (re)computed
    read_from: date  # the first day read

    @property
    def scored_days(self) -> int:
        return (self.as_of - self.score_from).days + 1

    @property
    def read_days(self) -> int:
        return (self.as_of - self.read_from).days + 1


def scoring_window(
    as_of: date,
    first_day: date | None,
    previous_as_of: date | None,
    *,
    lookback_days: int,
    rescore_days: int = RESCORE_DAYS,
    rebuilt_from: date | None = None,
) -> ScoringWindow:
    """The window of one run (see the module docstring).

    ``first_day``: the data's first day, or None when not looked up (a later run need not
    scan the history for it; the read then simply finds nothing before it).
    ``rebuilt_from``: the earliest day the daily models rebuilt since the previous run.
    """
    if previous_as_of is None:
        if first_day is None:
            raise ValueError("a first run (no previous as_of) needs the data's first_day")
        score_from = first_day
    else:
        score_from = min(
            previous_as_of + timedelta(days=1), as_of - timedelta(days=rescore_days - 1)
        )
        if rebuilt_from is not None:
            score_from = min(score_from, rebuilt_from)
    read_from = score_from - timedelta(days=lookback_days)
    if first_day is not None:
        if first_day > as_of:
            raise ValueError(f"first_day {first_day} is after as_of {as_of}")
        score_from, read_from = max(score_from, first_day), max(read_from, first_day)
    return ScoringWindow(as_of=as_of, score_from=score_from, read_from=read_from)


def merge_rows(
    contract: TableContract, previous: pa.Table | None, computed: pa.Table, score_from: date
) -> pa.Table:
    """``previous``'s rows before ``score_from`` and ``computed``, sorted by the contract's key."""
    import pyarrow as pa
    import pyarrow.compute as pc

    schema = arrow_schema(contract)
    parts = [computed.select(schema.names).cast(schema)]
    if previous is not None and previous.num_rows:
        kept = previous.filter(pc.less(previous["date"], pa.scalar(score_from, pa.date32())))
        parts.insert(0, kept.select(schema.names).cast(schema))
    return pa.concat_tables(parts).sort_by([(name, "ascending") for name in contract.key])
