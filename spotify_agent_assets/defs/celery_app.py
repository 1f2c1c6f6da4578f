"""The Celery app our workers run: dagster-celery's step task, on our broker and queues.

Start a worker per queue (or several queues per worker) with dagster-celery's CLI::

    dagster-celery worker start -A spotify_agent_assets.defs.celery_app -q io
    dagster-celery worker start -A spotify_agent_assets.defs.celery_app -q cpu -- -c 2

``dagster_celery.app`` would read the broker from a ``dagster_celery_config`` module that
``dagster-celery worker start -y config.yaml`` writes under ``DAGSTER_HOME`` with the URL, and
its password, in plain text. This app instead takes the broker and backend from the same
environment variables and the same Celery settings as the executor (``celery_executor``), so
a worker and the runs that feed it cannot disagree, and nothing secret is written to disk.

The code location is imported here, once, in the worker's main process: a broken deployment
fails when the worker starts rather than on its first step, and every pool process forked
from it starts with the definitions loaded instead of importing them per process.
"""

from __future__ import annotations

import os

from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

import spotify_agent_assets.definitions  # noqa: F401 - preloaded for the pool (see above)
from spotify_agent_assets.defs.celery_executor import celery_executor_config

_config = celery_executor_config()
_backend = _config["backend"]
app = make_app(
    CeleryExecutor.for_cli(
        broker=os.environ[_config["broker"]["env"]],
        backend=os.environ[_backend["env"]] if isinstance(_backend, dict) else _backend,
        config_source=_config["config_source"],
    ).app_args()
)
execute_plan = create_task(app)
