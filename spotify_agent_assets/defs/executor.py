"""How a run's steps are executed: processes forked from a server that loaded the code once.

Dagster's default multiprocess executor spawns a fresh interpreter per step, and each one
imports the code location again (dagster, our modules, pyarrow: over a second) and then
Dagster's storage, pyarrow's datasets, DuckDB... before it does any work; on 2 cores that was
most of a run (``docs/BENCHMARKS.md``, "Per-step overhead"). Started with ``forkserver``, the
executor starts one server per run that imports all of that once; every step process is
forked from it with them already imported. ``fork`` of the run worker itself would be quicker
still, but Dagster does not offer it: the run worker has threads, and forking a threaded
process is unsafe.

Run config may still choose ``in_process`` (``make run`` does) or set its own ``multiprocess``
options; the forkserver start and the concurrency limit below are only defaults.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import dagster as dg

from spotify_agent_assets.environment import AgentSettings, StepExecutor

# Imported once per run by the forkserver, so no step process imports them again. A name a
# future Dagster moves is skipped by the forkserver: steps get slower, not wrong.
FORKSERVER_PRELOAD = (
    # What the ``dagster`` console script imports: multiprocessing runs the parent's main
    # script again in every child (``"__main__"`` itself would be the documented way, but
    # Python 3.11's forkserver never receives the script's path and skips it).
    "dagster._cli",
    "spotify_agent_assets.definitions",
    # What every step imports to open the instance and write its events: Dagster's SQLite
    # storage (sqlalchemy, alembic), its compute logs (universal_pathlib, fsspec), secrets.
    "dagster._core.instance.factory",
    "dagster._core.storage.sqlite_storage",
    "dagster._core.storage.root",
    "dagster._core.storage.local_compute_log_manager",
    "dagster._core.secrets.env_file",
    "dagster._core.workspace.autodiscovery",
    "dagster._core.definitions.repository_definition.repository_data_builder",
    "upath.core",
    # What most steps import to read or write the lake and the warehouse, and the Spotify
    # client. dagster-dbt is left out: a run that needs it has one dbt step, which pays the
    # import either way.
    "pyarrow.dataset",
    "pyarrow.parquet",
    "duckdb",
    "spotify_agent_assets.spotify.client",
)
# Locally the Spotify steps talk to the sample world in-process.
SAMPLE_WORLD_PRELOAD = (
    "spotify_agent_assets.sample_world.api",
    "spotify_agent_assets.sample_world.transport",
)


def max_concurrent_steps() -> int:
    """The CPUs this process may run on (taskset, a container's cpuset), not the host's count:
    steps are CPU-bound, and more of them than cores only queue for the same cores."""
    return len(os.sched_getaffinity(0))


def step_executor(settings: AgentSettings) -> dg.ExecutorDefinition:
    """Dagster's default executor (multiprocess, or ``in_process`` when run config says so),
    starting step processes from a forkserver with ``settings``' modules preloaded; or, with
    ``SPOTIFY_AGENT_EXECUTOR=celery`` (the prod default), Celery workers (``celery_executor``)."""
    if settings.executor is StepExecutor.CELERY:
        from spotify_agent_assets.defs.celery_executor import celery_step_executor

        return celery_step_executor()
    preload = [*FORKSERVER_PRELOAD, *(SAMPLE_WORLD_PRELOAD if settings.use_sample_world else ())]
    return dg.multi_or_in_process_executor.configured(
        lambda config: with_forkserver_defaults(config, preload, max_concurrent_steps()),
        name="forkserver_or_in_process",
        # The schema of the executor configured: the same run config stays valid.
        config_schema=dg.multi_or_in_process_executor.config_schema.as_field(),
    )


def with_forkserver_defaults(
    config: dict[str, Any], preload: Sequence[str], max_concurrent: int
) -> dict[str, Any]:
    """``config`` with the forkserver start and ``max_concurrent`` filled in where the run's
    own ``multiprocess`` config leaves them unset; ``in_process`` config is left alone."""
    if "multiprocess" not in config:
        return config
    multiprocess = dict(config["multiprocess"])
    if not multiprocess.get("start_method"):
        multiprocess["start_method"] = {"forkserver": {"preload_modules": list(preload)}}
    if not multiprocess.get("max_concurrent"):
        multiprocess["max_concurrent"] = max_concurrent
    return {"multiprocess": multiprocess}
