"""What validation hands back, built the same way by the row query and the per-value screen.

``ValidationResult`` and the pieces both paths assemble it from: rows cast to the v1 types
(dictionary-encoded text kept encoded), pass-through text with empty values made null, and
the rejected records rendered as redacted JSON with their reasons. Apart from the two paths
so that neither has to import the other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

from spotify_agent_assets.streams.event_schema import v1_schema
from spotify_agent_assets.streams.raw_batch import MAX_RAW_CHARS, REDACTED, RawBatch, as_array

if TYPE_CHECKING:
    import pyarrow as pa


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


def in_v1_types(table: pa.Table) -> pa.Table:
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


def empty_to_null(values: pa.ChunkedArray) -> pa.ChunkedArray:
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


def render_rejected(batch: RawBatch, bad: pa.Table) -> pa.Table:
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
