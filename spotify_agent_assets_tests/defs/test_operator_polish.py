"""What an operator sees of every asset, job and group in the UI (issue 16, operator polish).

Walks the code location as Dagster loads it and lists every asset without a description, owners,
kinds or a code reference, and every job or group whose name does not say what it does, so one
failure names all the gaps at once.
"""

import re
from pathlib import Path

import dagster as dg
import pytest

from spotify_agent_assets.definitions import defs
from spotify_agent_assets.defs.operator_policy import (
    CODE_REFERENCES_KEY,
    GROUP_OWNERS,
    apply_operator_policy,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
# Words that say when or how often, or what kind of thing, but not what a job does.
VAGUE_WORDS = {"job", "jobs", "and", "the", "of", "daily", "weekly", "hourly", "nightly"}
# Group names that say nothing about what is in them.
VAGUE_GROUPS = {"default", "misc", "other", "assets", "common", "shared", "general"}
OWNER = re.compile(r"^(team:[a-z0-9-]+|[^@\s]+@[^@\s]+\.[a-z]+)$")


def _asset_nodes() -> list:
    graph = defs.resolve_asset_graph()
    return sorted(
        (graph.get(key) for key in graph.get_all_asset_keys() if graph.get(key).is_executable),
        key=lambda node: node.key.to_user_string(),
    )


def test_every_asset_has_a_description_owners_kinds_and_a_code_reference() -> None:
    nodes = _asset_nodes()
    assert len(nodes) > 40  # the whole graph, not an empty one
    gaps: list[str] = []
    for node in nodes:
        name = node.key.to_user_string()
        if not (node.description or "").strip():
            gaps.append(f"{name}: no description")
        if not node.owners:
            gaps.append(f"{name}: no owners")
        gaps += [
            f"{name}: owner {o!r} is neither team:<name> nor an email"
            for o in node.owners
            if not OWNER.match(o)
        ]
        if not node.kinds:
            gaps.append(f"{name}: no kinds")
        references = node.metadata.get(CODE_REFERENCES_KEY)
        if references is None or not references.code_references:
            gaps.append(f"{name}: no code reference ({CODE_REFERENCES_KEY})")
            continue
        for reference in references.code_references:
            path = Path(reference.file_path)
            if not path.is_file() or not path.resolve().is_relative_to(REPO_ROOT):
                gaps.append(f"{name}: code reference {path} is not a file of this repository")
    assert not gaps, "assets an operator cannot place:\n" + "\n".join(gaps)


def test_owners_follow_the_group_unless_the_asset_names_its_own() -> None:
    wrong = [
        f"{node.key.to_user_string()} (group {node.group_name}): {list(node.owners)}"
        for node in _asset_nodes()
        if node.group_name != "activation"  # activation names its own owners, the same team
        and not node.key.path[-1].startswith(("stg_", "int_", "fct_", "dim_"))
        and list(node.owners) != list(GROUP_OWNERS[node.group_name])
    ]
    assert not wrong, "owners differ from operator_policy.GROUP_OWNERS:\n" + "\n".join(wrong)


def test_python_assets_link_to_the_function_that_builds_them() -> None:
    node = defs.resolve_asset_graph().get(dg.AssetKey("artist_trends"))
    (reference,) = node.metadata[CODE_REFERENCES_KEY].code_references
    source = Path(reference.file_path).read_text().splitlines()
    assert reference.file_path.endswith("defs/analytics/assets.py")
    # The reference points at the decorated function (or its decorator's first line).
    window = "\n".join(source[reference.line_number - 1 : reference.line_number + 30])
    assert "def artist_trends(" in window


def test_a_group_without_an_owner_fails_at_load_naming_it() -> None:
    @dg.asset(group_name="scratch", kinds={"python"}, description="a table nobody owns")
    def orphan() -> None: ...

    with pytest.raises(ValueError, match=r"orphan is in group 'scratch'.*GROUP_OWNERS"):
        apply_operator_policy([orphan])


def test_the_policy_keeps_owners_and_references_an_asset_sets_itself() -> None:
    @dg.asset(group_name="ml", owners=["ml-oncall@example.com"], kinds={"python"})
    def owned() -> None: ...

    (mapped,) = apply_operator_policy([owned])
    spec = next(iter(mapped.specs))
    assert spec.owners == ["ml-oncall@example.com"]
    (reference,) = spec.metadata[CODE_REFERENCES_KEY].code_references
    assert reference.file_path == __file__
    (again,) = apply_operator_policy([mapped])  # idempotent: no second reference
    assert len(next(iter(again.specs)).metadata[CODE_REFERENCES_KEY].code_references) == 1


def _words(name: str) -> set[str]:
    # Five letters are enough to match "interactions" with "interaction_matrix" and "rotation"
    # with "rotate_runs_and_logs" without a stemmer.
    return {w[:5] for w in re.split(r"[^a-z0-9]+", name.lower()) if w and w not in VAGUE_WORDS}


def test_jobs_are_named_for_what_they_do() -> None:
    """A job's name shares a word with what it materializes or runs, and it has a description."""
    vague: list[str] = []
    jobs = [
        job for job in defs.get_repository_def().get_all_jobs() if not job.name.startswith("__")
    ]
    assert len(jobs) >= 10
    for job in jobs:
        targets = {n.name for n in job.graph.node_defs if not n.name.endswith("_table_checks")}
        if job.asset_layer is not None:
            for key in job.asset_layer.executable_asset_keys:
                targets.add(key.to_user_string())
                targets.add(defs.resolve_asset_graph().get(key).group_name or "")
        target_words = set().union(*(_words(t) for t in targets)) if targets else set()
        if not _words(job.name) & target_words:
            vague.append(f"{job.name} (runs {sorted(targets)})")
        if not (job.description or "").strip():
            vague.append(f"{job.name}: no description")
    assert not vague, "jobs whose name does not say what they do:\n" + "\n".join(vague)


def test_groups_are_named_for_their_domain_and_have_an_owner() -> None:
    groups = {node.group_name for node in _asset_nodes()}
    assert groups == set(GROUP_OWNERS), "every group, and only those, has an owning team"
    assert not groups & VAGUE_GROUPS, f"groups named for nothing: {sorted(groups & VAGUE_GROUPS)}"


def test_a_partitioned_write_logs_how_far_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    """A backfill of many partitions says how many are written (not after the last: the
    step's own summary follows)."""
    from types import SimpleNamespace

    from spotify_agent_assets.defs.lake import io_manager

    monkeypatch.setattr(io_manager, "PROGRESS_SECONDS", 0.0)
    lines: list[str] = []
    context = SimpleNamespace(log=SimpleNamespace(info=lines.append))
    items = [(f"2026-01-0{day}", None, None) for day in range(1, 5)]
    assert list(io_manager._logged(context, "stream_events", iter(items), 4)) == items
    assert [line.split(" partitions")[0] for line in lines] == [
        "stream_events: 1/4",
        "stream_events: 2/4",
        "stream_events: 3/4",
    ]
    assert lines[-1].endswith("(last 2026-01-03)")


def test_references_link_to_the_repository_when_its_url_is_set() -> None:
    """With SPOTIFY_AGENT_SOURCE_URL the UI links each asset to its file on GitHub (or GitLab),
    dbt models to their SQL file, at the configured branch."""
    from spotify_agent_assets.defs.analytics.dbt_assets import DBT_ASSETS
    from spotify_agent_assets.defs.analytics.python_assets import ANALYTICS_ASSETS

    linked = apply_operator_policy(
        [*ANALYTICS_ASSETS, *DBT_ASSETS],
        source_url="https://github.com/example/spotify_agent_assets",
        source_branch="release",
    )
    urls = {
        key.to_user_string(): [r.url for r in metadata[CODE_REFERENCES_KEY].code_references]
        for asset in linked
        for key, metadata in asset.metadata_by_key.items()
    }
    base = "https://github.com/example/spotify_agent_assets/tree/release/"
    (trends,) = urls["artist_trends"]
    assert trends.startswith(base + "spotify_agent_assets/defs/analytics/assets.py#L")
    assert urls["dim_track"] == [base + "dbt_project/models/analytics/dim_track.sql"]


def test_a_source_url_that_dagster_cannot_link_fails_at_load() -> None:
    from spotify_agent_assets.environment import EnvironmentConfigError, load_settings

    settings = load_settings({"SPOTIFY_AGENT_SOURCE_URL": "https://github.com/example/repo/"})
    assert settings.source_url == "https://github.com/example/repo"
    assert settings.source_branch == "main"
    assert load_settings({}).source_url is None
    with pytest.raises(EnvironmentConfigError, match="SPOTIFY_AGENT_SOURCE_URL must be the https"):
        load_settings({"SPOTIFY_AGENT_SOURCE_URL": "git@example.org:repo.git"})
