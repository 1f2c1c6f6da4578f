"""What one hourly update costs on 30 days of history and on 365 (``make bench-hourly``).

For each history length a fresh data folder is built and materialized once the way ``make run``
does it, then one hourly update is timed, three times: a new landing file for the newest day,
and the ``dagster asset materialize`` calls the automation would launch for it, in order:

1. stream ingestion of that day (``group:streams``, one partition);
2. the daily dbt models for that day (``tag:daily``, one partition; track_performance and the
   per-day tables behind it are built in this run);
3. the unpartitioned dbt models (``kind:dbt and not tag:daily``: staging views, dimensions);
4. the Python analytics (``group:analytics and not kind:dbt``).

Each call runs under ``/usr/bin/time -v``; an update's wall and CPU (user + system) are the
sums over its four calls, and the median of the three updates is reported with the ratio of
365 days to 30.

History: the sample world's listening starts on 2026-09-01, so the 30 days up to 2026-10-31
are its own days and the 335 before them are its days again, shifted back by whole multiples of
30 days (same listeners, tracks and volume per day, event ids made unique). Every day lands as
one Parquet file (the fastest format to write and ingest; the update measures the work per
update, not the landing format). Both folders use the same SPOTIFY_AGENT_HISTORY_START (the
first day of the longer history), so the Dagster partitions are the same and only the history
differs. Artist snapshots exist for the sample window only (the sample Spotify API starts on
2026-09-01).

    python bench/hourly_update.py [--root /tmp/hourly-bench] [--days 30 365] [--repeats 3]
        [--history-days 365]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from dagster_cli import BIN, materialize_command

REPO = Path(__file__).resolve().parent.parent
LAST_DAY = date(2026, 10, 31)
SAMPLE_DAYS = 30
SAMPLE_FIRST_DAY = LAST_DAY - timedelta(days=SAMPLE_DAYS - 1)
# One hour of the newest day's plays (a day holds about 36,000).
UPDATE_EVENTS = 1_500
UPDATE_STEPS = (
    ("ingest", ["--select", "group:streams", "--partition", LAST_DAY.isoformat()]),
    ("daily dbt", ["--select", "tag:daily", "--partition", LAST_DAY.isoformat()]),
    ("unpartitioned dbt", ["--select", "kind:dbt and not tag:daily"]),
    ("python analytics", ["--select", "group:analytics and not kind:dbt"]),
)


@dataclass(frozen=True)
class Timed:
    step: str
    wall_s: float
    cpu_s: float
    max_rss_mib: float


def history_days(days: int) -> list[date]:
    return [LAST_DAY - timedelta(days=days - 1 - i) for i in range(days)]


def sample_day_for(day: date) -> date:
    """The sample day whose plays ``day`` repeats (itself inside the sample window)."""
    return SAMPLE_FIRST_DAY + timedelta(days=(day - SAMPLE_FIRST_DAY).days % SAMPLE_DAYS)


def shifted(events: pa.Table, days: int, suffix: str) -> pa.Table:
    """The plays moved ``days`` days later, with event ids made unique by ``suffix``."""
    ts = events.column("ts")
    moved = pc.add(ts, pa.scalar(timedelta(days=days), pa.duration("us")))
    ids = pc.binary_join_element_wise(events.column("event_id"), suffix, "")
    events = events.set_column(events.schema.get_field_index("ts"), "ts", moved.cast(ts.type))
    return events.set_column(events.schema.get_field_index("event_id"), "event_id", ids)


def write_history(landing: Path, days: int) -> None:
    from spotify_agent_assets.sample_world.landing_files import daily_file_path, write_events
    from spotify_agent_assets.sample_world.listening import ListeningWorld
    from spotify_agent_assets.sample_world.world import SampleWorld

    listening = ListeningWorld(SampleWorld())
    cache: dict[date, pa.Table] = {}
    for day in history_days(days):
        source = sample_day_for(day)
        if source not in cache:
            cache[source] = listening.events_for_day(source)
        events = cache[source]
        if day != source:
            events = shifted(events, (day - source).days, f"-{day:%Y%m%d}")
        write_events(events, daily_file_path(landing, day, "parquet"), "parquet")


def write_update(landing: Path, number: int) -> Path:
    """An hour of new plays for the newest day, as the next landing file."""
    from spotify_agent_assets.sample_world.landing_files import daily_file_path, write_events
    from spotify_agent_assets.sample_world.listening import ListeningWorld
    from spotify_agent_assets.sample_world.world import SampleWorld

    events = ListeningWorld(SampleWorld()).events_for_day(LAST_DAY).slice(0, UPDATE_EVENTS)
    events = shifted(events, 0, f"-update{number}")
    path = daily_file_path(landing, LAST_DAY, "parquet", source="hourly", part=number)
    return write_events(events, path, "parquet")


def environment(data_dir: Path, history_start: date) -> dict[str, str]:
    return {
        **os.environ,
        "SPOTIFY_AGENT_DATA_DIR": str(data_dir),
        "DAGSTER_HOME": str(data_dir / "dagster_home"),
        "SPOTIFY_AGENT_HISTORY_START": history_start.isoformat(),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "true",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }


def timed(step: str, command: list[str], env: dict[str, str], log: Path) -> Timed:
    """Run ``command`` under GNU time; its output goes to ``log``."""
    report = log.with_suffix(".time")
    with open(log, "a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        done = subprocess.run(
            ["/usr/bin/time", "-v", "-o", str(report), *command],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    text = report.read_text()
    if done.returncode != 0:
        raise RuntimeError(f"{step} failed (exit {done.returncode}); see {log}")
    return Timed(
        step=step,
        wall_s=_elapsed(_field(text, "Elapsed (wall clock) time (h:mm:ss or m:ss)")),
        cpu_s=float(_field(text, "User time (seconds)"))
        + float(_field(text, "System time (seconds)")),
        max_rss_mib=int(_field(text, "Maximum resident set size (kbytes)")) / 1024,
    )


def _field(text: str, name: str) -> str:
    match = re.search(rf"^\s*{re.escape(name)}: (.+)$", text, re.MULTILINE)
    if match is None:
        raise ValueError(f"no {name!r} in the GNU time report:\n{text}")
    return match.group(1).strip()


def _elapsed(value: str) -> float:
    seconds = 0.0
    for part in value.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def build(data_dir: Path, days: int, env: dict[str, str], log: Path) -> list[Timed]:
    """The data folder with ``days`` of history, materialized once as ``make run`` does."""
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    write_history(data_dir / "landing", days)
    first, last = history_days(days)[0].isoformat(), LAST_DAY.isoformat()
    # Snapshot partitions start at SPOTIFY_AGENT_HISTORY_START, the sample API at 2026-09-01.
    snapshots_from = max(SAMPLE_FIRST_DAY, date.fromisoformat(env["SPOTIFY_AGENT_HISTORY_START"]))
    window = f"{snapshots_from.isoformat()}...{last}"
    python = str(BIN / "python")
    steps = [
        ("local instance", [python, "-m", "spotify_agent_assets.local_instance"]),
        (
            "ingest history",
            materialize_command(
                "--select", "group:streams", "--partition-range", f"{first}...{last}"
            ),
        ),
        ("catalogue", materialize_command("--select", "group:spotify")),
        (
            "snapshots",
            materialize_command("--select", "group:spotify_history", "--partition-range", window),
        ),
        ("unpartitioned dbt", materialize_command("--select", "kind:dbt and not tag:daily")),
        (
            "daily dbt history",
            materialize_command("--select", "tag:daily", "--partition-range", f"{first}...{last}"),
        ),
        ("python analytics", materialize_command("--select", "group:analytics and not kind:dbt")),
    ]
    return [timed(name, command, env, log) for name, command in steps]


def update(data_dir: Path, number: int, env: dict[str, str], log: Path) -> list[Timed]:
    write_update(data_dir / "landing", number)
    return [timed(name, materialize_command(*args), env, log) for name, args in UPDATE_STEPS]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("/tmp/hourly-bench"))
    parser.add_argument("--days", type=int, nargs="+", default=[30, 365])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--history-days",
        type=int,
        help="SPOTIFY_AGENT_HISTORY_START this many days before the last (default: the most "
        "--days), to re-run one length with the partitions of another",
    )
    args = parser.parse_args(argv)

    history_start = history_days(args.history_days or max(args.days))[0]
    args.root.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {"history_start": history_start.isoformat(), "runs": {}}
    for days in args.days:
        data_dir = args.root / f"days-{days}"
        env = environment(data_dir, history_start)
        log = args.root / f"days-{days}.log"
        log.unlink(missing_ok=True)
        built = build(data_dir, days, env, log)
        print(f"{days} days built: " + ", ".join(f"{t.step} {t.wall_s:.1f}s" for t in built))
        updates = [update(data_dir, n, env, log) for n in range(1, args.repeats + 1)]
        for steps in updates:
            print(
                "  update: " + ", ".join(f"{t.step} {t.wall_s:.1f}s/{t.cpu_s:.1f}s" for t in steps)
            )
        results["runs"][str(days)] = {
            "build": [asdict(t) for t in built],
            "updates": [[asdict(t) for t in steps] for steps in updates],
            "median_wall_s": statistics.median(sum(t.wall_s for t in s) for s in updates),
            "median_cpu_s": statistics.median(sum(t.cpu_s for t in s) for s in updates),
        }
    (args.root / "results.json").write_text(json.dumps(results, indent=2))
    runs = results["runs"]
    print(
        json.dumps(
            {
                days: {k: v for k, v in run.items() if k.startswith("median")}
                for days, run in runs.items()
            }
        )
    )
    if len(args.days) == 2:
        short, long = (runs[str(d)] for d in sorted(args.days))
        print(
            f"ratio {max(args.days)}/{min(args.days)} days: wall "
            f"{long['median_wall_s'] / short['median_wall_s']:.2f}x, cpu "
            f"{long['median_cpu_s'] / short['median_cpu_s']:.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
