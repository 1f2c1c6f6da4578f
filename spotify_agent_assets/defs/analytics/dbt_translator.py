"""The dagster-dbt translator of the analytics dbt project (imports dagster-dbt: run time only).

Inside a dbt step it maps dbt's events back to asset and check keys; tests build ``@dbt_assets``
with it to prove the specs `dbt_specs` builds at load are the ones dagster-dbt would build.
Every rule of ours comes from `dbt_policy`, so both sides read the same ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

from spotify_agent_assets.defs.analytics import dbt_policy

# What the code location's specs are built with: dbt tests as asset checks, and each asset's
# SQL (or yml, for a source) file as its code reference.
TRANSLATOR_SETTINGS = DagsterDbtTranslatorSettings(
    enable_asset_checks=True, enable_code_references=True
)
# Inside a run the translator only maps events to keys, and dagster-dbt gives it no project
# there, which code references would need.
RUN_TRANSLATOR_SETTINGS = replace(TRANSLATOR_SETTINGS, enable_code_references=False)


class AnalyticsDbtTranslator(DagsterDbtTranslator):
    """Sources are keyed like the assets that write their tables; models by their own name."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        return dbt_policy.asset_key(dbt_resource_props)

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        freshness = dbt_policy.freshness_policy(self.get_resource_props(manifest, unique_id))
        if freshness is not None:
            spec = spec.replace_attributes(freshness_policy=freshness)
        return spec

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_policy.group_name(dbt_resource_props)

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> dg.AutomationCondition | None:
        return dbt_policy.automation_condition(dbt_resource_props)

    def get_partition_mapping(
        self,
        dbt_resource_props: Mapping[str, Any],
        dbt_parent_resource_props: Mapping[str, Any],
    ) -> dg.PartitionMapping | None:
        return dbt_policy.partition_mapping(
            dbt_resource_props, dbt_parent_resource_props["unique_id"]
        )
