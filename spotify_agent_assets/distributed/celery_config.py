"""Celery queues per workload and the broker settings both sides of a Celery run must share.

A run's orchestrator (the run worker) puts each step on a queue; Celery workers started with
``-Q io`` (or ``cpu``, ``ml``) take them. Both build their Celery app from
``celery_config_source()`` and the same broker, so they agree on queues and acknowledgements.

Queues follow what a step waits on, so each pool of workers can be sized for it:

- ``io``: network and object storage (the Spotify Web API, landing-zone ingestion, the
  activation channels and connectors, backups and retention: lake copies and deletes). Many
  slots per core; the Spotify steps are also held to the ``spotify_api`` pool.
- ``cpu``: dbt models on DuckDB, the Python analytics, audio analysis (librosa). One slot per
  core; memory per slot matters for the daily models.
- ``ml``: training and serving the recommender (torch, MLflow). Few, large workers.

The broker URL may carry a password, so it is only ever read from its environment variable
(``DAGSTER_CELERY_BROKER_URL``) by Dagster's ``StringSource`` or the worker app, and no error
here repeats it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

IO_QUEUE = "io"
CPU_QUEUE = "cpu"
ML_QUEUE = "ml"
QUEUES = (IO_QUEUE, CPU_QUEUE, ML_QUEUE)

# Every asset group's queue. A group missing here fails the code location's load
# (``queue_for_group``), so a new group gets a deliberate choice instead of a silent default.
QUEUE_BY_GROUP: Mapping[str, str] = MappingProxyType(
    {
        "spotify": IO_QUEUE,
        "spotify_history": IO_QUEUE,
        "streams": IO_QUEUE,
        # Mostly waiting on outside services: Spotify write-back, alert channels, YouTube and
        # Last.fm, the content model's API.
        "activation": IO_QUEUE,
        "analytics": CPU_QUEUE,
        "audio": CPU_QUEUE,
        "ml": ML_QUEUE,
    }
)
# Steps without a queue tag: the maintenance jobs' ops (backups, restore checks, retention,
# erasure, health checks), which copy, delete and probe storage and services.
DEFAULT_QUEUE = IO_QUEUE

BROKER_URL_VAR = "DAGSTER_CELERY_BROKER_URL"
BACKEND_URL_VAR = "DAGSTER_CELERY_BACKEND_URL"
REDIS_SCHEMES = frozenset({"redis", "rediss"})
AMQP_SCHEMES = frozenset({"amqp", "amqps", "pyamqp"})
# RabbitMQ replies on the connection the task was sent on; no result store needed.
AMQP_RESULT_BACKEND = "rpc://"


class CeleryConfigError(ValueError):
    """A Celery setting is missing or unusable; the message never includes a URL's secret."""


def queue_for_group(group: str | None) -> str:
    """The Celery queue of the steps of asset group ``group``."""
    if group is None or group not in QUEUE_BY_GROUP:
        known = ", ".join(sorted(QUEUE_BY_GROUP))
        raise CeleryConfigError(
            f"asset group {group!r} has no Celery queue; add it to QUEUE_BY_GROUP in "
            f"spotify_agent_assets/distributed/celery_config.py (known groups: {known})"
        )
    return QUEUE_BY_GROUP[group]


def broker_scheme(url: str, variable: str = BROKER_URL_VAR) -> str:
    """The scheme of a Celery broker URL (``redis``, ``rediss``, ``amqp``, ``amqps`` or
    ``pyamqp``), or an error naming ``variable`` and the scheme only, never the URL."""
    text = url.strip()
    if not text:
        raise CeleryConfigError(
            f"{variable} is not set; expected a broker URL such as redis://redis:6379/0 or "
            "amqp://user:password@rabbitmq:5672//"
        )
    scheme = urlsplit(text).scheme.lower()
    allowed = sorted(REDIS_SCHEMES | AMQP_SCHEMES)
    if scheme not in REDIS_SCHEMES | AMQP_SCHEMES:
        raise CeleryConfigError(
            f"{variable} has scheme {scheme or '(none)'!r}; expected one of: {', '.join(allowed)}"
        )
    if not urlsplit(text).hostname:
        raise CeleryConfigError(f"{variable} names no host; expected {scheme}://host[:port]/...")
    return scheme


def result_backend_source(environ: Mapping[str, str]) -> str:
    """Where the Celery results go, as the name of the variable that holds the URL or
    ``rpc://``: ``DAGSTER_CELERY_BACKEND_URL`` when set, else the broker itself for Redis
    and RabbitMQ's reply queues (``rpc://``) for AMQP."""
    if (environ.get(BACKEND_URL_VAR) or "").strip():
        broker_scheme(environ[BACKEND_URL_VAR], BACKEND_URL_VAR)
        return BACKEND_URL_VAR
    scheme = broker_scheme(environ.get(BROKER_URL_VAR) or "")
    return BROKER_URL_VAR if scheme in REDIS_SCHEMES else AMQP_RESULT_BACKEND


def celery_config_source() -> dict[str, Any]:
    """The Celery settings the executor and the workers share (lowercase setting names)."""
    return {
        "task_default_queue": DEFAULT_QUEUE,
        # One step at a time per slot: a worker must not hold a second step it cannot start
        # while another worker idles (steps last seconds to minutes, not milliseconds).
        "worker_prefetch_multiplier": 1,
        # Acknowledged on receipt (Celery's default), deliberately: with late acknowledgement a
        # Redis broker hands a step whose worker died to another worker only after its
        # visibility timeout, and hands a step that simply runs longer than that to a second
        # worker while the first still runs it. A step lost with its worker fails its run
        # instead (run monitoring's max runtime, or an operator's terminate), and the run is
        # re-executed from failure; lake writes are atomic, so nothing partial stays visible.
        "task_acks_late": False,
        # Results are read once by the run's orchestrator; a day is ample for a paused run.
        "result_expires": 24 * 60 * 60,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "max_retries": 3,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
    }
