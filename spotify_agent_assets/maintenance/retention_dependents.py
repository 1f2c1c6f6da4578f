"""What retention rebuilds after deleting old listening days: the tables derived from them.

Decided: every dbt model built per day from the events (the ``daily``-tagged incremental
models: ``fct_streams_daily``, ``artist_daily_metrics``, ``market_breakdown``,
``int_track_completions_daily``, ``int_track_listener_first_seen``) loses its days before the
cutoff too, although the marts hold no listener id. Why:

- ``track_performance`` is summed from ``fct_streams_daily`` and ``int_track_completions_daily``
  and counts listeners from ``int_track_listener_first_seen``; with the marts' old days kept its
  plays would cover all history and its listeners only the retained days, figures of two
  different periods in one row, and it would still hold data of the deleted days;
- a daily model is a function of the events: an old day kept without its events could never
  be rebuilt or checked again, and any windowless or ``--full-refresh`` run would drop it;
- a day's track-by-country mart rows can describe one listener (``listeners`` = 1).

The Python analytics (``artist_trends``, ``streaming_anomalies``, the weekly report) keep the
rows they computed: per artist and track, never per listener, and incremental by design.

Then ``int_track_listener_first_seen`` is rebuilt whole (a pair first seen before the cutoff
and played again after it gets its first retained day) and ``track_performance`` with it, by
``dbt run`` without a run window; ``ml.interaction_matrix`` is recomputed as of the same day as
the stored one when it holds plays of deleted days.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import tempfile
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spotify_agent_assets.lake.warehouse import (
    Warehouse,
    exclusive_warehouse_lock,
    quote_identifier,
)

DAILY_TAG = "daily"
# Rebuilt whole from the retained events (a first day moves when older plays are deleted).
LISTENER_MODELS = ("int_track_listener_first_seen", "track_performance")
ML_GROUP = "ml"
INTERACTION_MATRIX = "interaction_matrix"


class DbtRebuildError(RuntimeError):
    """``dbt run`` of the listener models failed; the message carries dbt's output."""


@dataclass(frozen=True)
class DailyModel:
    """A dbt model kept per day (the asset key is its name)."""

    name: str
    schema: str
    alias: str

    @property
    def relation(self) -> str:
        return f"{quote_identifier(self.schema)}.{quote_identifier(self.alias)}"


@dataclass(frozen=True)
class MatrixRebuild:
    as_of: dt.date
    pairs_before: int
    pairs_after: int
    listeners_before: int
    listeners_after: int


def daily_models(manifest: Mapping[str, Any]) -> list[DailyModel]:
    """The incremental ``daily`` models of the dbt manifest, by name."""
    found = [
        DailyModel(node["name"], node["schema"], node["alias"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and DAILY_TAG in node.get("tags", [])
        and node["config"].get("materialized") == "incremental"
    ]
    return sorted(found, key=lambda model: model.name)


def load_manifest(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def days_before(
    warehouse: Warehouse, models: list[DailyModel], cutoff: dt.date
) -> dict[str, list[str]]:
    """The days before ``cutoff`` that each daily model (present in the warehouse) holds."""
    if not warehouse.path.exists():
        return {}
    found = {}
    with warehouse.reader() as connection:
        existing = _existing_relations(connection)
        for model in models:
            if (model.schema, model.alias) in existing:
                rows = connection.execute(
                    f"SELECT DISTINCT date FROM {model.relation} WHERE date < ? ORDER BY date",  # noqa: S608 -- quoted relation; cutoff bound
                    [cutoff],
                ).fetchall()
                if rows:
                    found[model.name] = [day.isoformat() for (day,) in rows]
    return found


def listener_models_hold_old_days(warehouse: Warehouse, cutoff: dt.date) -> bool:
    """Whether ``track_performance`` or the first-seen table still counts plays before
    ``cutoff`` (true after a run killed between the deletes and the dbt rebuild, too)."""
    if not warehouse.path.exists():
        return False
    checks = {
        ("intermediate", "int_track_listener_first_seen"): "min(date)",
        ("analytics", "track_performance"): "min(first_play_date)",
    }
    with warehouse.reader() as connection:
        existing = _existing_relations(connection)
        for (schema, table), expression in checks.items():
            if (schema, table) not in existing:
                continue
            relation = f"{quote_identifier(schema)}.{quote_identifier(table)}"
            (first,) = connection.execute(f"SELECT {expression} FROM {relation}").fetchone()  # noqa: S608 -- constant expression, quoted relation
            if first is not None and first < cutoff:
                return True
    return False


def prune_and_rebuild(
    warehouse: Warehouse,
    models: list[DailyModel],
    cutoff: dt.date,
    project_dir: Path,
    dbt_executable: str,
) -> dict[str, int]:
    """Delete the rows before ``cutoff`` from ``models`` and rebuild ``LISTENER_MODELS`` with
    dbt, all under the warehouse writer lock; returns the rows deleted per model.

    The deletes commit first: if dbt then fails, the old days are still gone from every daily
    model and ``listener_models_hold_old_days`` says the rebuild is owed, so a re-run does it.
    """
    from spotify_agent_assets.analytics_dbt.run_window import write_run_window

    deleted: dict[str, int] = {}
    with exclusive_warehouse_lock(warehouse.lock_path):
        with closing(warehouse.connect(read_only=False)) as connection:
            existing = _existing_relations(connection)
            connection.execute("BEGIN TRANSACTION")
            for model in models:
                if (model.schema, model.alias) not in existing:
                    continue
                (count,) = connection.execute(
                    f"DELETE FROM {model.relation} WHERE date < ?",  # noqa: S608 -- quoted relation; cutoff bound
                    [cutoff],
                ).fetchone()
                deleted[model.name] = int(count)
            # No window: the listener models are built from every retained day.
            write_run_window(connection, None)
            connection.execute("COMMIT")
        _dbt_run(warehouse.path, project_dir, dbt_executable, LISTENER_MODELS)
    return deleted


def rebuild_interaction_matrix(warehouse: Warehouse, cutoff: dt.date) -> MatrixRebuild | None:
    """Recompute ``ml.interaction_matrix`` as of its stored ``as_of`` from the retained events,
    when it holds a pair first played before ``cutoff``; None when there is nothing to do."""
    import pyarrow.compute as pc

    from spotify_agent_assets.recommend.interaction_matrix import build_interaction_matrix

    lake = warehouse.lake
    if not lake.exists(ML_GROUP, INTERACTION_MATRIX):
        return None
    stored = lake.read(ML_GROUP, INTERACTION_MATRIX)
    first = pc.min(stored["first_played"]).as_py()
    if first is None or first >= cutoff:
        return None
    # The newest play in the matrix is its as_of (the last closed day with events).
    as_of = pc.max(stored["last_played"]).as_py()
    with warehouse.reader() as connection:
        table = build_interaction_matrix(connection, as_of)
    lake.write(table, ML_GROUP, INTERACTION_MATRIX)
    warehouse.register(ML_GROUP, INTERACTION_MATRIX, partitioned=False)
    return MatrixRebuild(
        as_of=as_of,
        pairs_before=stored.num_rows,
        pairs_after=table.num_rows,
        listeners_before=pc.count_distinct(stored["listener_key"]).as_py(),
        listeners_after=pc.count_distinct(table["listener_key"]).as_py(),
    )


def _existing_relations(connection: Any) -> set[tuple[str, str]]:
    rows = connection.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_type = 'BASE TABLE'"
    ).fetchall()
    return {(schema, table) for schema, table in rows}


def _dbt_run(
    warehouse_path: Path, project_dir: Path, dbt_executable: str, models: tuple[str, ...]
) -> None:
    """``dbt run`` of ``models`` on ``warehouse_path``; the caller holds the writer lock."""
    from spotify_agent_assets.analytics_dbt.project import DBT_ENV
    from spotify_agent_assets.analytics_dbt.run_vars import dbt_vars_arg

    with tempfile.TemporaryDirectory(prefix="retention-dbt-") as scratch:
        command = [
            dbt_executable,
            "run",
            "--select",
            *models,
            "--vars",
            dbt_vars_arg(warehouse_path),
            "--project-dir",
            str(project_dir),
            "--profiles-dir",
            str(project_dir),
            "--target-path",
            scratch,
            "--log-path",
            scratch,
        ]
        result = subprocess.run(  # noqa: S603 -- fixed dbt argv, no shell
            command,
            cwd=project_dir,
            env={**os.environ, **DBT_ENV},
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        raise DbtRebuildError(
            f"dbt run --select {' '.join(models)} on {warehouse_path} failed "
            f"(exit {result.returncode}):\n{result.stdout[-4000:]}{result.stderr[-2000:]}".rstrip()
        )
