"""Vectorised validation of raw landing batches against stream event v1: the entry point.

``validate_batch`` picks one of two paths that give the same result. Typed batches (Parquet)
are screened value by value (``value_screen``); the rest, and the rows the screen refuses,
go through one DuckDB query (``validation_query``, its SQL generated in ``validation_sql``)
that turns every failed check into a specific reason, so a record with two problems reports
both. ``validation_result`` holds what both paths hand back, the rejected records rendered
as redacted JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spotify_agent_assets.streams.raw_batch import RawBatch
from spotify_agent_assets.streams.validation_query import connect, validate_rows
from spotify_agent_assets.streams.validation_result import ValidationResult
from spotify_agent_assets.streams.value_screen import can_screen_by_value, screen_by_value

if TYPE_CHECKING:
    import duckdb


def validate_batch(
    batch: RawBatch, *, con: duckdb.DuckDBPyConnection | None = None
) -> ValidationResult:
    """Split a raw batch into valid v1 rows and rejected records with reasons.

    Extended-history exports carry no event id (ingestion derives one), so ``event_id`` is
    only required for the v1 formats. Typed batches (Parquet's, whose repetitive text the
    reader delivers dictionary-encoded) are checked value by value (``screen_by_value``);
    the rest go through the row-by-row query. Both give the same result.
    """
    require_event_id = batch.source_format != "extended_history"
    own = con is None
    con = connect() if con is None else con
    try:
        if can_screen_by_value(batch.table.schema):
            screened = screen_by_value(batch, require_event_id=require_event_id, con=con)
            if screened is not None:
                return screened
        return validate_rows(batch, require_event_id=require_event_id, con=con)
    finally:
        if own:
            con.close()
