"""Table contracts: what a declaration may say, and how a stored schema is compared with it."""

from __future__ import annotations

import pyarrow as pa
import pytest

from spotify_agent_assets.lake.table_contract import (
    Column,
    TableContract,
    arrow_schema,
    schema_differences,
    to_arrow,
)

PLAYS = TableContract(
    "plays",
    ("day", "track_id"),
    (
        Column("day", "date", "Day played", nullable=False),
        Column("track_id", "string", "Track", nullable=False),
        Column("window_days", "int32", "Days summed"),
        Column("at", "timestamp", "When it was counted"),
        Column("tags", "list<string>", "Labels"),
    ),
)


def test_every_type_name_is_one_exact_arrow_type() -> None:
    assert arrow_schema(PLAYS) == pa.schema(
        [
            pa.field("day", pa.date32(), nullable=False),
            pa.field("track_id", pa.string(), nullable=False),
            pa.field("window_days", pa.int32()),
            pa.field("at", pa.timestamp("us", tz="UTC")),
            pa.field("tags", pa.list_(pa.string())),
        ]
    )


@pytest.mark.parametrize(
    ("columns", "key", "message"),
    [
        (
            (Column("a", "string", "A"), Column("a", "string", "A again")),
            ("a",),
            r"table contract 'broken' repeats columns \['a'\]",
        ),
        (
            (Column("a", "string", " "),),
            ("a",),
            r"table contract 'broken' has columns without a description: \['a'\]",
        ),
        ((Column("a", "string", "A"),), (), r"table contract 'broken' declares no key"),
        (
            (Column("a", "string", "A"),),
            ("b",),
            r"key columns \['b'\] of table contract 'broken' are not among its columns \(a\)",
        ),
    ],
)
def test_a_contract_that_contradicts_itself_is_refused(
    columns: tuple[Column, ...], key: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        TableContract("broken", key, columns)


def test_an_unknown_type_is_refused_naming_the_column() -> None:
    with pytest.raises(ValueError, match=r"column 'n' has unknown type 'int'; expected one of"):
        Column("n", "int", "A number")


def test_schema_differences_name_each_column() -> None:
    stored = pa.schema(
        [
            ("day", pa.date32()),
            ("track_id", pa.int64()),
            ("at", pa.timestamp("ns")),
            ("tags", pa.list_(pa.string())),
            ("extra", pa.string()),
        ]
    )
    assert schema_differences(PLAYS, stored) == [
        "column 'track_id' is int64, expected string",
        "missing column 'window_days' (int32)",
        "column 'at' is timestamp[ns], expected timestamp[us, tz=UTC]",
        "unexpected column 'extra'",
    ]
    assert schema_differences(PLAYS, arrow_schema(PLAYS)) == []


def test_rows_that_do_not_fit_name_the_table() -> None:
    with pytest.raises(ValueError, match=r"rows for table 'plays' do not fit its contract"):
        to_arrow(PLAYS, [{"day": "not a date", "track_id": "t"}])


def test_a_null_in_a_non_nullable_column_is_refused_naming_it() -> None:
    import datetime as dt

    # Arrow itself would build this table; the Parquet write would refuse it much later.
    with pytest.raises(ValueError, match=r"non-nullable column\(s\) track_id"):
        to_arrow(PLAYS, [{"day": dt.date(2026, 1, 1), "track_id": None}])
    assert to_arrow(PLAYS, [{"day": dt.date(2026, 1, 1), "track_id": "t"}]).num_rows == 1


def test_a_lists_item_name_is_not_a_difference() -> None:
    """Parquet files call a list's item ``element`` and DuckDB calls it ``l``; the type is the
    same, as Arrow's own equality says."""
    stored = pa.schema(
        [
            pa.field(field.name, field.type)
            if field.name != "tags"
            else pa.field("tags", pa.list_(pa.field("element", pa.string())))
            for field in arrow_schema(PLAYS)
        ]
    )
    assert schema_differences(PLAYS, stored) == []
    stored = stored.set(4, pa.field("tags", pa.list_(pa.int64())))
    assert schema_differences(PLAYS, stored) == [
        "column 'tags' is list<item: int64>, expected list<item: string>"
    ]
