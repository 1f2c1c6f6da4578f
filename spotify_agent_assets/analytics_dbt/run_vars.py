"""The dbt vars a Dagster run passes: which warehouse file, and for daily models which days."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path


def window_vars(start: dt.datetime, end: dt.datetime) -> dict[str, str]:
    """``min_date`` / ``max_date`` (inclusive) for a partition time window ``[start, end)``.

    Daily partitions start and end at midnight, so the last day is the one before ``end``.
    """
    if end <= start:
        raise ValueError(f"empty partition time window: start {start} is not before end {end}")
    last = end - dt.timedelta(microseconds=1)
    return {"min_date": start.date().isoformat(), "max_date": last.date().isoformat()}


def dbt_vars_arg(warehouse_path: Path, extra: dict[str, str] | None = None) -> str:
    """The ``--vars`` value: the warehouse file (profiles.yml reads ``warehouse_path``) and any
    window. Passed on the command line, not through the environment, so the file dbt writes is
    always the one whose lock the run holds."""
    return json.dumps({"warehouse_path": str(warehouse_path), **(extra or {})}, sort_keys=True)
