"""The dbt definitions built at load without dagster-dbt are the ones ``@dbt_assets`` builds.

`dbt_specs` mirrors dagster-dbt's translation so the code location need not import dagster-dbt
(and dbt-core); here dagster-dbt builds the reference from the same manifest with our translator
and every spec, check, partitioning and selection tag is compared. A dagster-dbt upgrade that
changes its translation, or a rule changed on one side only, fails here.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
import pytest
from dagster_dbt import DbtProject, dbt_assets

from spotify_agent_assets.analytics_dbt.project import manifest_path
from spotify_agent_assets.defs.analytics.dbt_assets import (
    DBT_PROJECT_DIR,
    analytics_daily_dbt_models,
    analytics_dbt_models,
)
from spotify_agent_assets.defs.analytics.dbt_policy import DAILY_SELECTION
from spotify_agent_assets.defs.analytics.dbt_translator import (
    TRANSLATOR_SETTINGS,
    AnalyticsDbtTranslator,
)
from spotify_agent_assets.defs.streams.partitions import STREAM_DAYS

# dagster-dbt's Python objects in the metadata (the parsed manifest, the translator, the
# DbtProject): what its run-time helpers read, nothing the UI shows. Our run reads the
# manifest from the target folder instead.
DAGSTER_DBT_OBJECTS = {
    "dagster_dbt/manifest",
    "dagster_dbt/dagster_dbt_translator",
    "dagster_dbt/project",
}


def reference(name: str, **selection: Any) -> dg.AssetsDefinition:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)

        @dbt_assets(
            manifest=manifest_path(DBT_PROJECT_DIR),
            project=DbtProject(project_dir=DBT_PROJECT_DIR),
            dagster_dbt_translator=AnalyticsDbtTranslator(TRANSLATOR_SETTINGS),
            name=name,
            **selection,
        )
        def _models() -> Iterator[Any]:  # never run: only its definition is compared
            yield from ()

    return _models


REFERENCES = {
    "analytics_daily_dbt_models": reference(
        "analytics_daily_dbt_models",
        select=DAILY_SELECTION,
        partitions_def=STREAM_DAYS,
        backfill_policy=dg.BackfillPolicy.single_run(),
    ),
    "analytics_dbt_models": reference("analytics_dbt_models", exclude=DAILY_SELECTION),
}
OURS = {
    assets.node_def.name: assets for assets in (analytics_daily_dbt_models, analytics_dbt_models)
}


def comparable(spec: dg.AssetSpec) -> dict[str, Any]:
    fields = spec._asdict()
    fields["metadata"] = {k: v for k, v in spec.metadata.items() if k not in DAGSTER_DBT_OBJECTS}
    fields["deps"] = sorted(
        ((d.asset_key.to_user_string(), d.partition_mapping, d.metadata) for d in spec.deps),
        key=lambda dep: dep[0],
    )
    return fields


def comparable_check(spec: dg.AssetCheckSpec) -> dict[str, Any]:
    return {
        "key": spec.key,
        "description": spec.description,
        "additional_deps": sorted(d.asset_key.to_user_string() for d in spec.additional_deps),
        "blocking": spec.blocking,
        "metadata": dict(spec.metadata or {}),
        "automation_condition": spec.automation_condition,
    }


def by_key(specs: Mapping[Any, Any] | Any) -> dict[str, Any]:
    return {spec.key.to_user_string(): spec for spec in specs}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_the_definitions_are_those_dbt_assets_builds(name: str) -> None:
    ours, theirs = OURS[name], REFERENCES[name]
    assert ours.keys == theirs.keys and ours.keys
    assert ours.partitions_def == theirs.partitions_def
    assert ours.backfill_policy == theirs.backfill_policy
    assert ours.can_subset and theirs.can_subset
    # The run reads the dbt selection from here, as dagster-dbt's run-time code does.
    assert ours.op.tags == theirs.op.tags
    assert ours.dependency_keys == theirs.dependency_keys

    our_specs, their_specs = by_key(ours.specs), by_key(theirs.specs)
    for key, spec in our_specs.items():
        assert comparable(spec) == comparable(their_specs[key]), key

    our_checks, their_checks = by_key(ours.check_specs), by_key(theirs.check_specs)
    assert our_checks.keys() == their_checks.keys() and our_checks
    for key, check in our_checks.items():
        assert comparable_check(check) == comparable_check(their_checks[key]), key


def test_the_comparison_sees_a_difference() -> None:
    """The comparison would notice a changed rule: a spec with another group is unequal."""
    spec = next(iter(analytics_dbt_models.specs))
    assert comparable(spec.replace_attributes(group_name="other")) != comparable(spec)
    assert comparable(spec.replace_attributes(automation_condition=None)) != comparable(spec)


def test_the_specs_carry_what_the_ui_shows() -> None:
    specs = by_key(analytics_daily_dbt_models.specs)
    fct = specs["fct_streams_daily"]
    schema = fct.metadata["dagster/column_schema"]
    assert "date" in {column.name for column in schema.columns}
    assert any(column.description for column in schema.columns)
    assert fct.metadata["dagster/table_name"] == "warehouse.analytics.fct_streams_daily"
    assert (
        fct.metadata["dagster/code_references"]
        .code_references[0]
        .file_path.endswith("models/analytics/daily/fct_streams_daily.sql")
    )
    assert fct.freshness_policy is not None
    assert fct.kinds == {"dbt", "duckdb"} and "daily" in fct.tags
    checks = by_key(analytics_daily_dbt_models.check_specs)
    relationships = checks[
        "fct_streams_daily:relationships_fct_streams_daily_track_id__track_id__ref_dim_track_"
    ]
    # A `warn` test reports without blocking; it reads dim_track too.
    assert not relationships.blocking
    assert [d.asset_key for d in relationships.additional_deps] == [dg.AssetKey("dim_track")]
    assert checks["fct_streams_daily:not_null_fct_streams_daily_date"].blocking


def test_loading_the_code_location_imports_no_dbt() -> None:
    """What makes the code location quick to load (~1.7 s less): checked in a fresh
    interpreter."""
    import subprocess

    probe = (
        "import sys, spotify_agent_assets.definitions; "
        "print(sorted(m for m in ('dagster_dbt', 'dbt', 'sqlglot', 'agate') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", probe], check=True, capture_output=True, text=True
    )
    assert loaded.stdout.strip() == "[]"
