"""Ten daily partitions of stream ingestion on a Celery worker, 1 and 2 slots, against the local
executor (``make bench-celery``; docs/BENCHMARKS.md, "Partitions on Celery workers").

Data: ten days of the sample world's listening (2026-10-02 .. 2026-10-11, 30k to 60k events a
day) as one Parquet landing file per day, in a local landing zone; the lake is a local folder;
the Dagster instance is a fresh database on the local PostgreSQL (the production
``dagster.yaml``); the broker and result backend are the local Redis. Every scenario starts
from an empty lake and the same landing zone, and materializes ``stream_events`` (with
``stream_quarantine`` and their two table-check steps) for the ten days:

1. ``local, one run``: one ``dagster asset materialize --partition-range`` with the local
   forkserver executor: the asset's single-run backfill, one step over the ten days.
2. ``local, 10 runs, 2 at a time``: one run per day, two runs at once (the run queue's
   concurrency on a 2-core box), forkserver executor.
3. ``celery, concurrency N``: one run per day, all ten launched at once with the Celery
   executor while no worker is up; once every run has put its ingestion step on the ``io``
   queue, a worker with N pool processes starts, and the clock runs from its ``ready`` to the
   last run's end. The runs' orchestrators (the ten ``dagster`` processes that wait on their
   steps and submit the check steps) share the cores with the worker, as a run worker would;
   they are mostly idle once their step is queued. (Running them under ``nice 19`` was tried:
   with both cores busy they then starved, and the check steps were queued up to 15 s late.)

``stream_events`` belongs to the ``stream_ingestion`` pool, which the production
``dagster.yaml`` holds to 2 steps at once (its default pool limit); the benchmark's instance
raises that pool to 10 (``dagster instance concurrency set``), so only the executor and the
worker's slots limit how many partitions run at once.

Reported per scenario: wall seconds, wall per partition, the summed duration of the steps (from
each STEP_START to its STEP_SUCCESS in the event log), and for Celery the scaling from 1 to 2
slots. Wall times include Dagster's per-step costs (plan, resources, event writes); the ten
sample days are small, so these weigh more than on production-sized days.

    taskset -c 0,1 .venv/bin/python bench/celery_partitions.py [--concurrency 1 2] [--rounds N]
        [--celery-only]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from spotify_agent_assets_tests.distributed.celery_harness import (  # noqa: E402
    celery_environment,
    flush_redis,
    redis_broker_url,
    start_materialize,
    start_worker,
)
from spotify_agent_assets_tests.services import fresh_postgres_database  # noqa: E402

DAYS = [dt.date(2026, 10, 2) + dt.timedelta(days=i) for i in range(10)]
SELECTION = "stream_events,stream_quarantine"
RUN_TIMEOUT = 900.0


def write_landing(landing: Path) -> int:
    """The ten sample days as Parquet landing files; returns the number of events."""
    from spotify_agent_assets.sample_world.landing_files import daily_file_path, write_events
    from spotify_agent_assets.sample_world.listening import ListeningWorld
    from spotify_agent_assets.sample_world.world import SampleWorld

    listening = ListeningWorld(SampleWorld())
    total = 0
    for day in DAYS:
        events = listening.events_for_day(day)
        write_events(events, daily_file_path(landing, day, "parquet"), "parquet")
        total += events.num_rows
    return total


def dagster_home(root: Path, database: str) -> tuple[Path, dict[str, str]]:
    """A DAGSTER_HOME with the production dagster.yaml and its PostgreSQL variables, without
    its S3 compute logs (the benchmark's lake is local; no S3 server runs)."""
    import yaml

    home = root / "dagster_home"
    home.mkdir()
    config = yaml.safe_load((REPO / "dagster.yaml").read_text())
    config.pop("compute_logs", None)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return home, {
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": "5432",
        "DAGSTER_PG_DB": database,
        "DAGSTER_PG_USERNAME": "postgres",
        "DAGSTER_PG_PASSWORD": "unused-with-trust-auth",
    }


def wait_all(runs: list[tuple[subprocess.Popen[bytes], Path]]) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT
    for process, log in runs:
        try:
            code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            raise RuntimeError(f"run timed out:\n{log.read_text()[-4000:]}") from None
        if code != 0:
            raise RuntimeError(f"run failed ({code}):\n{log.read_text()[-4000:]}")


def step_seconds(env: dict[str, str], since: float) -> tuple[int, float]:
    """Steps finished in runs created after ``since`` (epoch seconds), and their summed
    STEP_START to STEP_SUCCESS durations, from the instance's event log."""
    import dagster as dg

    os.environ.update(env)
    count, total = 0, 0.0
    with dg.DagsterInstance.get() as instance:
        for record in instance.get_run_records():
            if record.create_timestamp.timestamp() < since:
                continue
            started: dict[str, float] = {}
            for entry in instance.all_logs(record.dagster_run.run_id):
                event = entry.dagster_event
                if event is None or event.step_key is None:
                    continue
                if event.event_type_value == "STEP_START":
                    started[event.step_key] = entry.timestamp
                elif event.event_type_value == "STEP_SUCCESS":
                    total += entry.timestamp - started[event.step_key]
                    count += 1
    return count, total


def reset_lake(data: Path) -> None:
    for name in ("lake", "warehouse.duckdb", "warehouse.duckdb.lock", "state"):
        target = data / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def local_one_run(env: dict[str, str], logs: Path) -> float:
    span = f"{DAYS[0].isoformat()}...{DAYS[-1].isoformat()}"
    started = time.monotonic()
    run = start_materialize(env, SELECTION, logs / "local-range.log", partition_range=span)
    wait_all([(run, logs / "local-range.log")])
    return time.monotonic() - started


def local_runs(env: dict[str, str], logs: Path, at_once: int) -> float:
    started = time.monotonic()
    pending = list(DAYS)
    while pending:
        batch, pending = pending[:at_once], pending[at_once:]
        runs = []
        for day in batch:
            log = logs / f"local-{day}.log"
            runs.append((start_materialize(env, SELECTION, log, partition=day.isoformat()), log))
        wait_all(runs)
    return time.monotonic() - started


def celery_runs(env: dict[str, str], logs: Path, concurrency: int) -> tuple[float, float]:
    """(seconds until every run has queued its step, seconds from worker ready to the end)."""
    started = time.monotonic()
    runs = []
    for day in DAYS:
        log = logs / f"celery-c{concurrency}-{day}.log"
        with open(log, "wb") as out:
            command = [
                str(Path(sys.executable).parent / "dagster"),
                "asset",
                "materialize",
                "-m",
                "spotify_agent_assets.definitions",
                "--select",
                SELECTION,
                "--partition",
                day.isoformat(),
            ]
            runs.append((subprocess.Popen(command, env=env, stdout=out, stderr=out), log))
    marker = 'Submitting celery task for step "stream_events"'
    while not all(marker in log.read_text() for _, log in runs):
        if any(process.poll() is not None for process, _ in runs):
            wait_all(runs)  # raises with the failed run's log
        time.sleep(0.5)
    queued = time.monotonic() - started
    worker = start_worker(env, logs, queues=("io",), concurrency=concurrency)
    ready = time.monotonic()
    try:
        wait_all(runs)
        return queued, time.monotonic() - ready
    finally:
        worker.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=1, help="Celery rounds, alternating")
    parser.add_argument("--celery-only", action="store_true", help="skip the local scenarios")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="celery-bench-", dir="/tmp"))
    logs = root / "logs"
    logs.mkdir()
    broker = redis_broker_url()
    print(f"CPUs {len(os.sched_getaffinity(0))}, load average at start {os.getloadavg()[0]:.2f}")
    try:
        events = write_landing(root / "landing")
        print(f"{len(DAYS)} days, {events:,} events ({events / len(DAYS):,.0f} a day)")
        with fresh_postgres_database("celery_bench") as (database, _admin):
            home, pg = dagster_home(root, database)
            env = celery_environment(
                dagster_home=home,
                data_dir=root / "data",
                broker_url=broker,
                lake_url=str(root / "data" / "lake"),
                landing_url=str(root / "landing"),
                s3=None,
            )
            env.update(pg)
            local = {**env, "SPOTIFY_AGENT_EXECUTOR": "forkserver"}
            # stream_events runs in the `stream_ingestion` pool, which dagster.yaml's default
            # pool limit holds to 2 steps at once; here the worker's slots are the limit.
            subprocess.run(
                [
                    str(Path(sys.executable).parent / "dagster"),
                    *("instance", "concurrency", "set", "stream_ingestion", str(len(DAYS))),
                ],
                env=env,
                check=True,
                capture_output=True,
            )

            def measure(name: str, scenario) -> float:  # type: ignore[no-untyped-def]
                reset_lake(root / "data")
                since = time.time()
                wall = scenario()
                steps, busy = step_seconds(env, since)
                print(
                    f"{name:34s} wall {wall:6.1f} s  {wall / len(DAYS):5.2f} s/partition  "
                    f"{steps} steps, {busy:6.1f} s in steps",
                    flush=True,
                )
                return wall

            if not args.celery_only:
                measure("local, one run (1 step, 10 days)", lambda: local_one_run(local, logs))
                measure("local, 10 runs, 2 at a time", lambda: local_runs(local, logs, 2))
            spans: dict[int, list[float]] = {c: [] for c in args.concurrency}
            # Rounds alternate the concurrencies, so a change in the machine's load moves both.
            for _ in range(args.rounds):
                for concurrency in args.concurrency:
                    flush_redis(broker)
                    queued: list[float] = []

                    def scenario(c: int = concurrency, out: list[float] = queued) -> float:
                        wait, span = celery_runs(env, logs, c)
                        out.append(wait)
                        return span

                    name = f"celery, concurrency {concurrency}"
                    spans[concurrency].append(measure(name, scenario))
                    print(f"  (the ten runs took {queued[0]:.1f} s to queue their steps)")
        if spans.get(1) and spans.get(2):
            one, two = statistics.median(spans[1]), statistics.median(spans[2])
            print(f"celery medians: 1 slot {one:.1f} s, 2 slots {two:.1f} s: {one / two:.2f}x")
        print(f"load average at end {os.getloadavg()[0]:.2f}")
    finally:
        flush_redis(broker)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
