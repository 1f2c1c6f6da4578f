"""Asset and check specs of the dbt models, read from ``manifest.json`` without dagster-dbt.

Importing dagster-dbt costs about 1.7 s (it imports dbt-core), and every process that loads the
code location would pay it: the UI's code server, every run worker and every step process.
The specs it would build are a pure function of the manifest, so this module builds them from
the parsed JSON directly, the way dagster-dbt's translator does for our settings (asset checks
and code references on): the same keys, dependencies (with the sources' table metadata),
descriptions with the raw SQL, ``dagster/column_schema`` and ``dagster/table_name``, tags and
kinds, code versions, owners, and one check per dbt test attached to a model (blocking unless
the test's severity is ``warn``). The rules of our own (keys, group, automation, freshness)
come from `dbt_policy`, which the dagster-dbt translator used at run time reads too.

dagster-dbt is only imported where dbt runs (`dbt_run`). A test builds the same definitions
with ``@dbt_assets`` and compares them spec by spec, so the two cannot drift apart silently.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._utils.tags import is_valid_tag_key

from spotify_agent_assets.defs.analytics import dbt_policy

# What dagster-dbt makes assets of; sources are dependencies, tests are checks.
ASSET_RESOURCE_TYPES = frozenset({"model", "seed", "snapshot"})
# dbt resources in the graph that are neither assets nor sources: dependencies pass through them.
PASS_THROUGH_TYPES = frozenset({"metric", "semantic_model", "saved_query", "function"})
# Where a unique id can be found in the manifest.
MANIFEST_SECTIONS = (
    "nodes",
    "sources",
    "exposures",
    "metrics",
    "semantic_models",
    "saved_queries",
    "unit_tests",
    "functions",
)
# Metadata keys under which dagster-dbt files its per-project bookkeeping; also how a run
# finds the dbt node behind an asset or a check (see `dbt_run`).
UNIQUE_ID_KEY = "dagster_dbt/unique_id"
DBT_NAMESPACE = "dagster_dbt/"
MATERIALIZATION_TYPE_KEY = "dagster-dbt/materialization_type"
PROJECT_ID_KEY = "dagster_dbt/project_id"


def load_manifest(path: Path) -> dict[str, Any]:
    """The parsed ``manifest.json`` (about 10 ms for this project's 0.7 MB)."""
    return json.loads(path.read_bytes())


@dataclass
class DbtSpecBuilder:
    """Specs for the nodes of one manifest; each node's spec is built once and reused as a
    dependency of its children."""

    manifest: Mapping[str, Any]
    project_dir: Path
    _specs: dict[str, dg.AssetSpec] = field(default_factory=dict, init=False, repr=False)

    def node(self, unique_id: str) -> Mapping[str, Any]:
        for section in MANIFEST_SECTIONS:
            props = self.manifest.get(section, {}).get(unique_id)
            if props is not None:
                return props
        raise KeyError(f"{unique_id} is not in the dbt manifest of {self.project_dir}")

    def asset_unique_ids(self, *, daily: bool) -> list[str]:
        """The models (seeds, snapshots) of one of our two selections: tag ``daily`` or not."""
        return [
            unique_id
            for unique_id, props in self.manifest["nodes"].items()
            if _is_asset(props) and (dbt_policy.DAILY_TAG in props.get("tags", [])) == daily
        ]

    def specs(self, *, daily: bool) -> tuple[list[dg.AssetSpec], list[dg.AssetCheckSpec]]:
        """Asset specs of one selection and the checks of its dbt tests."""
        asset_ids = self.asset_unique_ids(daily=daily)
        specs = [self.asset_spec(unique_id) for unique_id in asset_ids]
        checks: dict[dg.AssetCheckKey, dg.AssetCheckSpec] = {}
        for unique_id, spec in zip(asset_ids, specs, strict=True):
            for test_id in self.manifest["child_map"].get(unique_id, []):
                check = self.check_spec(test_id, spec.key)
                if check is not None:
                    checks[check.key] = check
        return specs, list(checks.values())

    def asset_spec(self, unique_id: str) -> dg.AssetSpec:
        if unique_id not in self._specs:
            self._specs[unique_id] = self._build_asset_spec(unique_id)
        return self._specs[unique_id]

    def _build_asset_spec(self, unique_id: str) -> dg.AssetSpec:
        props = self.node(unique_id)
        adapter = self.manifest.get("metadata", {}).get("adapter_type")
        deps: dict[dg.AssetKey, dg.AssetDep] = {}
        for upstream_id in sorted(self._upstream_ids(props)):
            upstream = self.asset_spec(upstream_id)
            dep_metadata = None
            if upstream_id.startswith("source."):
                # A source's table facts travel with the dependency; the per-project
                # bookkeeping does not (it would differ between projects reading one table).
                dep_metadata = {
                    key: value
                    for key, value in upstream.metadata.items()
                    if not key.startswith(DBT_NAMESPACE)
                }
            deps.setdefault(
                upstream.key,
                dg.AssetDep(
                    upstream.key,
                    metadata=dep_metadata,
                    partition_mapping=dbt_policy.partition_mapping(props, upstream_id),
                ),
            )
        metadata: dict[str, Any] = {**_table_metadata(props), UNIQUE_ID_KEY: unique_id}
        if adapter:
            metadata["dagster/storage_kind"] = adapter
        project_id = self.manifest.get("metadata", {}).get("project_id")
        if project_id:
            metadata[PROJECT_ID_KEY] = dg.MetadataValue.text(project_id)
        with warnings.catch_warnings():
            # Code references are beta in Dagster 1.13; dagster-dbt silences the same warning.
            warnings.simplefilter("ignore", dg.BetaWarning)
            metadata["dagster/code_references"] = dg.CodeReferencesMetadataValue(
                code_references=[
                    dg.LocalFileCodeReference(
                        file_path=str((self.project_dir / props["original_file_path"]).resolve())
                    )
                ]
            )
        return dg.AssetSpec(
            key=dbt_policy.asset_key(props),
            deps=list(deps.values()),
            description=_description(props),
            metadata=metadata,
            skippable=True,
            group_name=dbt_policy.group_name(props),
            code_version=_code_version(props),
            automation_condition=dbt_policy.automation_condition(props),
            owners=self._owners(props),
            # dbt tags are plain words; Dagster's are key/value: the word becomes the key.
            tags={tag: "" for tag in props.get("tags", []) if is_valid_tag_key(tag)},
            kinds={"dbt", adapter or "dbt"},
            freshness_policy=dbt_policy.freshness_policy(props),
        )

    def check_spec(self, test_id: str, asset_key: dg.AssetKey) -> dg.AssetCheckSpec | None:
        """The check of dbt test ``test_id`` if it is attached to the asset ``asset_key``."""
        if not test_id.startswith("test."):
            return None
        test = self.node(test_id)
        attached = self._attached_node(test)
        if not attached or self.asset_spec(attached).key != asset_key:
            return None
        others = {self.asset_spec(p).key for p in self.manifest["parent_map"].get(test_id, [])}
        others.discard(asset_key)
        severity = test.get("config", {}).get("severity") or "error"
        return dg.AssetCheckSpec(
            name=test["name"],
            asset=asset_key,
            description=test.get("meta", {}).get("description"),
            additional_deps=others,
            metadata={UNIQUE_ID_KEY: test_id},
            # A failing `error` test stops what depends on the model; a `warn` test reports.
            blocking=severity.lower() == "error",
        )

    def _attached_node(self, test: Mapping[str, Any]) -> str | None:
        """The node a test checks: dbt's ``attached_node`` for a generic test, the only parent
        of a singular one, or the model its ``meta.dagster.ref`` names."""
        attached = test.get("attached_node")
        parents = set(test.get("depends_on", {}).get("nodes", []))
        if len(parents) == 1:
            [attached] = parents
        meta = test.get("config", {}).get("meta", {}) or test.get("meta", {})
        ref = meta.get("dagster", {}).get("ref", {})
        if ref:
            wanted = (
                ref["name"],
                ref.get("package") or self.manifest["metadata"]["project_name"],
                ref.get("version"),
            )
            attached = next(
                (
                    unique_id
                    for unique_id, node in self.manifest["nodes"].items()
                    if (node["name"], node["package_name"], node.get("version")) == wanted
                ),
                None,
            )
        return attached

    def _upstream_ids(self, props: Mapping[str, Any]) -> set[str]:
        """Sources and assets this node reads, looking through ephemeral models and metrics."""
        found: set[str] = set()
        pending = list(props.get("depends_on", {}).get("nodes", []))
        seen: set[str] = set()
        while pending:
            unique_id = pending.pop()
            if unique_id in seen:
                continue
            seen.add(unique_id)
            parent = self.node(unique_id)
            if _passes_through(parent):
                pending.extend(parent.get("depends_on", {}).get("nodes", []))
            elif parent["resource_type"] in ASSET_RESOURCE_TYPES | {"source"}:
                found.add(unique_id)
        return found

    def _owners(self, props: Mapping[str, Any]) -> list[str] | None:
        configured = props.get("meta", {}).get("dagster", {}).get("owners")
        if configured:
            return list(configured)
        groups = {g["name"]: g for g in self.manifest.get("groups", {}).values()}
        group = groups.get(props.get("group") or "")
        email = (group or {}).get("owner", {}).get("email")
        if not email:
            return None
        return [email] if isinstance(email, str) else list(email)


def _is_asset(props: Mapping[str, Any]) -> bool:
    return props["resource_type"] in ASSET_RESOURCE_TYPES and not _passes_through(props)


def _passes_through(props: Mapping[str, Any]) -> bool:
    return props["resource_type"] in PASS_THROUGH_TYPES or (
        props["resource_type"] == "model"
        and props.get("config", {}).get("materialized") == "ephemeral"
    )


def _table_metadata(props: Mapping[str, Any]) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    materialized = props.get("config", {}).get("materialized")
    if materialized is not None:
        metadata[MATERIALIZATION_TYPE_KEY] = materialized
    columns = props.get("columns", {})
    if columns:
        # Column descriptions come from the models' yml files; dbt knows no types before a run.
        metadata["dagster/column_schema"] = dg.TableSchema(
            columns=[
                dg.TableColumn(
                    name=name,
                    type=column.get("data_type") or "?",
                    description=column.get("description"),
                    tags={tag: "" for tag in column.get("tags", [])},
                )
                for name, column in columns.items()
            ]
        )
    source_name = props["name"] if props["resource_type"] == "source" else None
    parts = [props.get("database"), props.get("schema"), props.get("alias"), source_name]
    if any(parts):
        metadata["dagster/table_name"] = ".".join(p for p in parts if p)
    return metadata


def _description(props: Mapping[str, Any]) -> str:
    summary = props.get("description") or f"dbt {props['resource_type']} {props['name']}"
    code = textwrap.indent(props.get("raw_sql") or props.get("raw_code", ""), "    ")
    return f"{summary}\n\n#### Raw SQL:\n```sql\n{code}\n```"


def _code_version(props: Mapping[str, Any]) -> str | None:
    code = props.get("raw_sql") or props.get("raw_code")
    if code:
        # A change detector for the model's SQL, not a security digest.
        return hashlib.sha1(code.encode("utf-8"), usedforsecurity=False).hexdigest()
    return props.get("checksum", {}).get("checksum")
