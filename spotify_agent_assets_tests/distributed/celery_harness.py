"""Real dagster-celery workers and CLI runs on local Redis, for the tests and the benchmark.

Every process here is a real one, started as operators would: workers with
``dagster-celery worker start -A spotify_agent_assets.defs.celery_app``, runs with
``dagster asset materialize -m spotify_agent_assets.definitions``, both with the same
environment (Celery executor, Redis broker, a Dagster instance on PostgreSQL, a lake on S3).
Each worker leads its own process group (a new session), so it can be killed whole, pool
processes included, the way a lost machine would take them.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

    from spotify_agent_assets_tests.s3_server import S3Server

BIN = Path(sys.executable).parent
REDIS_URL = "redis://127.0.0.1:6379"
WORKER_APP = "spotify_agent_assets.defs.celery_app"
# A worker imports the code location before it reports ready (seconds on a busy machine).
WORKER_READY_TIMEOUT = 90.0


def redis_broker_url() -> str:
    """A Redis database of its own (1-15) for one test or benchmark, so queues left by another
    run on the same server are not consumed; database 0 is left to other users."""
    return f"{REDIS_URL}/{1 + uuid.uuid4().int % 15}"


def flush_redis(url: str) -> None:
    """Empty the broker's database: no step message of an earlier run may reach a new worker."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


def celery_environment(
    *,
    dagster_home: Path,
    data_dir: Path,
    broker_url: str,
    lake_url: str,
    landing_url: str,
    s3: S3Server | None,
) -> dict[str, str]:
    """The environment a worker and a run share: our executor, broker, instance, lake."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SPOTIFY_AGENT_", "DAGSTER_CELERY_", "AWS_"))
    }
    env.update(
        {
            "DAGSTER_HOME": str(dagster_home),
            "SPOTIFY_AGENT_ENV": "local",
            "SPOTIFY_AGENT_EXECUTOR": "celery",
            "DAGSTER_CELERY_BROKER_URL": broker_url,
            "SPOTIFY_AGENT_DATA_DIR": str(data_dir),
            "SPOTIFY_AGENT_LAKE_URL": lake_url,
            "SPOTIFY_AGENT_LANDING_URL": landing_url,
            "SPOTIFY_AGENT_PSEUDONYM_KEY": "5a" * 32,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if s3 is not None:
        env.update(
            {
                "AWS_ENDPOINT_URL_S3": s3.endpoint_url,
                "AWS_REGION": s3.region,
                "AWS_ACCESS_KEY_ID": s3.access_key_id,
                "AWS_SECRET_ACCESS_KEY": s3.secret_access_key,
            }
        )
    return env


@dataclass
class Worker:
    """A running ``dagster-celery worker`` and where its output goes."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pgid(self) -> int:
        return self.process.pid  # the session leader: its pid is the group's id

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole worker (the CLI, Celery's main process, its pool) at once."""
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.killpg(self.pgid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """A warm shutdown (SIGTERM), then SIGKILL for whatever is left of the group."""
        if self.process.poll() is None:
            # A worker that does not stop in time is killed just below.
            with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.pgid, signal.SIGTERM)
                self.process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.killpg(self.pgid, signal.SIGKILL)
        self.process.wait(timeout=30)


def start_worker(
    env: Mapping[str, str],
    log_dir: Path,
    *,
    queues: Sequence[str] = ("io", "cpu", "ml"),
    concurrency: int = 1,
    cpus: Sequence[int] | None = None,
) -> Worker:
    """Start a worker on ``queues`` with ``concurrency`` pool processes and wait until Celery
    reports it ready (its log's ``ready.`` line); ``cpus`` pins it (taskset) to those cores."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    log_path = log_dir / f"worker-{name}.log"
    # One comma-separated -q: dagster-celery turns each -q into a -Q of Celery's, and Celery 5
    # keeps only the last -Q given.
    command = [str(BIN / "dagster-celery"), "worker", "start", "-A", WORKER_APP, "-n", name]
    command += ["-q", ",".join(queues), "--", "-c", str(concurrency)]
    command += ["--without-gossip", "--without-mingle"]
    if cpus is not None:
        command = ["taskset", "-c", ",".join(map(str, cpus)), *command]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, env=dict(env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = Worker(name=name, process=process, log_path=log_path)
    deadline = time.monotonic() + WORKER_READY_TIMEOUT
    while time.monotonic() < deadline:
        if " ready." in worker.log():
            return worker
        if process.poll() is not None:
            raise RuntimeError(f"worker {name} exited with {process.returncode}:\n{worker.log()}")
        time.sleep(0.2)
    worker.stop()
    raise RuntimeError(
        f"worker {name} not ready after {WORKER_READY_TIMEOUT:.0f} s:\n{worker.log()}"
    )


def start_materialize(
    env: Mapping[str, str],
    selection: str,
    log_path: Path,
    *,
    partition: str | None = None,
    partition_range: str | None = None,
    config: Mapping[str, object] | None = None,
) -> subprocess.Popen[bytes]:
    """``dagster asset materialize`` as its own process: the run's orchestrator."""
    command = [
        str(BIN / "dagster"),
        "asset",
        "materialize",
        "-m",
        "spotify_agent_assets.definitions",
        "--select",
        selection,
    ]
    if partition is not None:
        command += ["--partition", partition]
    if partition_range is not None:
        command += ["--partition-range", partition_range]
    if config is not None:
        command += ["--config-json", json.dumps(config)]
    with open(log_path, "wb") as log:
        return subprocess.Popen(command, env=dict(env), stdout=log, stderr=subprocess.STDOUT)


def write_landing_day(s3: S3Server, prefix: str, table: pa.Table, name: str) -> str:
    """One day's events as a Parquet landing file at ``<prefix>/streams/<day>/<name>``."""
    import pyarrow.parquet as pq

    from spotify_agent_assets.lake.s3 import arrow_filesystem

    day = table.column("ts")[0].as_py().date().isoformat()
    path = f"{s3.bucket}/{prefix}/streams/{day}/{name}"
    fs = arrow_filesystem(s3.settings())
    with fs.open_output_stream(path) as out:
        pq.write_table(table, out)
    return path
