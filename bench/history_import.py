"""A whole listening history imported at once: years of extended streaming history exports
through one ``group:streams`` backfill run, then one run of the daily dbt models.

    .venv/bin/python bench/history_import.py [--listeners 1000] [--years 10] [--data DIR]

Generates the exports (Spotify's ``Streaming_History_Audio_<year>_<n>.json`` shape, every field
a real export has, files of at most 15,000 plays) for the ten years ending 2025-12-31, then
runs the same CLI a user runs, each step a process of its own timed with GNU time:

1. the sample catalogue (``group:spotify``, one day of ``group:spotify_history``) that the
   daily models join, not timed;
2. ``dagster asset materialize --select group:streams --partition-range FIRST...LAST``;
3. the dbt views and dimensions (``kind:dbt and not tag:daily``), not timed;
4. ``dagster asset materialize --select tag:daily --partition-range FIRST...LAST``;

and prints wall time, peak memory and the size of what was stored. Each listener is active on
``--active`` of the days with a Poisson number of plays (mean ``--plays``); 70% of plays are of
the sample catalogue's tracks (Zipf-like), the rest of tracks outside it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from dagster_cli import BIN, materialize_command

ROOT = Path(__file__).resolve().parents[1]
LAST_DAY = dt.date(2025, 12, 31)
FILE_PLAYS = 15_000
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
PLATFORMS = ("android", "ios", "windows", "osx", "web_player", "cast")
COUNTRIES = ("DE", "US", "GB", "FR", "SE", "BR", "JP", "MX", "NL", "IT")


def generate(landing: Path, listeners: int, first: dt.date, last: dt.date, args) -> tuple[int, int]:
    """Write every listener's export; returns (plays, files)."""
    import numpy as np

    from spotify_agent_assets.sample_world.world import SampleWorld

    rng = np.random.default_rng(args.seed)
    catalogue = [track.id for track in SampleWorld().tracks()]
    others = ["".join(rng.choice(list(BASE62), 22)) for _ in range(5_000)]
    weights = 1.0 / np.arange(1, len(catalogue) + 1) ** 0.8
    weights /= weights.sum()
    days = np.arange(np.datetime64(first), np.datetime64(last) + 1)
    plays = files = 0
    for listener in range(listeners):
        folder = landing / "streams" / "extended_history" / f"listener-{listener:05d}"
        folder.mkdir(parents=True)
        active = days[rng.random(len(days)) < args.active]
        counts = rng.poisson(args.plays, len(active))
        day_of = np.repeat(active, counts)
        n = len(day_of)
        seconds = np.sort(rng.integers(0, 86_400, n))
        stamps = day_of.astype("datetime64[s]") + seconds.astype("timedelta64[s]")
        order = np.argsort(stamps, kind="stable")
        stamps = stamps[order]
        own = rng.random(n) < 0.7
        picks = np.where(
            own,
            rng.choice(len(catalogue), n, p=weights),
            rng.integers(0, len(others), n),
        )
        skipped = rng.random(n) < 0.25
        ms = np.where(skipped, rng.integers(1_000, 30_000, n), rng.integers(120_000, 320_000, n))
        country = COUNTRIES[listener % len(COUNTRIES)]
        platform = PLATFORMS[listener % len(PLATFORMS)]
        records = [
            {
                "ts": f"{stamps[i]}Z",
                "platform": platform,
                "ms_played": int(ms[i]),
                "conn_country": country,
                "ip_addr": "192.0.2.1",
                "master_metadata_track_name": "Track",
                "master_metadata_album_artist_name": "Artist",
                "master_metadata_album_album_name": "Album",
                "spotify_track_uri": "spotify:track:"
                + (catalogue[picks[i]] if own[i] else others[picks[i]]),
                "episode_name": None,
                "episode_show_name": None,
                "spotify_episode_uri": None,
                "audiobook_title": None,
                "audiobook_uri": None,
                "audiobook_chapter_uri": None,
                "audiobook_chapter_title": None,
                "reason_start": "clickrow" if i % 3 else "trackdone",
                "reason_end": "fwdbtn" if skipped[i] else "trackdone",
                "shuffle": bool(i % 2),
                "skipped": bool(skipped[i]),
                "offline": False,
                "offline_timestamp": None,
                "incognito_mode": False,
            }
            for i in range(n)
        ]
        years = stamps.astype("datetime64[Y]").astype(int) + 1970
        for year in np.unique(years):
            chunk = [records[i] for i in np.flatnonzero(years == year)]
            for part in range(0, len(chunk), FILE_PLAYS):
                path = folder / f"Streaming_History_Audio_{year}_{part // FILE_PLAYS}.json"
                path.write_text(json.dumps(chunk[part : part + FILE_PLAYS]))
                files += 1
        plays += n
    return plays, files


def timed(label: str, args: list[str], env: dict[str, str], log: Path) -> dict[str, float]:
    """Run one CLI step under GNU time; its wall seconds and peak resident memory."""
    started = time.perf_counter()
    with open(log, "a") as out:
        out.write(f"\n=== {label}: {' '.join(args)}\n")
        out.flush()
        done = subprocess.run(
            ["/usr/bin/time", "-v", *args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    wall = time.perf_counter() - started
    text = log.read_text()
    if done.returncode != 0:
        sys.exit(f"{label} failed (exit {done.returncode}); see {log}")
    peak = int(re.findall(r"Maximum resident set size \(kbytes\): (\d+)", text)[-1])
    return {"wall_s": wall, "peak_mib": peak / 1024}


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listeners", type=int, default=1_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--plays", type=float, default=10.0, help="mean plays on an active day")
    parser.add_argument("--active", type=float, default=0.6, help="share of days with plays")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data", type=Path, default=Path("/tmp/history-bench"))
    args = parser.parse_args()

    first = dt.date(LAST_DAY.year - args.years + 1, 1, 1)
    shutil.rmtree(args.data, ignore_errors=True)
    env = {
        **os.environ,
        "SPOTIFY_AGENT_DATA_DIR": str(args.data),
        "DAGSTER_HOME": str(args.data / "dagster_home"),
        "SPOTIFY_AGENT_HISTORY_START": first.isoformat(),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "true",
    }
    log = args.data / "bench.log"
    args.data.mkdir(parents=True)
    started = time.perf_counter()
    plays, files = generate(args.data / "landing", args.listeners, first, LAST_DAY, args)
    exports = du(args.data / "landing")
    print(
        f"generated {plays:,} plays of {args.listeners:,} listeners over {first}..{LAST_DAY} "
        f"in {files:,} files ({exports / 2**30:.2f} GiB) in {time.perf_counter() - started:.0f} s"
    )

    subprocess.run([str(BIN / "python"), "-m", "spotify_agent_assets.local_instance"], env=env)
    for selection in (
        ["--select", "group:spotify"],
        ["--select", "group:spotify_history", "--partition", "2026-10-31"],
    ):
        timed("catalogue", materialize_command(*selection), env, log)
    window = f"{first}...{LAST_DAY}"
    ingest = timed(
        "ingest",
        materialize_command("--select", "group:streams", "--partition-range", window),
        env,
        log,
    )
    lake = args.data / "lake" / "streams"
    events_bytes = du(lake / "stream_events")
    timed(
        "views and dimensions",
        materialize_command("--select", "kind:dbt and not tag:daily"),
        env,
        log,
    )
    models = timed(
        "daily models",
        materialize_command("--select", "tag:daily", "--partition-range", window),
        env,
        log,
    )

    import duckdb

    with duckdb.connect(str(args.data / "warehouse.duckdb"), read_only=True) as con:
        (stored,) = con.execute("select count(*) from streams.stream_events").fetchone()
        (days,) = con.execute(
            "select count(distinct date) from analytics.fct_streams_daily"
        ).fetchone()
        (counted,) = con.execute("select sum(plays) from analytics.fct_streams_daily").fetchone()
    partitions = len(list((lake / "stream_events").glob("date=*")))
    print("| step | wall | peak memory |\n|---|---:|---:|")
    for label, figures in (("ingest (group:streams)", ingest), ("daily models", models)):
        print(f"| {label} | {figures['wall_s']:.0f} s | {figures['peak_mib']:,.0f} MiB |")
    print(
        f"\nexports {exports / 2**30:.2f} GiB in {files:,} files; {plays:,} plays generated, "
        f"{stored:,} events stored in {partitions:,} daily partitions "
        f"({events_bytes / 2**30:.2f} GiB of Parquet), stream_quarantine "
        f"{du(lake / 'stream_quarantine') / 2**20:.1f} MiB; warehouse "
        f"{(args.data / 'warehouse.duckdb').stat().st_size / 2**30:.2f} GiB; "
        f"fct_streams_daily covers {days:,} days and {counted:,} plays"
    )
    if stored != plays or counted != plays:
        sys.exit(f"expected {plays:,} events and plays, got {stored:,} and {counted:,}")


if __name__ == "__main__":
    main()
