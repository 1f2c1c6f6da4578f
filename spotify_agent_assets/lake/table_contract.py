"""Column contracts of lake tables: the schema a table is written with and checked against.

One declaration per table serves three purposes: building the Arrow table from rows (types are
enforced there, so a producer's regression fails loudly), the schema asset check that compares
what is stored in the lake with the contract, and the column descriptions in the UI.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # "string" | "int64" | "float64" | "bool" | "date" | "timestamp" | "list<string>"
    description: str
    nullable: bool = True


@dataclass(frozen=True)
class TableContract:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _arrow_type(type_name: str) -> pa.DataType:
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "list<string>": pa.list_(pa.string()),
    }
    try:
        return types[type_name]
    except KeyError:
        raise ValueError(
            f"unknown column type {type_name!r}; expected one of {sorted(types)}"
        ) from None


def arrow_schema(contract: TableContract) -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [pa.field(c.name, _arrow_type(c.type), nullable=c.nullable) for c in contract.columns]
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
        return pa.Table.from_pydict(columns, schema=arrow_schema(contract))
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ValueError(
            f"rows for table {contract.name!r} do not fit its contract: {exc}"
        ) from exc


def schema_differences(contract: TableContract, stored: pa.Schema) -> list[str]:
    """Human-readable differences between a stored table's schema and its contract."""
    expected = arrow_schema(contract)
    problems = []
    for field in expected:
        if field.name not in stored.names:
            problems.append(f"missing column {field.name!r} ({field.type})")
            continue
        stored_type = stored.field(field.name).type
        if not stored_type.equals(field.type):
            problems.append(f"column {field.name!r} is {stored_type}, expected {field.type}")
    for name in stored.names:
        if name not in expected.names:
            problems.append(f"unexpected column {name!r}")
    return problems


@dataclass(frozen=True)
class KeyReport:
    rows: int
    null_keys: int
    duplicate_keys: int
    examples: list[str]

    @property
    def ok(self) -> bool:
        return self.null_keys == 0 and self.duplicate_keys == 0


def key_violations(table: pa.Table, key: Sequence[str]) -> KeyReport:
    """Count rows with a null key column and key values that occur more than once."""
    import pyarrow.compute as pc

    missing = [k for k in key if k not in table.column_names]
    if missing:
        raise ValueError(f"key columns {missing} are not in the table (has {table.column_names})")
    null_mask = None
    for k in key:
        col_null = pc.is_null(table[k])
        null_mask = col_null if null_mask is None else pc.or_(null_mask, col_null)
    null_keys = (pc.sum(null_mask).as_py() or 0) if table.num_rows else 0
    counts = table.group_by(list(key)).aggregate([([], "count_all")])
    dupes = counts.filter(pc.greater(counts["count_all"], 1))
    examples = [
        ", ".join(f"{k}={row[k]}" for k in key) + f" (x{row['count_all']})"
        for row in dupes.slice(0, 5).to_pylist()
    ]
    return KeyReport(table.num_rows, null_keys, dupes.num_rows, examples)
