"""Throughput of the synthetic listening-event generator (stream event v1 as Parquet).

Writes N events into OUT_DIR as Parquet files of about a million rows each and prints events per
second. Memory stays bounded by one day's chunk; measure it with GNU time:

    /usr/bin/time -f "%M KiB peak" .venv/bin/python bench/generate_events.py 10000000 /tmp/events
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from spotify_agent_assets.sample_world.listening import generate_bench_events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n_events", type=int, help="how many events to write")
    parser.add_argument("out_dir", type=Path, help="folder for the Parquet files")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    paths = generate_bench_events(args.n_events, args.out_dir, seed=args.seed)
    seconds = time.perf_counter() - started
    size = sum(path.stat().st_size for path in paths)
    print(
        f"{args.n_events:,} events in {len(paths)} files ({size / 2**20:,.0f} MiB) in "
        f"{seconds:.1f} s: {args.n_events / seconds:,.0f} events/s including Parquet writes"
    )


if __name__ == "__main__":
    main()
