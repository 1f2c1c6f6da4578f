"""What every asset shows an operator, applied once to the whole code location.

Owners follow the asset's group (one team per domain), and every asset links to the code that
builds it. Both are applied here, in one pass over the asset list in ``definitions.py``, rather
than repeated on the 40-odd asset decorators: a new asset gets them without anyone remembering
to, and `spotify_agent_assets_tests/defs/test_operator_polish.py` fails one that still lacks a
description, owners, kinds or a code reference.

An owner set on an asset itself wins (a dbt model's ``meta.dagster.owners`` or its dbt group's
owner, the activation assets' ``OWNERS``); the policy only fills what is empty.
"""

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import dagster as dg

from spotify_agent_assets.defs.code_references import with_code_references

# One team per group. A group missing here fails the code location's load (see
# `with_group_owners`), so a new group has to be given an owner when it is introduced.
GROUP_OWNERS: Mapping[str, tuple[str, ...]] = {
    # Ingestion: the Spotify catalogue, its daily history and the listening events.
    "spotify": ("team:data-platform",),
    "spotify_history": ("team:data-platform",),
    "streams": ("team:data-platform",),
    # dbt models and the Python analytics on top of them.
    "analytics": ("team:analytics",),
    # Audio features, classifiers and the recommender.
    "audio": ("team:ml",),
    "ml": ("team:ml",),
    # Playlists, alerts, social metrics and generated content.
    "activation": ("team:activation",),
}

CODE_REFERENCES_KEY = "dagster/code_references"
# The folder holding spotify_agent_assets/ and dbt_project/: the repository's root.
REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


def apply_operator_policy(
    assets: Sequence[dg.AssetsDefinition],
    source_url: str | None = None,
    source_branch: str = "main",
) -> list[dg.AssetsDefinition]:
    """``assets`` with a code reference on each one lacking it, and its group's owners where it
    names none. With ``source_url`` (a GitHub or GitLab repository, `AgentSettings.source_url`)
    the references link to ``source_branch`` there rather than to files on this machine."""
    referenced = with_missing_code_references(assets)
    if source_url:
        referenced = linked_to_repository(referenced, source_url, source_branch)
    return with_group_owners(referenced)


def linked_to_repository(
    assets: Sequence[dg.AssetsDefinition], url: str, branch: str
) -> list[dg.AssetsDefinition]:
    """Local file references as URLs of the same files in the repository at ``url``.

    Paths are mapped from the repository root (the folder holding this package), so the SQL
    files of dbt models link as well as the Python ones.
    """
    mapping = dg.AnchorBasedFilePathMapping(
        local_file_anchor=REPOSITORY_ROOT, file_anchor_path_in_repository=""
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return list(
            dg.link_code_references_to_git(
                list(assets), git_url=url, git_branch=branch, file_path_mapping=mapping
            )
        )


def with_missing_code_references(
    assets: Sequence[dg.AssetsDefinition],
) -> list[dg.AssetsDefinition]:
    """A link to the Python function that builds each asset without one.

    Definitions that already carry references for every key keep only theirs: a dbt model points
    at its SQL file (dagster-dbt's translator), which says more than the step running dbt.
    """
    return [
        asset if _has_code_references(asset) else with_code_references([asset])[0]
        for asset in assets
    ]


def with_group_owners(assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """Every spec without owners given its group's team from `GROUP_OWNERS`."""
    return list(dg.map_asset_specs(_owned, assets))


def _owned(spec: dg.AssetSpec) -> dg.AssetSpec:
    if spec.owners:
        return spec
    group = spec.group_name or "default"
    if group not in GROUP_OWNERS:
        raise ValueError(
            f"asset {spec.key.to_user_string()} is in group {group!r}, which has no owner in "
            f"operator_policy.GROUP_OWNERS (groups with owners: {sorted(GROUP_OWNERS)}); add "
            "the team that answers for it there, or set owners= on the asset"
        )
    return spec.replace_attributes(owners=list(GROUP_OWNERS[group]))


def _has_code_references(asset: dg.AssetsDefinition) -> bool:
    return all(CODE_REFERENCES_KEY in asset.metadata_by_key.get(key, {}) for key in asset.keys)
