"""What an incrementally kept analytics table's previous run left, read from the instance.

``artist_trends`` and ``streaming_anomalies`` recompute only their recent days
(``analytics.scoring_window``); which days depends on the previous run's ``as_of`` (recorded in
its materialization metadata), on the stored table (kept rows) and on the daily partitions the
dbt models rebuilt since (a late file). Everything here is read from the Dagster instance and the
lake, in amounts that follow the runs made, not the history.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import dagster as dg
import pyarrow as pa
from dagster import EventLogRecord

from spotify_agent_assets.analytics.tables import ANALYTICS_GROUP
from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.lake.table_contract import TableContract, schema_differences

REBUILT_PAGE = 1000  # materialization records fetched per call


@dataclass(frozen=True)
class PreviousRun:
    """What the asset's previous run left: its ``as_of``, its stored table, upstream rebuilds."""

    as_of: date | None  # None: compute every day
    table: pa.Table | None
    rebuilt_from: date | None  # earliest day of the daily models rebuilt since that run


def previous_run(
    context: dg.AssetExecutionContext,
    lake: LakeResource,
    contract: TableContract,
    upstream: Sequence[dg.AssetKey],
) -> PreviousRun:
    """The previous run's ``as_of``, the stored table and the days rebuilt upstream since.

    All days are computed when there is no previous run, no stored table, or the stored table
    no longer matches the contract (its columns changed: its rows cannot be kept). The days
    rebuilt since come from the instance's materializations of the daily partitions recorded
    after the previous run's: as many as were made, not the history.
    """
    everything = PreviousRun(as_of=None, table=None, rebuilt_from=None)
    record = latest_materialization(context, context.asset_key)
    previous_as_of = recorded_as_of(record)
    parquet_lake = lake.lake()
    if record is None or previous_as_of is None:
        return everything
    if not parquet_lake.exists(ANALYTICS_GROUP, contract.name):
        return everything
    stored = parquet_lake.read(ANALYTICS_GROUP, contract.name)
    differences = schema_differences(contract, stored.schema)
    if differences:
        context.log.info(
            f"stored {contract.name} differs from its contract ({'; '.join(differences)}): "
            "computing every day again"
        )
        return everything
    rebuilt: list[date] = []
    for key in upstream:
        cursor = None
        while True:
            found = context.instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=key, after_storage_id=record.storage_id),
                limit=REBUILT_PAGE,
                cursor=cursor,
                ascending=True,
            )
            rebuilt += [
                date.fromisoformat(r.partition_key) for r in found.records if r.partition_key
            ]
            if not found.has_more:
                break
            cursor = found.cursor
    return PreviousRun(as_of=previous_as_of, table=stored, rebuilt_from=min(rebuilt, default=None))


def latest_materialization(
    context: dg.AssetExecutionContext, asset: dg.AssetKey
) -> EventLogRecord | None:
    records = context.instance.fetch_materializations(asset, limit=1).records
    return records[0] if records else None


def recorded_as_of(record: EventLogRecord | None) -> date | None:
    """The ``as_of`` a materialization recorded, if any."""
    materialization = record.asset_materialization if record is not None else None
    recorded = materialization.metadata.get("as_of") if materialization is not None else None
    return None if recorded is None else date.fromisoformat(str(recorded.value))
