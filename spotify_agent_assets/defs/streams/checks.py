"""Asset checks on the stream tables as stored in the lake: keys and schema contracts.

The key check of ``stream_events`` reads the run's days and probes the rest of the history for
their event ids in DuckDB, so it stays cheap as years of partitions accumulate.
"""

from spotify_agent_assets.defs.table_checks import build_table_checks
from spotify_agent_assets.streams.tables import STREAM_EVENTS, STREAM_QUARANTINE, STREAMS_GROUP

STREAM_TABLE_CHECKS = [
    build_table_checks(STREAMS_GROUP, contract) for contract in (STREAM_EVENTS, STREAM_QUARANTINE)
]
