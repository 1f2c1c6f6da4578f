"""The code location's executor: forkserver steps by default, run config still in charge."""

from __future__ import annotations

import importlib.util
from typing import Any

import dagster as dg
from dagster._core.system_config.objects import ResolvedRunConfig

from spotify_agent_assets.defs.executor import (
    FORKSERVER_PRELOAD,
    SAMPLE_WORLD_PRELOAD,
    max_concurrent_steps,
    step_executor,
)
from spotify_agent_assets.environment import AgentSettings, load_settings


@dg.asset
def probe() -> int:
    return 1


def engine_config(settings: AgentSettings, run_config: dict[str, Any]) -> dict[str, Any]:
    """The executor config Dagster resolves for a run of ``run_config``."""
    defs = dg.Definitions(assets=[probe], executor=step_executor(settings))
    job = defs.resolve_implicit_global_asset_job_def()
    return ResolvedRunConfig.build(job, run_config).execution.execution_engine_config


def test_steps_fork_from_a_preloaded_server_by_default() -> None:
    config = engine_config(load_settings({}), {})["multiprocess"]
    preload = config["start_method"]["forkserver"]["preload_modules"]
    assert preload == [*FORKSERVER_PRELOAD, *SAMPLE_WORLD_PRELOAD]
    assert "spotify_agent_assets.definitions" in preload
    assert config["max_concurrent"] == max_concurrent_steps() >= 1


def test_production_preloads_no_sample_world() -> None:
    settings = load_settings({"SPOTIFY_CLIENT_ID": "id", "SPOTIFY_CLIENT_SECRET": "secret"})
    assert not settings.use_sample_world
    config = engine_config(settings, {})["multiprocess"]
    assert config["start_method"]["forkserver"]["preload_modules"] == list(FORKSERVER_PRELOAD)


def test_run_config_still_chooses() -> None:
    settings = load_settings({})
    # make run's config: every step in the run worker.
    in_process = {"execution": {"config": {"in_process": {}}}}
    assert set(engine_config(settings, in_process)) == {"in_process"}
    own = {
        "execution": {
            "config": {"multiprocess": {"max_concurrent": 5, "start_method": {"spawn": {}}}}
        }
    }
    config = engine_config(settings, own)["multiprocess"]
    assert config["max_concurrent"] == 5
    assert config["start_method"] == {"spawn": {}}


def test_every_preloaded_module_exists() -> None:
    """The forkserver skips a module it cannot import without a word; a Dagster upgrade that
    moves one would quietly bring the per-step imports back. Here it fails loudly."""
    missing = [
        name
        for name in (*FORKSERVER_PRELOAD, *SAMPLE_WORLD_PRELOAD)
        if importlib.util.find_spec(name) is None
    ]
    assert missing == []
