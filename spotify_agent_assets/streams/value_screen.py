"""Validation of typed batches value by value: the fast path for Parquet input.

The Parquet reader delivers repetitive text dictionary-encoded, so the text checks run once
per distinct value and the verdicts spread to rows through the indices, while the typed
columns are checked in numpy. Apart from the row query (``validation_query``) because it is
a screen in front of it: rows it refuses still get their reasons from the query, and the
SQL it shares with the query lives in ``validation_sql``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from spotify_agent_assets.streams.event_schema import (
    BOOL_COLUMNS,
    ISO_3166_ALPHA2,
    MAX_MS_PLAYED,
    V1_COLUMNS,
)
from spotify_agent_assets.streams.raw_batch import RawBatch, as_array
from spotify_agent_assets.streams.validation_query import hash_strings, run_validation_sql
from spotify_agent_assets.streams.validation_result import (
    ValidationResult,
    empty_to_null,
    in_v1_types,
    render_rejected,
)
from spotify_agent_assets.streams.validation_sql import (
    COUNTRY_BY_VALUE_SQL,
    TRACK_BY_VALUE_SQL,
    TRACK_ID_PATTERN,
    TYPED_COLUMNS,
)

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa


OPTIONAL_PASS_THROUGH = ("platform", "reason_start", "reason_end", "session_id")


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
        result = run_validation_sql(table.take(pa.array(bad_rows)), bad_rows, require_event_id, con)
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
        **{name: empty_to_null(table[name]) for name in OPTIONAL_PASS_THROUGH},
        **{name: _as_bool(table[name]) for name in BOOL_COLUMNS},
    }
    return ValidationResult(
        rows=in_v1_types(pa.table({name: columns[name] for name in V1_COLUMNS})),
        ok=ok,
        rejected=render_rejected(batch, bad),
        row_hashes=hash_strings(table["event_id"], con),
    )


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
            out = con.execute(f"SELECT value, ok FROM ({select})").to_arrow_table()  # noqa: S608 -- select is one of validation_sql's constant SQL forms
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
