"""The ``ml`` group: what recommendation models learn from (``interaction_matrix``).

Methods live in :mod:`spotify_agent_assets.recommend`; this module wires them to Dagster.
Tables are stored by the lake IO manager (``<lake>/ml/<asset>/``, views ``ml.<asset>``).
"""

import datetime as dt
from typing import Any

import dagster as dg
import pyarrow as pa

from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.defs.table_checks import build_table_checks
from spotify_agent_assets.defs.table_metadata import contract_metadata
from spotify_agent_assets.recommend.tables import INTERACTION_MATRIX, ML_GROUP

ML_KINDS = {"python", "duckdb", "parquet"}
STREAM_EVENTS = dg.AssetKey("stream_events")
SPOTIFY_TRACKS = dg.AssetKey("spotify_tracks")

# The last closed UTC day with events: the day in progress is never read.
LAST_CLOSED_DAY_SQL = "SELECT max(date) FROM streams.stream_events WHERE date < ?"


@dg.asset(
    group_name=ML_GROUP,
    kinds=ML_KINDS,
    deps=[STREAM_EVENTS, SPOTIFY_TRACKS],
    metadata=contract_metadata(INTERACTION_MATRIX),
)
def interaction_matrix(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.Output:
    """Implicit feedback per pseudonymous listener and track, as of the last closed UTC day.

    From ``streams.stream_events`` (every day up to ``as_of``) and the tracks' durations in
    ``spotify.spotify_tracks``: each play counts as much as was heard of the track (at most
    1), less a skip penalty when it reported a skip (a null skip flag counts as no answer),
    halved every 30 days of age; a pair never goes below 0. Carries a time split (pairs first
    played in the last 7 days are ``validation``, ``train_weight`` is the weight from the plays
    before them) and a per-listener hold-out (20% of the tracks of listeners with 5 or more).
    Formula and splits: ``spotify_agent_assets.recommend.interaction_matrix``.
    """
    import duckdb

    from spotify_agent_assets.recommend.interaction_matrix import (
        InteractionSettings,
        build_interaction_matrix,
    )

    warehouse = lake.warehouse()
    if not warehouse.path.exists():
        raise dg.Failure(
            f"warehouse {warehouse.path} does not exist; materialize stream_events and "
            "spotify_tracks first",
            allow_retries=False,
        )
    settings = InteractionSettings()
    today = dt.datetime.now(dt.UTC).date()
    with warehouse.reader() as connection:
        try:
            (as_of,) = connection.execute(LAST_CLOSED_DAY_SQL, [today]).fetchone()
            if as_of is None:
                raise dg.Failure(
                    f"streams.stream_events has no closed day before {today} (UTC): the "
                    "matrix is built as of the last day that has ended",
                    allow_retries=False,
                )
            table = build_interaction_matrix(connection, as_of, settings)
        except (duckdb.CatalogException, duckdb.BinderException) as error:
            raise dg.Failure(
                f"streams.stream_events or spotify.spotify_tracks is missing or lacks a "
                f"column: {error}. Materialize them first.",
                allow_retries=False,
            ) from error
    metadata = _summary(table, as_of, settings.validation_days)
    context.log.info(
        f"{table.num_rows:,} listener-track pairs of {metadata['listeners'].value:,} listeners "
        f"as of {as_of}"
    )
    return dg.Output(table, metadata=metadata)


def _summary(table: pa.Table, as_of: dt.date, validation_days: int) -> dict[str, Any]:
    import pyarrow.compute as pc

    def count(column: str, value: str) -> int:
        return int(pc.sum(pc.equal(table[column], value)).as_py() or 0)

    weights = table["weight"]
    return {
        "as_of": dg.MetadataValue.text(as_of.isoformat()),
        "listeners": dg.MetadataValue.int(len(pc.unique(table["listener_key"]))),
        "tracks": dg.MetadataValue.int(len(pc.unique(table["track_id"]))),
        "pairs": dg.MetadataValue.int(table.num_rows),
        "pairs_with_weight": dg.MetadataValue.int(int(pc.sum(pc.greater(weights, 0)).as_py() or 0)),
        "validation_days": dg.MetadataValue.int(validation_days),
        "time_split_validation_pairs": dg.MetadataValue.int(count("time_split", "validation")),
        "holdout_pairs": dg.MetadataValue.int(count("holdout_split", "holdout")),
        "weight_median": dg.MetadataValue.float(
            float(pc.approximate_median(weights).as_py() or 0.0)
        ),
    }


ML_ASSETS: list[dg.AssetsDefinition] = [interaction_matrix]
ML_TABLE_CHECKS = [build_table_checks(ML_GROUP, INTERACTION_MATRIX)]
