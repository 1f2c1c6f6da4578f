"""Steps on a real dagster-celery worker: Redis broker, PostgreSQL instance, S3 lake (SeaweedFS).

The runs are ``dagster asset materialize`` of ``stream_events`` (with its table checks) over a
few days of landing files in S3, as one step (a single-run backfill); the steps go to the
``io`` queue and a worker started with ``dagster-celery worker start`` executes them. Where a
step ran is read from the run's event log: each event records the pid of the process that
wrote it. Then the worker is SIGKILLed (with its pool) in the middle of a step: the lake keeps
whole partitions, the run is terminated, and a new run on a new worker completes them.
RabbitMQ, the broker's alternative, runs a smaller job.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from spotify_agent_assets.lake import ParquetLake
from spotify_agent_assets.sample_world.listening import ListeningWorld
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.distributed.celery_harness import (
    Worker,
    celery_environment,
    flush_redis,
    redis_broker_url,
    start_materialize,
    start_worker,
    write_landing_day,
)
from spotify_agent_assets_tests.s3_server import S3Server
from spotify_agent_assets_tests.services import require_service

pytestmark = pytest.mark.slow

RUN_TIMEOUT = 240.0
STEP = "stream_events"
# The multi-asset writes both tables in one step; the CLI must select them together.
SELECTION = "stream_events,stream_quarantine"
CHECK_STEPS = {"stream_events_table_checks", "stream_quarantine_table_checks"}
# Days in one run (a single-run backfill: one step), so the step lasts long enough to be
# killed in its middle.
DAYS = 3


@pytest.fixture
def celery_env(
    tmp_path: Path, postgres_dagster_home: Path, s3_server: S3Server
) -> Iterator[dict[str, str]]:
    """A worker's and a run's shared environment, on a fresh Redis database."""
    require_service("redis")
    broker = redis_broker_url()
    flush_redis(broker)
    prefix = f"celery-{uuid.uuid4().hex[:8]}"
    yield celery_environment(
        dagster_home=postgres_dagster_home,
        data_dir=tmp_path / "data",
        broker_url=broker,
        lake_url=s3_server.url(f"{prefix}/lake"),
        landing_url=s3_server.url(f"{prefix}/landing"),
        s3=s3_server,
    )
    flush_redis(broker)


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    """Workers a test starts; whatever is still running at its end is stopped."""
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.stop()


def _landing_prefix(env: dict[str, str], s3: S3Server) -> str:
    return env["SPOTIFY_AGENT_LANDING_URL"].removeprefix(f"s3://{s3.bucket}/")


def _lake(env: dict[str, str], s3: S3Server) -> ParquetLake:
    return ParquetLake(env["SPOTIFY_AGENT_LAKE_URL"], s3.settings())


def _run_events(instance: dg.DagsterInstance, run_id: str) -> list[dg.DagsterEvent]:
    return [e.dagster_event for e in instance.all_logs(run_id) if e.dagster_event is not None]


def _only_run_id(instance: dg.DagsterInstance, exclude: set[str] = frozenset()) -> str:
    runs = [r.run_id for r in instance.get_runs() if r.run_id not in exclude]
    assert len(runs) == 1, f"expected one new run, found {runs}"
    return runs[0]


def _wait(process, log: Path, timeout: float = RUN_TIMEOUT) -> int:
    try:
        return process.wait(timeout=timeout)
    except Exception:
        process.kill()
        raise AssertionError(f"run did not finish in {timeout:.0f} s:\n{log.read_text()}") from None


def _ids_by_day(table: pa.Table) -> dict[dt.date, list[str]]:
    days = table.column("date").to_pylist()
    ids = table.column("event_id").to_pylist()
    out: dict[dt.date, list[str]] = {}
    for day, event_id in zip(days, ids, strict=True):
        out.setdefault(day, []).append(event_id)
    return out


def _assert_steps_ran_on(worker: Worker, run_pid: int, events: list[dg.DagsterEvent]) -> None:
    """Every step was executed by a process of ``worker`` (its pool), not by the run's."""
    starts = {e.step_key: e.pid for e in events if e.event_type_value == "STEP_START"}
    assert set(starts) == {STEP, *CHECK_STEPS}
    for step_key, pid in starts.items():
        assert pid != run_pid, step_key
        assert os.getpgid(pid) == worker.pgid, step_key
    engine = [e.message or "" for e in events if e.event_type_value == "ENGINE_EVENT"]
    # The executor's and the worker's own records of the hand-over.
    assert any(f'celery task for step "{STEP}" to queue "io"' in m for m in engine), engine
    assert any(f"Executing steps {STEP} in celery worker" in m for m in engine), engine


@pytest.mark.postgres
@pytest.mark.s3
def test_steps_run_on_the_worker_and_survive_its_sigkill_mid_step(
    celery_env: dict[str, str], s3_server: S3Server, world: SampleWorld, workers, tmp_path: Path
) -> None:
    listening = ListeningWorld(world)
    days = [dt.date(2026, 10, 3) + dt.timedelta(days=i) for i in range(DAYS)]
    span = f"{days[0].isoformat()}...{days[-1].isoformat()}"
    landing = _landing_prefix(celery_env, s3_server)
    first: dict[dt.date, list[str]] = {}
    full: dict[dt.date, list[str]] = {}
    late: dict[dt.date, pa.Table] = {}
    for day in days:
        events = listening.events_for_day(day)
        morning = pc.less(pc.hour(events.column("ts")), 12)
        early = events.filter(morning)
        late[day] = events.filter(pc.invert(morning))
        write_landing_day(s3_server, landing, early, f"app-{day:%Y%m%d}-00.parquet")
        first[day] = sorted(early.column("event_id").to_pylist())
        full[day] = sorted(events.column("event_id").to_pylist())

    # 1. The first delivery: every step on the worker, the partitions in the S3 lake.
    workers.append(start_worker(celery_env, tmp_path))
    log = tmp_path / "run-1.log"
    run = start_materialize(celery_env, SELECTION, log, partition_range=span)
    assert _wait(run, log) == 0, log.read_text()
    lake = _lake(celery_env, s3_server)
    with dg.DagsterInstance.get() as instance:
        first_run = _only_run_id(instance)
        stored_run = instance.get_run_by_id(first_run)
        assert stored_run.is_success
        # The broker's URL (a secret when it carries a password) is not in the stored run.
        assert celery_env["DAGSTER_CELERY_BROKER_URL"] not in repr(stored_run)
        _assert_steps_ran_on(workers[0], run.pid, _run_events(instance, first_run))
    files = lake.file_uris("streams", STEP)
    assert sorted(files) == [day.isoformat() for day in days]
    assert all(uri.startswith("s3://") for uris in files.values() for uri in uris)
    stored = _ids_by_day(lake.read("streams", STEP))
    assert {day: sorted(ids) for day, ids in stored.items()} == first

    # 2. The second delivery: its run's worker is SIGKILLed, pool and all, mid-step.
    for day in days:
        write_landing_day(s3_server, landing, late[day], f"app-{day:%Y%m%d}-01.parquet")
    log = tmp_path / "run-2.log"
    run = start_materialize(celery_env, SELECTION, log, partition_range=span)
    seen = {first_run}
    with dg.DagsterInstance.get() as instance:
        deadline = time.monotonic() + RUN_TIMEOUT
        killed_run = None
        while time.monotonic() < deadline and killed_run is None:
            for run_id in [r.run_id for r in instance.get_runs() if r.run_id not in seen]:
                if any(
                    e.event_type_value == "STEP_START" and e.step_key == STEP
                    for e in _run_events(instance, run_id)
                ):
                    workers[0].kill()
                    killed_run = run_id
            time.sleep(0.05)
        assert killed_run is not None, f"the step never started:\n{log.read_text()}"
        finished = [
            e.event_type_value
            for e in _run_events(instance, killed_run)
            if e.step_key == STEP and e.event_type_value in {"STEP_SUCCESS", "STEP_FAILURE"}
        ]
        assert finished == [], "the worker was killed after the step had finished"

        # Every partition is one whole version, the first delivery or both, never a mix or a
        # half-written file: the lake replaces a partition's file in one PUT.
        for key, uris in lake.file_uris("streams", STEP).items():
            assert [uri.rsplit("/", 1)[1] for uri in uris] == ["part-0.parquet"], key
        stored = _ids_by_day(lake.read("streams", STEP))
        assert set(stored) == set(days)
        for day in days:
            assert sorted(stored[day]) in (first[day], full[day]), day

        # Nothing reports the lost step, so the run waits on it until it is terminated (the
        # UI's Terminate, or run monitoring at the run's max runtime: both signal the run's
        # process); then it fails.
        run.send_signal(signal.SIGTERM)
        _wait(run, log, timeout=60)
        assert instance.get_run_by_id(killed_run).status == dg.DagsterRunStatus.FAILURE
        seen.add(killed_run)

        # 3. A new worker and a new run of the same partitions: complete, and nothing twice.
        workers.append(start_worker(celery_env, tmp_path))
        log = tmp_path / "run-3.log"
        run = start_materialize(celery_env, SELECTION, log, partition_range=span)
        assert _wait(run, log) == 0, log.read_text()
        retry = _only_run_id(instance, exclude=seen)
        assert instance.get_run_by_id(retry).is_success
        _assert_steps_ran_on(workers[1], run.pid, _run_events(instance, retry))
    stored = _ids_by_day(lake.read("streams", STEP))
    assert {day: sorted(ids) for day, ids in stored.items()} == full


def test_rabbitmq_is_the_brokers_alternative(
    workers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # RabbitMQ as the broker and its reply queues (rpc://) for the results; the instance and
    # the lake are local folders, which a worker on this machine shares.
    require_service("rabbitmq")
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = celery_environment(
        dagster_home=home,
        data_dir=tmp_path / "data",
        broker_url="amqp://guest:guest@127.0.0.1:5672//",
        lake_url=str(tmp_path / "data" / "lake"),
        landing_url=str(tmp_path / "data" / "landing"),
        s3=None,
    )
    worker = start_worker(env, tmp_path, queues=("io",))
    workers.append(worker)
    log = tmp_path / "run.log"
    run = start_materialize(env, "artist_roster", log)
    assert _wait(run, log) == 0, log.read_text()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        run_id = _only_run_id(instance)
        assert instance.get_run_by_id(run_id).is_success
        starts = [
            e.pid for e in _run_events(instance, run_id) if e.event_type_value == "STEP_START"
        ]
    assert len(starts) == 2  # the asset and its table checks
    assert all(os.getpgid(pid) == worker.pgid for pid in starts)
