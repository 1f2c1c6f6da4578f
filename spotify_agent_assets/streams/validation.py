"""Vectorised validation of raw landing batches against stream event v1.

All checks run as one DuckDB query over the Arrow batch: a first stage normalises each column
(trim, parse timestamps with their offset to UTC, extract track ids from URIs and URLs), a
second stage turns every failed check into a specific reason with ``CASE`` and joins them, so a
record with two problems reports both. Python only touches the (few) rejected records, to
render them as redacted JSON. The SQL is generated per column type because Parquet producers
send typed columns (a real timestamp needs no parsing, which matters at 10M rows).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from spotify_agent_assets.streams.event_schema import (
    BOOL_COLUMNS,
    ISO_3166_ALPHA2,
    MAX_MS_PLAYED,
    UNKNOWN_COUNTRY,
    V1_COLUMNS,
    v1_schema,
)
from spotify_agent_assets.streams.readers import MAX_RAW_CHARS, REDACTED, RawBatch

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

TRACK_ID_PATTERN = "[0-9A-Za-z]{22}"
# spotify:track:<id>, and open.spotify.com links (optionally localised, with query strings).
TRACK_REF_PATTERN = (
    r"^(?:spotify:track:|https?://open\.spotify\.com/(?:intl-[A-Za-z_-]+/)?track/)"
    r"([0-9A-Za-z]{22})(?:[?#].*)?$"
)
# Contract: ISO-8601 with seconds and an explicit offset. A naive time is refused rather than
# guessed as UTC, because a wrong guess silently moves plays across the daily partition.
TS_WITH_OFFSET_PATTERN = (
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}(:?\d{2})?)"
)
TS_NAIVE_PATTERN = r"\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?"
REASON_VALUE_CHARS = 80
# DuckDB parallelises an Arrow scan by record batch.
SCAN_CHUNK_ROWS = 122_880
TYPED_COLUMNS = ("ts", "ms_played", *BOOL_COLUMNS)


@dataclass(frozen=True)
class ValidationResult:
    """``valid`` in the v1 types (raw listener ids still present; text columns may stay
    dictionary-encoded); ``rejected`` has ``line``, ``reason``, ``listener_id`` (raw, for
    the caller to pseudonymize) and ``raw`` (the record as redacted JSON text).
    ``event_hashes`` is a 64-bit hash of each valid row's ``event_id``, so de-duplication
    can compare integers instead of strings."""

    valid: pa.Table
    rejected: pa.Table
    event_hashes: pa.Array | None = None


@cache
def rejected_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("line", pa.int64()),
            pa.field("reason", pa.string()),
            pa.field("listener_id", pa.string()),
            pa.field("raw", pa.string()),
        ]
    )


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection set up for validation: UTC session (so timestamps and the UTC day
    come out in UTC) and insertion order kept (ingestion's "first occurrence wins")."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = true")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def validate_batch(
    batch: RawBatch, *, con: duckdb.DuckDBPyConnection | None = None
) -> ValidationResult:
    """Split a raw batch into valid v1 rows and rejected records with reasons.

    Extended-history exports carry no event id (ingestion derives one), so ``event_id`` is
    only required for the v1 formats.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    table = batch.table
    sql = build_validation_sql(
        table.schema, require_event_id=batch.source_format != "extended_history"
    )
    # Several record batches let DuckDB scan with all its threads; one big chunk is serial.
    scan = pa.Table.from_batches(
        table.combine_chunks().to_batches(max_chunksize=SCAN_CHUNK_ROWS), schema=table.schema
    ).append_column("__row", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    own = con is None
    con = connect() if con is None else con
    try:
        con.register("raw_batch", scan)
        result = con.execute(sql).to_arrow_table()
        con.unregister("raw_batch")
    finally:
        if own:
            con.close()
    rows = result["__row"].to_numpy()
    if not np.array_equal(rows, np.arange(table.num_rows)):
        # Insertion order is preserved by setting; this guards the column alignment below.
        result = result.take(np.argsort(rows, kind="stable"))
    ok = pc.is_null(result["__reason"])
    # Columns validation does not change are taken from the input, not copied through
    # DuckDB: exporting strings back to Arrow was most of the cost.
    columns = {
        name: result[name]
        if name in result.column_names
        else table[name]
        if name in TYPED_COLUMNS
        else _empty_to_null(table[name])
        for name in V1_COLUMNS
    }
    fixes = result["track_fix"]
    if fixes.null_count < len(fixes):
        columns["track_id"] = pc.coalesce(fixes, table["track_id"].cast(pa.string()))
    valid = _in_v1_types(pa.table(columns).filter(ok))
    bad = result.filter(pc.invert(ok)).select(["__row", "__reason"])
    rejected = _render_rejected(batch, bad)
    hashes = result["__event_hash"].filter(ok).combine_chunks()
    return ValidationResult(valid=valid, rejected=rejected, event_hashes=hashes)


def _in_v1_types(table: pa.Table) -> pa.Table:
    """Cast to the v1 schema, except dictionary-encoded text, which stays encoded."""
    import pyarrow as pa

    arrays = []
    fields = []
    for field in v1_schema():
        column = table[field.name]
        if pa.types.is_dictionary(column.type) and pa.types.is_string(field.type):
            fields.append(field.with_type(column.type))
        else:
            column = column.cast(field.type)
            fields.append(field)
        arrays.append(column)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def build_validation_sql(schema: pa.Schema, *, require_event_id: bool = True) -> str:
    """The validation query for a raw table of this schema (registered as ``raw_batch``).

    It returns ``__row``, ``__reason`` (null when valid), ``track_fix`` (the canonical id
    where the input was not one already, else null) and the typed columns. Every check has a
    cheap exact-match fast path; trimming, URI parsing and rendering raw values as text only
    run in the ``CASE`` branches the few odd rows reach.
    """
    track = _text("track_id")
    country = f"upper({_text('country')})"
    ts_value, ts_reason = ts_sql(schema.field("ts").type)
    ms_value, ms_reason = _ms_exprs(schema.field("ms_played").type)
    bools = [_bool_exprs(name, schema.field(name).type) for name in BOOL_COLUMNS]
    countries = ", ".join(f"'{code}'" for code in sorted(ISO_3166_ALPHA2))
    reasons = [
        f"CASE WHEN {_blank('event_id')} THEN 'missing event_id' END" if require_event_id else "",
        f"CASE WHEN {_blank('listener_id')} THEN 'missing listener_id' END",
        f"CASE WHEN _track_ok OR track_fix IS NOT NULL THEN NULL "
        f"WHEN {track} IS NULL THEN 'missing track_id' "
        f"ELSE 'track_id ' || {_quote(track)} || ' is not a Spotify track id' END",
        ts_reason,
        ms_reason,
        f"CASE WHEN country IS NOT NULL OR country_in IS NULL THEN NULL "
        f"WHEN coalesce({country}, '{UNKNOWN_COUNTRY}') = '{UNKNOWN_COUNTRY}' THEN NULL "
        f"ELSE 'country ' || {_quote(_text('country'))} "
        "|| ' is not an ISO 3166-1 alpha-2 code' END",
        *[reason for _, reason in bools],
    ]
    reason_list = ",\n            ".join(r for r in reasons if r)
    # Rows passing these cheap exact checks have no reason; only the rest build the text.
    fast_ok = " AND ".join(
        [
            *([f"NOT {_blank('event_id')}"] if require_event_id else []),
            f"NOT {_blank('listener_id')}",
            "_track_ok",
            "ts IS NOT NULL",
            f"ms_played BETWEEN 0 AND {MAX_MS_PLAYED}",
            "(country IS NOT NULL OR country_in IS NULL)",
            *[f"({name} IS NOT NULL OR {name}_in IS NULL)" for name in BOOL_COLUMNS],
        ]
    )
    # Columns already in their v1 type (typed Parquet) are not sent back through DuckDB.
    typed_outputs = "".join(
        f", {name}"
        for name in TYPED_COLUMNS
        if schema.field(name).type != v1_schema().field(name).type
    )
    bool_values = ", ".join(
        f"{value} AS {name}" for name, (value, _) in zip(BOOL_COLUMNS, bools, strict=True)
    )
    return f"""
    WITH checked AS (
        SELECT *,
            CASE WHEN _track_ok THEN NULL
                WHEN regexp_full_match({track}, '{TRACK_ID_PATTERN}') THEN {track}
                ELSE NULLIF(regexp_extract({track}, '{TRACK_REF_PATTERN}', 1), '')
            END AS track_fix,
            CASE WHEN CAST(country_in AS VARCHAR) IN ({countries}) THEN CAST(country_in AS VARCHAR)
                WHEN {country} IN ({countries}) THEN {country} END AS country,
            {ts_value} AS ts,
            {ms_value} AS ms_played,
            {bool_values}
        FROM (
            SELECT __row, event_id, listener_id,
                track_id AS track_id_in, country AS country_in, ts AS ts_in,
                ms_played AS ms_played_in, shuffle AS shuffle_in, skipped AS skipped_in,
                offline AS offline_in,
                coalesce(regexp_full_match(track_id, '{TRACK_ID_PATTERN}'), false) AS _track_ok
            FROM raw_batch
        )
    )
    SELECT __row,
        CASE WHEN {fast_ok} THEN NULL ELSE NULLIF(concat_ws('; ',
            {reason_list}
        ), '') END AS __reason,
        track_fix, country, hash(event_id) AS __event_hash{typed_outputs}
    FROM checked
    """


def _text(name: str) -> str:
    """A raw input column as trimmed text, empty meaning absent."""
    return f"NULLIF(trim(CAST({name}_in AS VARCHAR)), '')"


def _blank(name: str) -> str:
    # A regex that fails on the first character is far cheaper than trim() on every id.
    return f"({name} IS NULL OR regexp_full_match(CAST({name} AS VARCHAR), '\\s*'))"


def _quote(expr: str) -> str:
    """A value quoted for a reason message, cut short so junk cannot bloat the quarantine."""
    return f"chr(39) || left({expr}, {REASON_VALUE_CHARS}) || chr(39)"


def ts_sql(arrow_type: pa.DataType) -> tuple[str, str]:
    """(value, reason) SQL for ``ts``."""
    import pyarrow as pa

    if pa.types.is_timestamp(arrow_type):
        # Parquet timestamps: tz-aware ones convert, naive ones are UTC by contract.
        return "CAST(ts_in AS TIMESTAMPTZ)", "CASE WHEN ts_in IS NULL THEN 'missing ts' END"
    raw = _text("ts")
    value = (
        f"CASE WHEN regexp_full_match({raw}, '{TS_WITH_OFFSET_PATTERN}') "
        f"THEN TRY_CAST(upper({raw}) AS TIMESTAMPTZ) END"
    )
    reason = (
        f"CASE WHEN {raw} IS NULL THEN 'missing ts' WHEN ts IS NOT NULL THEN NULL "
        f"WHEN regexp_full_match({raw}, '{TS_NAIVE_PATTERN}') THEN 'ts ' || {_quote(raw)} "
        "|| ' has no UTC offset (expected Z or +HH:MM)' "
        f"ELSE 'ts ' || {_quote(raw)} || ' is not an ISO-8601 timestamp' END"
    )
    return value, reason


def _ms_exprs(arrow_type: pa.DataType) -> tuple[str, str]:
    """(value, reason) SQL for ``ms_played``."""
    import pyarrow as pa

    if pa.types.is_integer(arrow_type):
        value = "CAST(ms_played_in AS BIGINT)"
    elif pa.types.is_floating(arrow_type):
        # A float column is fine as long as every value is a whole number of milliseconds.
        value = (
            "CASE WHEN isfinite(ms_played_in) AND ms_played_in = floor(ms_played_in) "
            "AND abs(ms_played_in) < 1e18 THEN CAST(ms_played_in AS BIGINT) END"
        )
    else:
        raw = _text("ms_played")
        value = (
            f"CASE WHEN regexp_full_match({raw}, '[+-]?[0-9]{{1,18}}') "
            f"THEN CAST({raw} AS BIGINT) END"
        )
    reason = (
        "CASE WHEN ms_played IS NULL THEN "
        f"CASE WHEN {_text('ms_played')} IS NULL THEN 'missing ms_played' "
        f"ELSE 'ms_played ' || {_quote(_text('ms_played'))} || ' is not an integer' END "
        "WHEN ms_played < 0 THEN 'ms_played ' || ms_played || ' is negative' "
        f"WHEN ms_played > {MAX_MS_PLAYED} THEN 'ms_played ' || ms_played "
        f"|| ' is more than 24 hours ({MAX_MS_PLAYED} ms)' END"
    )
    return value, reason


def _bool_exprs(name: str, arrow_type: pa.DataType) -> tuple[str, str]:
    """(value, reason) SQL for a boolean column (CSV writes true/false/1/0/empty)."""
    import pyarrow as pa

    if pa.types.is_boolean(arrow_type):
        return f"{name}_in", ""
    raw = f"lower({_text(name)})"
    value = (
        f"CASE WHEN {raw} IN ('true', '1') THEN true WHEN {raw} IN ('false', '0') THEN false END"
    )
    reason = (
        f"CASE WHEN {raw} IS NOT NULL AND {name} IS NULL THEN '{name} ' || "
        f"{_quote(_text(name))} || ' is not a boolean (expected true/false/1/0)' END"
    )
    return value, reason


def _empty_to_null(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """Pass-through text columns: an empty string means absent (CSV writes nothing)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if values.null_count == len(values):
        return values
    if pa.types.is_dictionary(values.type):
        chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
        if not any(pc.any(pc.equal(pc.utf8_length(c.dictionary), 0)).as_py() for c in chunks):
            return values  # checked once per distinct value, not per row
        values = values.cast(pa.string())
    empty = pc.equal(pc.utf8_length(values), 0)
    if not pc.any(empty).as_py():
        return values
    return pc.if_else(empty, None, values)


def _render_rejected(batch: RawBatch, bad: pa.Table) -> pa.Table:
    """Rejected records as a table; their raw text is JSON with the listener id redacted."""
    import pyarrow as pa

    rows = bad["__row"].combine_chunks()
    records = batch.table.take(rows).to_pylist()
    lines = batch.lines.take(rows).to_pylist()
    reasons = bad["__reason"].to_pylist()
    out: dict[str, list[Any]] = {"line": [], "reason": [], "listener_id": [], "raw": []}
    for record in batch.rejected:
        out["line"].append(record.line)
        out["reason"].append(record.reason)
        out["listener_id"].append(record.listener_id)
        out["raw"].append(record.raw)
    for record, line, reason in zip(records, lines, reasons, strict=True):
        listener = record.get("listener_id")
        out["line"].append(line)
        out["reason"].append(reason)
        out["listener_id"].append(listener.strip() if isinstance(listener, str) else None)
        out["raw"].append(_record_json(record))
    return pa.table(out, schema=rejected_schema())


def _record_json(record: dict[str, Any]) -> str:
    shown = {k: v for k, v in record.items() if k != "__row"}
    if shown.get("listener_id") is not None:
        shown["listener_id"] = REDACTED
    return json.dumps(shown, default=str, ensure_ascii=False)[:MAX_RAW_CHARS]
