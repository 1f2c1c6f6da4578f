"""The Celery executor: a run's steps go to Celery workers through a Redis (or RabbitMQ) broker.

Chosen by ``SPOTIFY_AGENT_EXECUTOR=celery`` (the default with ``SPOTIFY_AGENT_ENV=prod``);
``defs/executor.py`` imports this module only then, so a local load never imports Celery.
The run's own process only orchestrates: it puts each step on the queue of its tag
(``dagster-celery/queue``, set per asset group by ``defs/celery_queues.py``) and reads the step's
events back from the result backend; a worker (``celery_app``) executes the step in its own
process against the same Dagster instance (PostgreSQL) and the same lake (S3).

The broker and backend URLs stay environment references in the executor's config
(``{"env": ...}``), so their passwords never reach the run config Dagster stores and shows.
"""

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from celery.backends.rpc import RPCBackend
from dagster._core.execution.retries import RetryMode
from dagster_celery.core_execution_loop import core_celery_execution_loop
from dagster_celery.executor import CELERY_CONFIG, CeleryExecutor, _submit_task

from spotify_agent_assets.distributed.celery_config import (
    AMQP_RESULT_BACKEND,
    BROKER_URL_VAR,
    CeleryConfigError,
    celery_config_source,
    result_backend_source,
)
from spotify_agent_assets.environment import EXECUTOR_VAR, EnvironmentConfigError


def celery_executor_config(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The ``celery`` executor's config: broker and backend as environment references, the
    shared Celery settings; fails naming the variable when the broker setting is unusable."""
    environ = os.environ if environ is None else environ
    try:
        backend = result_backend_source(environ)
    except CeleryConfigError as error:
        raise EnvironmentConfigError(
            f"{EXECUTOR_VAR}=celery (the prod default): {error}; or set "
            f"{EXECUTOR_VAR}=forkserver to run every step on this machine"
        ) from None
    return {
        "broker": {"env": BROKER_URL_VAR},
        "backend": AMQP_RESULT_BACKEND if backend == AMQP_RESULT_BACKEND else {"env": backend},
        "config_source": celery_config_source(),
    }


def celery_step_executor(environ: Mapping[str, str] | None = None) -> dg.ExecutorDefinition:
    """Our Celery executor, configured for our broker, backend and queues.

    The config is fixed here rather than left to run config: the workers build their Celery
    app from the same settings (``celery_app``), and both sides must agree on them.
    """
    return terminable_celery_executor.configured(celery_executor_config(environ), name="celery")


class TerminableCeleryExecutor(CeleryExecutor):
    """dagster-celery's executor, except that terminating a run ends it even when a step's
    worker is gone.

    On termination dagster-celery revokes the run's tasks and then waits until each one has
    reported. A task whose worker was killed never reports, so the run would wait forever
    (seen in ``test_celery_worker``). Here a revoked task that has not reported is also stored
    as revoked in the result backend, which ends that wait; should a live worker still finish
    the step, its result changes nothing.
    """

    def execute(self, plan_context: Any, execution_plan: Any) -> Any:
        def submit(*args: Any) -> RevocableResult:
            return RevocableResult(_submit_task(*args))

        return core_celery_execution_loop(plan_context, execution_plan, step_execution_fn=submit)


class RevocableResult:
    """A Celery ``AsyncResult`` whose ``revoke()`` also stores the revocation as its result."""

    def __init__(self, result: Any) -> None:
        self._result = result

    def ready(self) -> bool:
        return bool(self._result.ready())

    def get(self) -> Any:
        return self._result.get()

    def revoke(self) -> None:
        self._result.revoke()
        # Only the worker that took a task can answer through RabbitMQ's rpc:// reply queues;
        # ending a lost step there needs a stored result backend (DAGSTER_CELERY_BACKEND_URL).
        if not self._result.ready() and not isinstance(self._result.backend, RPCBackend):
            self._result.backend.mark_as_revoked(
                self._result.id, reason="the run was terminated before its worker reported"
            )


@dg.executor(
    name="celery",
    config_schema=CELERY_CONFIG,
    requirements=dg.multiple_process_executor_requirements(),
)
def terminable_celery_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """``dagster_celery.celery_executor`` with ``TerminableCeleryExecutor``'s termination."""
    config = init_context.executor_config
    return TerminableCeleryExecutor(
        broker=config.get("broker"),
        backend=config.get("backend"),
        config_source=config.get("config_source"),
        include=config.get("include"),
        retries=RetryMode.from_config(config["retries"]),  # type: ignore[arg-type]
    )
