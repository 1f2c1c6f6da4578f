"""Every column of every dbt model and snapshot, as built, is declared and described in the schema yml:
dagster-dbt shows those declarations as the model's column schema, so a column added in SQL but
not in the yml would be missing from the UI."""

from __future__ import annotations

import json

import pytest

from spotify_agent_assets.analytics_dbt.project import find_project_dir, manifest_path
from spotify_agent_assets_tests.dbt.conftest import Built, query

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:AssetExecutionContext.op is deprecated:DeprecationWarning"),
]


def test_the_yml_declares_and_describes_exactly_the_built_columns(dbt_range: Built) -> None:
    manifest = json.loads(manifest_path(find_project_dir()).read_text())
    models = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "snapshot")
    ]
    assert len(models) >= 13
    built: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in query(
        dbt_range.warehouse,
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        "WHERE table_schema IN ('staging', 'intermediate', 'analytics', 'snapshots') "
        "ORDER BY ordinal_position",
    ):
        built.setdefault((schema, table), []).append(column)
    for model in models:
        relation = (model["schema"], model["alias"])
        declared = {name: column["description"] for name, column in model["columns"].items()}
        assert relation in built, f"{model['name']} was not built"
        assert set(declared) == set(built[relation]), (
            f"{model['name']}: undeclared {sorted(set(built[relation]) - set(declared))}, "
            f"declared but not built {sorted(set(declared) - set(built[relation]))}"
        )
        assert all(text.strip() for text in declared.values()), model["name"]
