"""Asset checks on stored lake tables: a blocking key check and a schema-contract check."""

from collections.abc import Iterator

import dagster as dg

from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.lake.table_contract import (
    TableContract,
    key_violations,
    schema_differences,
)


def build_table_checks(group: str, contract: TableContract) -> dg.AssetChecksDefinition:
    """A blocking key check (unique, not null) and a schema check for one stored table.

    Both read what is in the lake, not the in-memory frame, so they also catch files left by an
    older version of the code. They share one step so the table is read once.
    """
    asset_key = dg.AssetKey(contract.name)
    key_text = ", ".join(contract.key)

    @dg.multi_asset_check(
        name=f"{contract.name}_table_checks",
        specs=[
            dg.AssetCheckSpec(
                "key_unique_not_null",
                asset=asset_key,
                blocking=True,
                description=f"({key_text}) is unique and never null across the stored table.",
            ),
            dg.AssetCheckSpec(
                "schema_matches_contract",
                asset=asset_key,
                description=f"Stored columns and types equal the {contract.name} contract.",
            ),
        ],
    )
    def table_checks(lake: LakeResource) -> Iterator[dg.AssetCheckResult]:
        table = lake.read_table(group, contract.name)
        report = key_violations(table, contract.key)
        yield dg.AssetCheckResult(
            asset_key=asset_key,
            check_name="key_unique_not_null",
            passed=report.ok,
            description=None if report.ok else f"key ({key_text}) violated",
            metadata={
                "rows": report.rows,
                "null_keys": report.null_keys,
                "duplicate_keys": report.duplicate_keys,
                "examples": dg.MetadataValue.json(report.examples),
            },
        )
        problems = schema_differences(contract, table.schema)
        yield dg.AssetCheckResult(
            asset_key=asset_key,
            check_name="schema_matches_contract",
            passed=not problems,
            metadata={"differences": dg.MetadataValue.json(problems)},
        )

    return table_checks
