"""How health check results are recorded in Dagster: a table for the op's output metadata and
an asset check evaluation per asset-related check (on the asset's own check history, which
Dagster accepts from an op: ``context.log_event`` takes an ``AssetCheckEvaluation``)."""

from typing import Any

import dagster as dg

from spotify_agent_assets.maintenance.health_results import CheckResult

FRESHNESS_CHECK_NAME = "health_freshness"
TABLE_COLUMNS = ("check", "status", "observed", "threshold", "detail", "seconds")


def results_table(results: list[CheckResult]) -> dg.TableMetadataValue:
    return dg.MetadataValue.table(
        records=[dg.TableRecord(row) for row in result_rows(results)],
        schema=dg.TableSchema(
            columns=[
                dg.TableColumn(name, "float" if name == "seconds" else "string")
                for name in TABLE_COLUMNS
            ]
        ),
    )


def result_rows(results: list[CheckResult]) -> list[dict[str, Any]]:
    return [
        {
            "check": result.name,
            "status": result.status,
            "observed": result.observed,
            "threshold": result.threshold,
            "detail": result.detail,
            "seconds": result.seconds,
        }
        for result in results
    ]


def freshness_evaluation(result: CheckResult) -> dg.AssetCheckEvaluation:
    assert result.asset is not None  # noqa: S101 -- type narrowing: freshness results name their asset
    return dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey.from_user_string(result.asset),
        check_name=FRESHNESS_CHECK_NAME,
        passed=result.ok,
        severity=dg.AssetCheckSeverity(result.severity.value),
        description=result.detail,
        metadata={"age": result.observed, "max_age": result.threshold},
    )
