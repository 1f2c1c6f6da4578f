"""Typed batches with dictionary-encoded text are validated value by value; the verdicts,
normalised values, reasons and hashes must be exactly those of the row-by-row query."""

from __future__ import annotations

import datetime as dt
from itertools import cycle, islice
from typing import Any

import pyarrow as pa
import pytest

from spotify_agent_assets.streams.event_schema import V1_COLUMNS, v1_schema
from spotify_agent_assets.streams.raw_batch import RawBatch
from spotify_agent_assets.streams.validation import validate_batch
from spotify_agent_assets.streams.validation_query import connect, validate_rows
from spotify_agent_assets.streams.validation_result import ValidationResult
from spotify_agent_assets.streams.value_screen import can_screen_by_value, screen_by_value

TRACK = "4uLU6hMCjMI75M1A2tKUQC"
UTC = dt.UTC
# Each column cycles through its own list; co-prime lengths mix them into many combinations.
VALUES: dict[str, list[Any]] = {
    "event_id": ["e1", "e2", "  ", "", None, "e3", "e4"],
    "listener_id": ["u1", " ", None, "u2", "\tu3"],
    "track_id": [
        TRACK,
        f"spotify:track:{TRACK}",
        f" {TRACK} ",
        f"https://open.spotify.com/intl-de/track/{TRACK}?si=x",
        "bad",
        None,
        "",
        f"spotify:episode:{TRACK}",
        "7ouMYWpwJ422jRcDASZB7P",
        "7ouMYWpwJ422jRcDASZB7P",
        "7ouMYWpwJ422jRcDASZB7P",
    ],
    "country": ["SE", "se", " us ", "ZZ", "zz", "", None, "XX", "ZZZZ", "SE", "DE", "GB", "SE"],
    "platform": ["ios", "", None],
    "reason_start": ["clickrow", "trackdone"],
    "reason_end": [None],
    "session_id": ["s1", "", None, "s2"],
    "ts": [dt.datetime(2026, 10, 5, 12, tzinfo=UTC), None, dt.datetime(2026, 10, 6, tzinfo=UTC)],
    "ms_played": [1000, -5, 86_400_001, None, 0, 86_400_000, 30_000, 29_999],
    "shuffle": [True, None, False],
    "skipped": [False, True],
    "offline": [None, None, True],
}
TEXT = ("listener_id", "track_id", "country", "platform", "reason_start", "reason_end")


def typed_batch(rows: int = 400, *, encode: tuple[str, ...] = TEXT, **types: Any) -> RawBatch:
    columns = {}
    for name in V1_COLUMNS:
        values = list(islice(cycle(VALUES[name]), rows))
        kind = types.get(name, v1_schema().field(name).type)
        array = pa.array(values, kind)
        columns[name] = array.dictionary_encode() if name in encode else array
    return RawBatch(
        "x.parquet", "parquet", pa.table(columns), pa.array(range(1, rows + 1), pa.int64())
    )


def decoded(result: ValidationResult) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list]:
    valid = result.valid
    plain = pa.table(
        {
            f.name: valid[f.name].cast(f.type) if valid[f.name].type != f.type else valid[f.name]
            for f in v1_schema()
        }
    )
    assert result.event_hashes is not None
    return plain.to_pylist(), result.rejected.to_pylist(), result.event_hashes.to_pylist()


def row_by_row(batch: RawBatch) -> ValidationResult:
    con = connect()
    try:
        return validate_rows(batch, require_event_id=True, con=con)
    finally:
        con.close()


@pytest.mark.parametrize(
    "variant",
    [
        {},
        {"encode": ()},  # typed, but text columns plain
        {"encode": ("track_id", "country")},
        {"ts": pa.timestamp("us")},  # naive: UTC by contract
        {"ts": pa.timestamp("ms", tz="Europe/Stockholm")},
        {"ms_played": pa.int32()},
    ],
)
def test_screen_gives_exactly_the_row_by_row_result(variant: dict[str, Any]) -> None:
    batch = typed_batch(**variant)
    assert can_screen_by_value(batch.table.schema)
    con = connect()
    try:
        screened = screen_by_value(batch, require_event_id=True, con=con)
    finally:
        con.close()
    assert screened is not None
    expected = row_by_row(batch)
    assert decoded(screened) == decoded(expected)
    valid, rejected, _ = decoded(screened)
    assert valid and rejected  # the fixture exercises both outcomes
    assert {r["track_id"] for r in valid} == {TRACK, "7ouMYWpwJ422jRcDASZB7P"}
    assert {r["country"] for r in valid} == {"SE", "US", "DE", "GB", None}


def test_dictionary_text_stays_encoded_through_the_screen() -> None:
    result = validate_batch(typed_batch())
    for name in TEXT:
        assert pa.types.is_dictionary(result.valid.schema.field(name).type), name


def test_a_row_only_unicode_blank_to_the_screen_still_gets_the_query_verdict() -> None:
    # U+00A0 is white space to Arrow but not to RE2's \s: the screen refuses the row, the
    # query accepts it, and the batch is validated row by row instead.
    batch = typed_batch(1)
    batch = RawBatch(
        "x.parquet",
        "parquet",
        pa.concat_tables([batch.table] * 3).set_column(
            0, "event_id", pa.array(["e1", "\u00a0", "e3"])
        ),
        pa.array([1, 2, 3], pa.int64()),
    )
    con = connect()
    try:
        assert screen_by_value(batch, require_event_id=True, con=con) is None
    finally:
        con.close()
    result = validate_batch(batch)
    assert decoded(result) == decoded(row_by_row(batch))
    assert "\u00a0" in result.valid["event_id"].to_pylist()


@pytest.mark.parametrize(
    ("column", "kind"),
    [
        ("ts", pa.string()),  # text timestamps need parsing
        ("ts", pa.timestamp("ns", tz="UTC")),
        ("ms_played", pa.float64()),
        ("shuffle", pa.string()),
        ("track_id", pa.int64()),
    ],
)
def test_batches_of_other_types_are_validated_row_by_row(column: str, kind: pa.DataType) -> None:
    schema = typed_batch(1).table.schema
    index = schema.get_field_index(column)
    assert not can_screen_by_value(schema.set(index, schema.field(index).with_type(kind)))


def test_unsigned_durations_are_screened_like_the_query_does() -> None:
    batch = typed_batch(3)
    index = batch.table.schema.get_field_index("ms_played")
    ms = pa.array([1_000, 86_400_001, None], pa.uint32())
    batch.table = batch.table.set_column(index, "ms_played", ms)
    con = connect()
    try:
        screened = screen_by_value(batch, require_event_id=True, con=con)
    finally:
        con.close()
    assert screened is not None
    assert decoded(screened) == decoded(row_by_row(batch))
