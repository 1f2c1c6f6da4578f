"""The days a dbt run of the daily models builds, handed to dbt through the warehouse.

The macros of ``dbt_project/macros/run_window.sql`` read one row of ``dbt_run.run_window``
when they compile a node, so the SQL dbt runs carries the dates as literals. Dagster writes the
row under the warehouse writer lock before dbt starts and removes it once dbt has exited, both
in the same lock, so no other run sees it. A window passed as dbt vars instead changed dbt's
parse inputs on every run: each hourly run re-parsed the whole project.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from spotify_agent_assets.lake.warehouse import quote_identifier

if TYPE_CHECKING:
    import duckdb

RUN_WINDOW_SCHEMA = "dbt_run"
RUN_WINDOW_TABLE = "run_window"
RUN_WINDOW_RELATION = f"{quote_identifier(RUN_WINDOW_SCHEMA)}.{quote_identifier(RUN_WINDOW_TABLE)}"


@dataclass(frozen=True)
class RunWindow:
    """Inclusive first and last day of a run of the daily models."""

    min_date: dt.date
    max_date: dt.date

    def __post_init__(self) -> None:
        if self.min_date > self.max_date:
            raise ValueError(f"run window min_date {self.min_date} is after {self.max_date}")

    @classmethod
    def of_partitions(cls, start: dt.datetime, end: dt.datetime) -> RunWindow:
        """The days of a partition time window ``[start, end)``: daily partitions start and end
        at midnight, so the last day is the one before ``end``."""
        if end <= start:
            raise ValueError(f"empty partition time window: start {start} is not before end {end}")
        return cls(start.date(), (end - dt.timedelta(microseconds=1)).date())

    @property
    def is_one_day(self) -> bool:
        return self.min_date == self.max_date


def write_run_window(connection: duckdb.DuckDBPyConnection, window: RunWindow | None) -> None:
    """Make ``window`` the one the dbt macros read; ``None`` removes it (every day).

    The caller holds the warehouse writer lock (dbt will open the file after it).
    """
    if window is None:
        connection.execute(f"DROP TABLE IF EXISTS {RUN_WINDOW_RELATION}")
        return
    connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(RUN_WINDOW_SCHEMA)}")
    connection.execute(
        f"CREATE OR REPLACE TABLE {RUN_WINDOW_RELATION} AS "
        "SELECT ?::DATE AS min_date, ?::DATE AS max_date",
        [window.min_date, window.max_date],
    )
