"""Key checks on stored lake tables, in DuckDB over the Parquet files.

A table's key must be unique and never null. The check reads only the key columns, in DuckDB,
which streams the files and spills a large aggregation to disk, so it never holds a table in
Python memory. How much it reads depends on what changed:

- an unpartitioned table, or a check run without partitions: every file, grouped by key;
- a run that wrote some daily partitions: those partitions grouped by key, plus every other
  partition probed for the keys the run wrote (a semi-join against the run's keys, so memory is
  bounded by the run, not by years of history). When the key holds the partition column
  (``date``), rows of different partitions cannot collide and the probe is skipped.

The second form finds every duplicate that involves a row the run wrote, across the whole
table; what it does not re-read is a duplicate between two partitions the run did not touch,
which the run that wrote the later of them already reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from spotify_agent_assets.lake.parquet_lake import (
    PARTITION_COLUMN,
    ParquetLake,
    TableNotFoundError,
    validate_partition_key,
)
from spotify_agent_assets.lake.warehouse import lake_connection, quote_identifier

EXAMPLES = 5


@dataclass(frozen=True)
class KeyReport:
    """What a key check found: rows read, null keys, key values stored more than once."""

    rows: int
    null_keys: int
    duplicate_keys: int
    examples: list[str]
    scope: str
    partitions_checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.null_keys == 0 and self.duplicate_keys == 0


def check_key(
    lake: ParquetLake,
    group: str,
    asset: str,
    key: Sequence[str],
    partition_keys: Sequence[str] | None = None,
) -> KeyReport:
    """Null and repeated ``key`` values of the stored table ``<group>.<asset>``.

    With ``partition_keys`` (the partitions a run wrote) and a partitioned table, see the
    module docstring; an unpartitioned table is always read whole.
    """
    name = f"{group}.{asset}"
    if not key:
        raise ValueError(f"no key columns given for the key check of lake table {name}")
    files = lake.file_uris(group, asset)
    if not files:
        raise TableNotFoundError(
            f"lake table {name} does not exist: no Parquet files under "
            f"{lake.table_uri(group, asset)}"
        )
    partitioned = None not in files
    if partitioned and partition_keys:
        wanted = sorted(set(partition_keys))
        for partition_key in wanted:
            validate_partition_key(partition_key)
        missing = [k for k in wanted if k not in files]
        if missing:
            raise TableNotFoundError(
                f"lake table {name} has no partition(s) {', '.join(missing)} to check"
            )
        scope = [uri for k in wanted for uri in files[k]]
        others = (
            []
            if PARTITION_COLUMN in key
            else [uri for k, uris in sorted(files.items()) if k not in wanted for uri in uris]
        )
        described = _describe_run(wanted, len(files) - len(wanted), bool(others))
    else:
        wanted = []
        scope = [uri for k in sorted(files, key=str) for uri in files[k]]
        others = []
        described = "whole table"
    return _query(lake, key, scope, others, described, wanted)


def _describe_run(wanted: list[str], other_partitions: int, probed: bool) -> str:
    days = wanted[0] if len(wanted) == 1 else f"{wanted[0]}..{wanted[-1]} ({len(wanted)})"
    if probed:
        return f"partitions {days}, probed against {other_partitions} other partition(s)"
    return f"partitions {days} (the key holds {PARTITION_COLUMN}: no cross-partition duplicates)"


def _query(
    lake: ParquetLake,
    key: Sequence[str],
    scope: list[str],
    others: list[str],
    described: str,
    wanted: list[str],
) -> KeyReport:
    columns = ", ".join(quote_identifier(k) for k in key)
    any_null = " OR ".join(f"{quote_identifier(k)} IS NULL" for k in key)
    read = "read_parquet(?, hive_partitioning = false, union_by_name = true)"
    # Identifiers are the contract's column names, quoted; file lists are bound parameters.
    counted = f"SELECT count(*), count(*) FILTER (WHERE {any_null}) FROM {read}"  # noqa: S608 -- quoted contract columns; files bound
    # MATERIALIZED: the run's keys are grouped once and serve both the count and the probe.
    repeated = (
        f"WITH run AS MATERIALIZED (SELECT {columns}, count(*) AS n FROM {read} "  # noqa: S608 -- quoted contract columns; files bound
        f"WHERE NOT ({any_null}) GROUP BY ALL)"
    )
    parameters: list[object] = [scope]
    if others:
        repeated += (
            f", elsewhere AS (SELECT {columns}, count(*) AS n FROM {read} AS stored "  # noqa: S608 -- quoted contract columns; files bound
            f"SEMI JOIN run USING ({columns}) GROUP BY ALL) "
            f"SELECT {columns}, sum(n)::BIGINT AS n FROM "
            "(SELECT * FROM run UNION ALL SELECT * FROM elsewhere) "
            "GROUP BY ALL HAVING sum(n) > 1"
        )
        parameters.append(others)
    else:
        repeated += f" SELECT {columns}, n FROM run WHERE n > 1"  # noqa: S608 -- quoted contract columns
    with lake_connection(lake) as connection:
        rows, null_keys = connection.execute(counted, [scope]).fetchone()
        connection.execute(f"CREATE TEMP TABLE repeated AS {repeated}", parameters)
        (duplicate_keys,) = connection.execute("SELECT count(*) FROM repeated").fetchone()
        shown = connection.execute(
            f"SELECT * FROM repeated ORDER BY n DESC, {columns} LIMIT {EXAMPLES}"  # noqa: S608 -- quoted columns, constant limit
        ).fetchall()
    examples = [
        ", ".join(f"{k}={value}" for k, value in zip(key, row[:-1], strict=True)) + f" (x{row[-1]})"
        for row in shown
    ]
    return KeyReport(rows, null_keys, duplicate_keys, examples, described, wanted)
