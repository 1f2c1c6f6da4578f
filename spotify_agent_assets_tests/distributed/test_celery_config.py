"""Queues per workload, the Celery executor's settings, and termination of a lost step.

No service needed: the step tags are read from execution plans of the real code location, and
termination is exercised on Celery's in-memory broker and result store.
"""

from __future__ import annotations

import dagster as dg
import pytest
from dagster._core.execution.api import create_execution_plan

from spotify_agent_assets.defs.celery_queues import CELERY_QUEUE_TAG, step_queues
from spotify_agent_assets.distributed.celery_config import (
    AMQP_RESULT_BACKEND,
    BACKEND_URL_VAR,
    BROKER_URL_VAR,
    QUEUE_BY_GROUP,
    QUEUES,
    CeleryConfigError,
    broker_scheme,
    queue_for_group,
    result_backend_source,
)
from spotify_agent_assets.environment import (
    EnvironmentConfigError,
    StepExecutor,
    load_settings,
)

PROD = {
    "SPOTIFY_AGENT_ENV": "prod",
    "SPOTIFY_AGENT_LAKE_URL": "s3://b/lake",
    "SPOTIFY_AGENT_BACKUP_URL": "s3://b/backups",
    "MLFLOW_TRACKING_URI": "https://mlflow.internal",
    "SPOTIFY_CLIENT_ID": "id",
    "SPOTIFY_CLIENT_SECRET": "secret",
}


def test_the_tag_name_is_dagster_celerys() -> None:
    from dagster_celery.tags import DAGSTER_CELERY_QUEUE_TAG

    assert CELERY_QUEUE_TAG == DAGSTER_CELERY_QUEUE_TAG


def test_every_step_of_the_code_location_has_its_groups_queue() -> None:
    from spotify_agent_assets.definitions import defs

    assets = list(defs.assets)
    queues = step_queues(assets)
    for definition in assets:
        (group,) = {definition.specs_by_key[key].group_name for key in definition.keys}
        assert queues[definition.node_def.name] == QUEUE_BY_GROUP[group], definition.node_def
    queue_of_asset = {
        key: queues[definition.node_def.name] for definition in assets for key in definition.keys
    }
    for check in defs.asset_checks:
        (target,) = {key.asset_key for key in check.check_keys}
        assert check.node_def.tags[CELERY_QUEUE_TAG] == queue_of_asset[target], check.node_def
    assert set(queues.values()) == set(QUEUES)
    assert queues["stream_events"] == "io"
    assert queues["analytics_daily_dbt_models"] == "cpu"
    assert queues["recommender_model"] == "ml"


def test_the_queue_tag_reaches_the_steps_of_a_job() -> None:
    # dagster-celery reads step.tags in its execution loop; they come from the op.
    from spotify_agent_assets.definitions import defs

    job = defs.resolve_job_def("stream_ingestion")
    plan = create_execution_plan(job, run_config={}, tags={"dagster/partition": "2026-10-03"})
    assert {step.key: step.tags[CELERY_QUEUE_TAG] for step in plan.steps} == {
        "stream_events": "io",
        "stream_events_table_checks": "io",
        "stream_quarantine_table_checks": "io",
    }


def test_rebuilt_ops_keep_their_pool_retry_policy_and_tags() -> None:
    from spotify_agent_assets.definitions import defs

    op = defs.get_assets_def("spotify_artists").node_def
    assert op.pool == "spotify_api"
    assert op.retry_policy is not None and op.retry_policy.max_retries == 3
    dbt_op = defs.get_assets_def(dg.AssetKey("fct_streams_daily")).node_def
    assert dbt_op.tags["dagster_dbt/select"] == "tag:daily"
    assert dbt_op.tags[CELERY_QUEUE_TAG] == "cpu"


def test_an_unknown_group_must_be_given_a_queue() -> None:
    with pytest.raises(CeleryConfigError, match=r"asset group 'billing' has no Celery queue"):
        queue_for_group("billing")


@pytest.mark.parametrize("url", ["redis://r:6379/0", "rediss://r:6380/1", "amqp://u:p@mq:5672//"])
def test_redis_and_rabbitmq_brokers_are_accepted(url: str) -> None:
    assert broker_scheme(url) == url.split(":", 1)[0]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "DAGSTER_CELERY_BROKER_URL is not set"),
        ("http://user:hunter2@broker/", "scheme 'http'"),
        ("redis://:hunter2@/0", "names no host"),
    ],
)
def test_unusable_brokers_are_refused_without_echoing_the_url(url: str, message: str) -> None:
    with pytest.raises(CeleryConfigError, match=message) as error:
        broker_scheme(url)
    assert "hunter2" not in str(error.value)


def test_results_go_to_redis_or_rabbitmqs_reply_queues_unless_a_backend_is_set() -> None:
    assert result_backend_source({BROKER_URL_VAR: "redis://r/0"}) == BROKER_URL_VAR
    assert result_backend_source({BROKER_URL_VAR: "amqp://mq//"}) == AMQP_RESULT_BACKEND
    both = {BROKER_URL_VAR: "amqp://mq//", BACKEND_URL_VAR: "redis://r/1"}
    assert result_backend_source(both) == BACKEND_URL_VAR


def test_prod_runs_on_celery_and_local_on_the_forkserver_unless_told_otherwise() -> None:
    assert load_settings({}).executor is StepExecutor.FORKSERVER
    assert load_settings(PROD).executor is StepExecutor.CELERY
    local = load_settings({"SPOTIFY_AGENT_EXECUTOR": "Celery"})
    assert local.executor is StepExecutor.CELERY
    one_box = load_settings({**PROD, "SPOTIFY_AGENT_EXECUTOR": "forkserver"})
    assert one_box.executor is StepExecutor.FORKSERVER
    with pytest.raises(EnvironmentConfigError, match=r"'k8s' is not a known executor"):
        load_settings({"SPOTIFY_AGENT_EXECUTOR": "k8s"})


def test_the_executor_config_names_variables_never_urls() -> None:
    from spotify_agent_assets.defs.celery_executor import celery_executor_config

    config = celery_executor_config({BROKER_URL_VAR: "redis://:hunter2@redis:6379/0"})
    assert config["broker"] == {"env": BROKER_URL_VAR}
    assert config["backend"] == {"env": BROKER_URL_VAR}
    assert config["config_source"]["task_default_queue"] == "io"
    assert "hunter2" not in repr(config)
    with pytest.raises(EnvironmentConfigError, match="SPOTIFY_AGENT_EXECUTOR=forkserver"):
        celery_executor_config({})


def test_a_job_gets_the_celery_executor_when_chosen(monkeypatch: pytest.MonkeyPatch) -> None:
    from spotify_agent_assets.defs.executor import step_executor

    monkeypatch.setenv(BROKER_URL_VAR, "redis://r:6379/0")
    settings = load_settings({**PROD, BROKER_URL_VAR: "redis://r:6379/0"})
    assert step_executor(settings).name == "celery"
    assert step_executor(load_settings({})).name == "forkserver_or_in_process"


def test_terminating_ends_the_wait_for_a_task_whose_worker_is_gone() -> None:
    from celery import Celery
    from celery.exceptions import TaskRevokedError

    from spotify_agent_assets.defs.celery_executor import RevocableResult

    app = Celery("lost", broker="memory://", backend="cache+memory://")
    result = RevocableResult(app.AsyncResult("a-task-no-worker-will-ever-report"))
    assert not result.ready()
    result.revoke()
    assert result.ready()
    with pytest.raises(TaskRevokedError, match="terminated before its worker reported"):
        result.get()
