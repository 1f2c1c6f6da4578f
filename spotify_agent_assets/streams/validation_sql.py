"""The validation query's SQL, generated per column type of a raw batch.

Apart from running it (``validation_query``) because this is pure text: the checks as DuckDB
expressions, in two stages (normalise each column, then turn every failed check into a
specific reason with ``CASE``), plus the per-value forms of the track and country rules that
``value_screen`` evaluates over distinct values, so both paths judge a value identically. The
SQL differs by column type because Parquet producers send typed columns (a real timestamp
needs no parsing, which matters at 10M rows).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from spotify_agent_assets.streams.event_schema import (
    BOOL_COLUMNS,
    ISO_3166_ALPHA2,
    MAX_MS_PLAYED,
    UNKNOWN_COUNTRY,
    v1_schema,
)

if TYPE_CHECKING:
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
TYPED_COLUMNS = ("ts", "ms_played", *BOOL_COLUMNS)


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
