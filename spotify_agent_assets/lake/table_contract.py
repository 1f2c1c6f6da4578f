"""Column contracts of lake tables: the one declaration of a stored table.

A contract serves every purpose a table's shape has: building the Arrow table from rows (types
are enforced there, so a producer's regression fails loudly), the schema the IO manager checks
an output against before writing it, the schema and key asset checks on what is stored, and the
column descriptions in the UI. Plain Python; pyarrow is imported only when a schema is built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa


def _types() -> dict[str, Callable[[], pa.DataType]]:
    import pyarrow as pa

    return {
        "string": pa.string,
        "int32": pa.int32,
        "int64": pa.int64,
        "float64": pa.float64,
        "bool": pa.bool_,
        "date": pa.date32,
        "timestamp": lambda: pa.timestamp("us", tz="UTC"),
        "list<string>": lambda: pa.list_(pa.string()),
        "list<float64>": lambda: pa.list_(pa.float64()),
    }


# The names a Column may use; each maps to exactly one Arrow type (see ``arrow_type``).
COLUMN_TYPES = (
    "string",
    "int32",
    "int64",
    "float64",
    "bool",
    "date",
    "timestamp",  # microseconds, UTC
    "list<string>",
    "list<float64>",
)


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # one of COLUMN_TYPES
    description: str
    nullable: bool = True

    def __post_init__(self) -> None:
        if self.type not in COLUMN_TYPES:
            raise ValueError(
                f"column {self.name!r} has unknown type {self.type!r}; expected one of "
                f"{', '.join(COLUMN_TYPES)}"
            )


@dataclass(frozen=True)
class TableContract:
    """A stored table: its name (the asset's), its key and its columns in stored order.

    The key is unique and never null in what is stored (the key check refuses nulls whatever a
    key column's ``nullable`` says; ``nullable`` describes the Arrow field the writer makes).
    """

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"table contract {self.name!r} repeats columns {repeated}")
        undescribed = [c.name for c in self.columns if not c.description.strip()]
        if undescribed:
            raise ValueError(
                f"table contract {self.name!r} has columns without a description: {undescribed}"
            )
        if not self.key:
            raise ValueError(f"table contract {self.name!r} declares no key columns")
        missing = [k for k in self.key if k not in names]
        if missing:
            raise ValueError(
                f"key columns {missing} of table contract {self.name!r} are not among its "
                f"columns ({', '.join(names)})"
            )

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def arrow_type(type_name: str) -> pa.DataType:
    """The Arrow type a contract type name stands for."""
    try:
        return _types()[type_name]()
    except KeyError:
        raise ValueError(
            f"unknown column type {type_name!r}; expected one of {', '.join(COLUMN_TYPES)}"
        ) from None


@cache
def arrow_schema(contract: TableContract) -> pa.Schema:
    """The exact schema a table of ``contract`` is stored with (order and nullability too)."""
    import pyarrow as pa

    return pa.schema(
        [pa.field(c.name, arrow_type(c.type), nullable=c.nullable) for c in contract.columns]
    )


def to_arrow(contract: TableContract, rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Build the table for ``contract`` from row dicts; extra keys are dropped, missing ones null."""
    import pyarrow as pa

    names = contract.column_names
    columns: dict[str, list[Any]] = {name: [] for name in names}
    for row in rows:
        for name in names:
            columns[name].append(row.get(name))
    try:
        table = pa.Table.from_pydict(columns, schema=arrow_schema(contract))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValueError(
            f"rows for table {contract.name!r} do not fit its contract: {exc}"
        ) from exc
    # Arrow builds a table with nulls in a non-nullable column without a word; only the
    # Parquet write refuses it, far from the rows that caused it.
    nulls = [f.name for f in table.schema if not f.nullable and table[f.name].null_count]
    if nulls:
        raise ValueError(
            f"rows for table {contract.name!r} do not fit its contract: nulls in the "
            f"non-nullable column(s) {', '.join(nulls)}"
        )
    return table


def type_text(data_type: pa.DataType) -> str:
    """Arrow's text of a type ("timestamp[us, tz=UTC]", "list<item: string>"), which names it
    exactly, except that a list's item is always called ``item``: Parquet files name it
    ``element`` and DuckDB ``l``, and Arrow's own type equality ignores the name too."""
    import pyarrow as pa

    def canonical(t: pa.DataType) -> pa.DataType:
        if pa.types.is_list(t):
            return pa.list_(canonical(t.value_type))
        if pa.types.is_large_list(t):
            return pa.large_list(canonical(t.value_type))
        return t

    return str(canonical(data_type))


def column_differences(expected: Mapping[str, str], stored: pa.Schema) -> list[str]:
    """How ``stored`` differs from ``expected`` (column name -> ``type_text``), by column.

    Types compare as text so that a column schema in Dagster's metadata, which holds the same
    text, can be compared with a table without rebuilding Arrow types from it.
    """
    problems = []
    for name, expected_type in expected.items():
        if name not in stored.names:
            problems.append(f"missing column {name!r} ({expected_type})")
            continue
        stored_type = type_text(stored.field(name).type)
        if stored_type != expected_type:
            problems.append(f"column {name!r} is {stored_type}, expected {expected_type}")
    problems += [f"unexpected column {name!r}" for name in stored.names if name not in expected]
    return problems


def schema_differences(contract: TableContract, stored: pa.Schema) -> list[str]:
    """Human-readable differences between a stored table's schema and its contract."""
    expected = {field.name: type_text(field.type) for field in arrow_schema(contract)}
    return column_differences(expected, stored)
