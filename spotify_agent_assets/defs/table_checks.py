"""Asset checks on stored lake tables: a blocking key check and a schema-contract check."""

from collections.abc import Iterator

import dagster as dg

from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.lake.key_check import check_key
from spotify_agent_assets.lake.table_contract import TableContract, schema_differences

KEY_CHECK = "key_unique_not_null"
SCHEMA_CHECK = "schema_matches_contract"
# Files named in a failing schema check before the rest are counted.
FILES_LISTED = 10


def build_table_checks(group: str, contract: TableContract) -> dg.AssetChecksDefinition:
    """A blocking key check (unique, not null) and a schema check for one stored table.

    Both read what is in the lake, not the in-memory output, so they also catch files left by
    an older version of the code. In a run that wrote daily partitions they read those (the key
    check also probes the rest of the table for the keys written, see ``lake.key_check``);
    otherwise, or for an unpartitioned table, every file. Neither loads the table into memory:
    the key check runs in DuckDB over the key columns, the schema check reads file footers.
    """
    asset_key = dg.AssetKey(contract.name)
    key_text = ", ".join(contract.key)

    @dg.multi_asset_check(
        name=f"{contract.name}_table_checks",
        specs=[
            dg.AssetCheckSpec(
                KEY_CHECK,
                asset=asset_key,
                blocking=True,
                description=f"({key_text}) is unique and never null across the stored table.",
            ),
            dg.AssetCheckSpec(
                SCHEMA_CHECK,
                asset=asset_key,
                description=f"Stored columns and types equal the {contract.name} contract.",
            ),
        ],
    )
    def table_checks(
        context: dg.AssetCheckExecutionContext, lake: LakeResource
    ) -> Iterator[dg.AssetCheckResult]:
        parquet_lake = lake.lake()
        partitions = _run_partitions(context)
        report = check_key(parquet_lake, group, contract.name, contract.key, partitions)
        yield dg.AssetCheckResult(
            asset_key=asset_key,
            check_name=KEY_CHECK,
            passed=report.ok,
            description=None if report.ok else f"key ({key_text}) violated",
            metadata={
                "scope": report.scope,
                "rows": report.rows,
                "null_keys": report.null_keys,
                "duplicate_keys": report.duplicate_keys,
                "examples": dg.MetadataValue.json(report.examples),
            },
        )
        # The files of the partitions the key check read (every file when it read them all).
        wanted = set(report.partitions_checked)
        files = parquet_lake.file_uris(group, contract.name)
        checked = [
            uri
            for partition, uris in sorted(files.items(), key=lambda item: str(item[0]))
            if not wanted or partition in wanted
            for uri in uris
        ]
        problems = {
            uri: found
            for uri in checked
            if (found := schema_differences(contract, parquet_lake.read_schema(uri)))
        }
        yield dg.AssetCheckResult(
            asset_key=asset_key,
            check_name=SCHEMA_CHECK,
            passed=not problems,
            description=None if not problems else f"{len(problems)} file(s) differ",
            metadata={
                "files_checked": len(checked),
                "differences": dg.MetadataValue.json(dict(list(problems.items())[:FILES_LISTED])),
            },
        )

    return table_checks


def _run_partitions(context: dg.AssetCheckExecutionContext) -> list[str] | None:
    """The partitions of the run the check belongs to, if it materializes any."""
    op_context = context.op_execution_context
    if op_context.has_partition_key or op_context.has_partition_key_range:
        return list(op_context.partition_keys)
    return None
