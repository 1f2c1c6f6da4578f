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
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

from spotify_agent_assets.streams.event_schema import (
    BOOL_COLUMNS,
    ISO_3166_ALPHA2,
    MAX_MS_PLAYED,
    UNKNOWN_COUNTRY,
    V1_COLUMNS,
    v1_schema,
)
from spotify_agent_assets.streams.readers import MAX_RAW_CHARS, REDACTED, RawBatch, as_array

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
OPTIONAL_PASS_THROUGH = ("platform", "reason_start", "reason_end", "session_id")


@dataclass(frozen=True)
class ValidationResult:
    """``rows``: every row of the batch in the v1 types, normalised (raw listener ids still
    present; text columns may stay dictionary-encoded); ``ok`` (numpy bool) marks the valid
    ones, and only their values mean anything. ``rejected`` has ``line``, ``reason``,
    ``listener_id`` (raw, for the caller to pseudonymize) and ``raw`` (the record as
    redacted JSON text). ``row_hashes`` is a 64-bit hash of each row's ``event_id``, so
    de-duplication can compare integers instead of strings.

    Ingestion uses ``rows`` and ``ok`` as they are: filtering out the few rejected rows
    would copy every valid one."""

    rows: pa.Table
    ok: Any
    rejected: pa.Table
    row_hashes: pa.Array | None = None

    @cached_property
    def valid(self) -> pa.Table:
        """The valid rows alone."""
        import pyarrow as pa

        return self.rows if self.ok.all() else self.rows.filter(pa.array(self.ok))

    @property
    def event_hashes(self) -> pa.Array | None:
        """``row_hashes`` of the valid rows."""
        import pyarrow as pa

        if self.row_hashes is None or self.ok.all():
            return self.row_hashes
        return self.row_hashes.filter(pa.array(self.ok))


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


def validate_rows(
    batch: RawBatch, *, require_event_id: bool, con: duckdb.DuckDBPyConnection
) -> ValidationResult:
    """Every row through the validation query (text formats, or typed input of odd types)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    table = batch.table
    result = _run_validation_sql(
        table, np.arange(table.num_rows, dtype=np.int64), require_event_id, con
    )
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
    bad = result.filter(pc.invert(ok)).select(["__row", "__reason"])
    return ValidationResult(
        rows=_in_v1_types(pa.table(columns)),
        ok=ok.to_numpy(zero_copy_only=False),
        rejected=_render_rejected(batch, bad),
        row_hashes=as_array(result["__event_hash"]),
    )


def _run_validation_sql(
    table: pa.Table, rows: Any, require_event_id: bool, con: duckdb.DuckDBPyConnection
) -> pa.Table:
    """The validation query's result for ``table`` (whose rows are ``rows`` of the batch),
    in input order."""
    import numpy as np
    import pyarrow as pa

    sql = build_validation_sql(table.schema, require_event_id=require_event_id)
    # Several record batches let DuckDB scan with all its threads; one big chunk is serial.
    scan = pa.Table.from_batches(
        table.combine_chunks().to_batches(max_chunksize=SCAN_CHUNK_ROWS), schema=table.schema
    ).append_column("__row", pa.array(rows, pa.int64()))
    con.register("raw_batch", scan)
    try:
        result = con.execute(sql).to_arrow_table()
    finally:
        con.unregister("raw_batch")
    got = result["__row"].to_numpy()
    if not np.array_equal(got, rows):
        # Insertion order is preserved by setting; this guards the column alignment below.
        result = result.take(np.argsort(np.searchsorted(rows, got), kind="stable"))
    return result


def can_screen_by_value(schema: pa.Schema) -> bool:
    """Whether a raw batch of this schema can be validated value by value: typed ``ts``
    (microseconds or coarser), integer ``ms_played``, boolean flags, text columns as text."""
    import pyarrow as pa

    ts = schema.field("ts").type
    ms = schema.field("ms_played").type
    if not (pa.types.is_timestamp(ts) and ts.unit in ("s", "ms", "us")):
        return False
    if not (pa.types.is_signed_integer(ms) or ms in (pa.uint8(), pa.uint16(), pa.uint32())):
        return False
    for name in V1_COLUMNS:
        kind = schema.field(name).type
        if name in TYPED_COLUMNS[2:]:
            if not (pa.types.is_boolean(kind) or pa.types.is_null(kind)):
                return False
        elif name not in TYPED_COLUMNS and not _is_text(kind):
            return False
    return True


def _is_text(kind: pa.DataType) -> bool:
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return pa.types.is_string(kind) or pa.types.is_null(kind)


def screen_by_value(
    batch: RawBatch, *, require_event_id: bool, con: duckdb.DuckDBPyConnection
) -> ValidationResult | None:
    """Validate a typed batch by evaluating the text checks once per DISTINCT value.

    The Parquet reader hands repetitive text over dictionary-encoded, so the track and
    country checks run over the dictionaries (tens of thousands of values instead of a row
    each) and the verdicts spread to rows through the indices; ids get an Arrow blank check
    per row and the typed columns are checked in numpy. Values that are plainly fine (a bare
    track id, an upper-case country code) are recognised by Arrow kernels; only the others
    are judged and normalised by the query's own expressions (``TRACK_BY_VALUE_SQL``,
    ``COUNTRY_BY_VALUE_SQL``). The blank checks are stricter than the query's (any Unicode
    space), so rows the screen refuses get the full query, for their reasons; if the query
    accepts one of them after all, this returns None and the caller validates the batch row
    by row.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    table = batch.table
    n = table.num_rows
    ok = np.ones(n, dtype=bool)
    if require_event_id:
        ok &= ~_maybe_blank(table["event_id"])
    ok &= ~_maybe_blank(table["listener_id"])
    track, track_ok = _normalized_per_value(
        table["track_id"], _is_bare_track_id, TRACK_BY_VALUE_SQL, con
    )
    country, country_ok = _normalized_per_value(
        table["country"], _is_country_code_or_null, COUNTRY_BY_VALUE_SQL, con
    )
    ok &= track_ok & country_ok
    ts = table["ts"]
    ok &= ~_nulls(ts)
    ms = as_array(table["ms_played"]).cast(pa.int64())
    ms_values = ms.fill_null(-1).to_numpy(zero_copy_only=False)
    ok &= (ms_values >= 0) & (ms_values <= MAX_MS_PLAYED)

    bad_rows = np.flatnonzero(~ok)
    if len(bad_rows):
        result = _run_validation_sql(
            table.take(pa.array(bad_rows)), bad_rows, require_event_id, con
        )
        if result["__reason"].null_count:
            return None
        bad = result.select(["__row", "__reason"])
    else:
        bad = pa.table({"__row": pa.array([], pa.int64()), "__reason": pa.array([], pa.string())})
    columns = {
        "event_id": table["event_id"],
        "listener_id": table["listener_id"],
        "track_id": track,
        "ts": pc.cast(ts, pa.timestamp("us", tz="UTC")),
        "ms_played": ms,
        "country": country,
        **{name: _empty_to_null(table[name]) for name in OPTIONAL_PASS_THROUGH},
        **{name: _as_bool(table[name]) for name in BOOL_COLUMNS},
    }
    return ValidationResult(
        rows=_in_v1_types(pa.table({name: columns[name] for name in V1_COLUMNS})),
        ok=ok,
        rejected=_render_rejected(batch, bad),
        row_hashes=hash_strings(table["event_id"], con),
    )


def hash_strings(values: Any, con: duckdb.DuckDBPyConnection) -> pa.Array:
    """DuckDB's 64-bit ``hash`` of each string: what the validation query returns as
    ``__event_hash``, so both paths give de-duplication the same integers."""
    import pyarrow as pa

    con.register("hash_input", pa.table({"v": values}))
    try:
        out = con.execute("SELECT hash(v) AS h FROM hash_input").to_arrow_table()
    finally:
        con.unregister("hash_input")
    return as_array(out["h"])


def _nulls(values: pa.ChunkedArray) -> Any:
    import numpy as np
    import pyarrow.compute as pc

    if values.null_count == 0:
        return np.zeros(len(values), dtype=bool)
    return pc.is_null(values).to_numpy(zero_copy_only=False)


def _as_bool(values: pa.ChunkedArray) -> pa.ChunkedArray:
    import pyarrow as pa

    return values if pa.types.is_boolean(values.type) else values.cast(pa.bool_())


def _distinct_values(column: pa.ChunkedArray) -> tuple[pa.Array, Any]:
    """(values, row_to_value): the column's distinct values (its dictionary, plus one null
    if some rows are null) and, per row, the position of its value; for plain text, the rows
    themselves and None."""
    import numpy as np
    import pyarrow as pa

    array = as_array(column)
    if not pa.types.is_dictionary(array.type):
        return array.cast(pa.string()), None
    values = array.dictionary.cast(pa.string())
    if not array.null_count:
        # No slot for null rows when there are none: a null value would be judged (by the
        # query, for the track) for no row at all, in every batch.
        return values, array.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    values = pa.concat_arrays([values, pa.nulls(1, pa.string())])
    positions = array.indices.fill_null(len(array.dictionary)).to_numpy(zero_copy_only=False)
    return values, positions.astype(np.int32, copy=False)


def _per_row(column: pa.ChunkedArray, per_value: Callable[[pa.Array], Any]) -> Any:
    """``per_value`` (numpy flags for an array of values) for each row of ``column``."""
    values, positions = _distinct_values(column)
    flags = per_value(values)
    return flags if positions is None else flags[positions]


def _maybe_blank(column: pa.ChunkedArray) -> Any:
    """Per row: null, empty or only Unicode white space. A superset of the query's
    ``_blank`` (RE2's ``\\s`` is five ASCII characters), so a row left out is never blank."""

    def blank(values: pa.Array) -> Any:
        import pyarrow.compute as pc

        empty = pc.equal(pc.binary_length(values), 0)
        flags = pc.or_kleene(empty, pc.utf8_is_space(values))
        return flags.fill_null(True).to_numpy(zero_copy_only=False)

    return _per_row(column, blank)


def _is_bare_track_id(values: pa.Array) -> Any:
    """Values the query would accept unchanged as a track id (its ``_track_ok``)."""
    import pyarrow.compute as pc

    matched = pc.match_substring_regex(values, f"^{TRACK_ID_PATTERN}$")
    return matched.fill_null(False).to_numpy(zero_copy_only=False)


def _is_country_code_or_null(values: pa.Array) -> Any:
    """Values the query would keep unchanged as a country: an exact code, or null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    codes = pa.array(sorted(ISO_3166_ALPHA2), pa.string())
    exact = pc.is_in(values, value_set=codes).to_numpy(zero_copy_only=False)
    return exact | values.is_null().to_numpy(zero_copy_only=False)


def _normalized_per_value(
    column: pa.ChunkedArray,
    unchanged: Callable[[pa.Array], Any],
    select: str,
    con: duckdb.DuckDBPyConnection,
) -> tuple[pa.Array, Any]:
    """The column normalised value by value, and the per-row ok mask.

    Values ``unchanged`` recognises pass as they are; the others (usually none) go through
    ``select`` (SQL producing ``value`` and ``ok`` from ``v``). A dictionary-encoded column
    stays encoded, with rows whose value normalises to null (blank, the unknown country)
    made null.
    """
    import numpy as np
    import pyarrow as pa

    values, positions = _distinct_values(column)
    ok = unchanged(values)
    normalized = values
    others = np.flatnonzero(~ok)
    if len(others):
        con.register("distinct_values", pa.table({"v": values.take(pa.array(others))}))
        try:
            out = con.execute(f"SELECT value, ok FROM ({select})").to_arrow_table()  # noqa: S608 -- select is one of this module's constant SQL forms
        finally:
            con.unregister("distinct_values")
        ok = ok.copy()
        ok[others] = out["ok"].combine_chunks().fill_null(False).to_numpy(zero_copy_only=False)
        # Position i of the result: the value itself, or its normalised form for the others.
        source = np.arange(len(values))
        source[others] = len(values) + np.arange(len(others))
        combined = pa.concat_arrays([values, out["value"].combine_chunks().cast(pa.string())])
        normalized = combined.take(pa.array(source))
    if positions is None:
        return normalized, ok
    # A value normalised to null (a blank, the unknown country ZZ) makes its rows null; the
    # dictionary itself keeps no nulls.
    is_null = normalized.is_null().to_numpy(zero_copy_only=False)
    rows = pa.DictionaryArray.from_arrays(
        positions, normalized.fill_null(""), mask=is_null[positions]
    )
    return rows, ok[positions]


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
    ts_value, ts_reason = ts_sql(schema.field("ts").type)
    ms_value, ms_reason = _ms_exprs(schema.field("ms_played").type)
    bools = [_bool_exprs(name, schema.field(name).type) for name in BOOL_COLUMNS]
    reasons = [
        f"CASE WHEN {_blank('event_id')} THEN 'missing event_id' END" if require_event_id else "",
        f"CASE WHEN {_blank('listener_id')} THEN 'missing listener_id' END",
        f"CASE WHEN _track_ok OR track_fix IS NOT NULL THEN NULL "
        f"WHEN {track} IS NULL THEN 'missing track_id' "
        f"ELSE 'track_id ' || {_quote(track)} || ' is not a Spotify track id' END",
        ts_reason,
        ms_reason,
        f"CASE WHEN {_COUNTRY_ACCEPTED} THEN NULL "
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
            {_TRACK_FIX} AS track_fix,
            {_COUNTRY_VALUE} AS country,
            {ts_value} AS ts,
            {ms_value} AS ms_played,
            {bool_values}
        FROM (
            SELECT __row, event_id, listener_id,
                track_id AS track_id_in, country AS country_in, ts AS ts_in,
                ms_played AS ms_played_in, shuffle AS shuffle_in, skipped AS skipped_in,
                offline AS offline_in,
                {_TRACK_OK} AS _track_ok
            FROM raw_batch
        )
    )
    SELECT __row,
        CASE WHEN {fast_ok} THEN NULL ELSE NULLIF(concat_ws('; ',
            {reason_list}
        ), '') END AS __reason,
        track_fix, country, hash(event_id) AS __event_hash{typed_outputs}
    FROM checked
    """  # noqa: S608 -- assembled from this module's constant SQL and contract names


def _text(name: str) -> str:
    """A raw input column as trimmed text, empty meaning absent."""
    return f"NULLIF(trim(CAST({name}_in AS VARCHAR)), '')"


def _blank(name: str) -> str:
    # A regex that fails on the first character is far cheaper than trim() on every id.
    return f"({name} IS NULL OR regexp_full_match(CAST({name} AS VARCHAR), '\\s*'))"


def _quote(expr: str) -> str:
    """A value quoted for a reason message, cut short so junk cannot bloat the quarantine."""
    return f"chr(39) || left({expr}, {REASON_VALUE_CHARS}) || chr(39)"


# The per-column rules, shared by the row query and the per-value screen so both judge and
# normalise a value identically. Inputs: ``track_id`` / ``track_id_in`` (the raw track),
# ``_track_ok``, ``country_in`` (the raw country) and ``country`` (its normalised value).
_TRACK_OK = f"coalesce(regexp_full_match(track_id, '{TRACK_ID_PATTERN}'), false)"
_TRACK_FIX = (
    f"CASE WHEN _track_ok THEN NULL "
    f"WHEN regexp_full_match({_text('track_id')}, '{TRACK_ID_PATTERN}') THEN {_text('track_id')} "
    f"ELSE NULLIF(regexp_extract({_text('track_id')}, '{TRACK_REF_PATTERN}', 1), '') END"
)
_COUNTRY_CODES = ", ".join(f"'{code}'" for code in sorted(ISO_3166_ALPHA2))
_COUNTRY_VALUE = (
    f"CASE WHEN CAST(country_in AS VARCHAR) IN ({_COUNTRY_CODES}) THEN CAST(country_in AS VARCHAR) "
    f"WHEN upper({_text('country')}) IN ({_COUNTRY_CODES}) THEN upper({_text('country')}) END"
)
# "ZZ" (Spotify's unknown country) and blanks are accepted as null.
_COUNTRY_ACCEPTED = (
    f"(country IS NOT NULL OR country_in IS NULL "
    f"OR coalesce(upper({_text('country')}), '{UNKNOWN_COUNTRY}') = '{UNKNOWN_COUNTRY}')"
)
# Per-value forms for ``screen_by_value``: one row per distinct value ``v``, out ``value``
# (normalised, null when rejected or absent) and ``ok``.
TRACK_BY_VALUE_SQL = f"""
    SELECT coalesce(track_fix, CASE WHEN _track_ok THEN track_id_in END) AS value,
        (_track_ok OR track_fix IS NOT NULL) AS ok
    FROM (
        SELECT *, {_TRACK_FIX} AS track_fix
        FROM (SELECT v AS track_id, v AS track_id_in, {_TRACK_OK} AS _track_ok
              FROM distinct_values)
    )
"""  # noqa: S608 -- constant SQL of this module
COUNTRY_BY_VALUE_SQL = f"""
    SELECT country AS value, {_COUNTRY_ACCEPTED} AS ok
    FROM (SELECT country_in, {_COUNTRY_VALUE} AS country
          FROM (SELECT v AS country_in FROM distinct_values))
"""  # noqa: S608 -- constant SQL of this module


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
    """Pass-through text columns: an empty string means absent (CSV writes nothing).
    Dictionary-encoded text is checked once per distinct value and stays encoded."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if values.null_count == len(values):
        return values
    if pa.types.is_dictionary(values.type):
        array = as_array(values)
        empty = pc.equal(pc.utf8_length(array.dictionary), 0).to_numpy(zero_copy_only=False)
        if not empty.any():
            return values
        positions = array.indices.fill_null(0).to_numpy(zero_copy_only=False)
        nulls = empty[positions] | array.indices.is_null().to_numpy(zero_copy_only=False)
        return pa.chunked_array(
            [pa.DictionaryArray.from_arrays(positions, array.dictionary, mask=nulls)]
        )
    empty = pc.equal(pc.utf8_length(values), 0)
    if not pc.any(empty).as_py():
        return values
    return pc.if_else(empty, None, values)


def _render_rejected(batch: RawBatch, bad: pa.Table) -> pa.Table:
    """Rejected records as a table; their raw text is JSON with the listener id redacted."""
    import pyarrow as pa

    rows = bad["__row"].combine_chunks()
    taken = batch.table.take(rows)
    # Dictionary columns decoded first: the same values, at less than half the cost of
    # converting dictionary entries to Python one by one.
    records = pa.Table.from_arrays(
        [_decoded(column) for column in taken.columns], names=taken.column_names
    ).to_pylist()
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


def _decoded(column: pa.ChunkedArray) -> pa.ChunkedArray:
    import pyarrow as pa

    if pa.types.is_dictionary(column.type):
        return column.cast(column.type.value_type)
    return column


def _record_json(record: dict[str, Any]) -> str:
    shown = {k: v for k, v in record.items() if k != "__row"}
    if shown.get("listener_id") is not None:
        shown["listener_id"] = REDACTED
    return json.dumps(shown, default=str, ensure_ascii=False)[:MAX_RAW_CHARS]
