"""Throughput and peak memory of stream-event ingestion, against a plain pandas pipeline.

Generates N synthetic stream event v1 rows as Parquet landing files (1M rows per file, as an
hourly producer would drop them; 0.1% invalid rows and 0.1% repeated event ids so the
quarantine and de-duplication paths run), then ingests them in a fresh interpreter so peak RSS
(``resource.getrusage``) counts ingestion only. ``--pandas`` also times the straightforward
pandas version of the same work (validate with masks, HMAC per row, drop duplicates, groupby
day) for the speed-up ratio.

    .venv/bin/python bench/ingest_throughput.py [N] [--pandas]
    taskset -c 0,1 .venv/bin/python bench/ingest_throughput.py 10000000   # on 2 cores
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS_PER_FILE = 1_000_000
ROW_GROUP = 250_000
LISTENERS = 200_000
TRACKS = 50_000
DAYS = 30
START_US = 1_790_000_000 * 1_000_000  # 2026-09-21, a fixed origin keeps runs comparable
BENCH_KEY = b"bench-key-" + b"0" * 22


def generate(directory: Path, total: int, seed: int = 1) -> list[Path]:
    """Write ``total`` synthetic v1 events as Parquet files under ``directory``."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    base62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "u1")
    listeners = pa.array([f"user-{i:07d}" for i in range(LISTENERS)])
    tracks = _fixed_strings(base62[rng.integers(0, 62, size=(TRACKS, 22))])
    countries = pa.array(["SE", "US", "GB", "DE", "BR", "MX", "FR", "JP", "IN", "NO"])
    platforms = pa.array(["ios", "android", "web_player", "desktop", "cast"])
    starts = pa.array(["trackdone", "clickrow", "fwdbtn", "playbtn", "appload"])
    ends = pa.array(["trackdone", "endplay", "fwdbtn", "logout", "backbtn"])
    hexdigits = np.frombuffer(b"0123456789abcdef", "u1")
    paths = []
    for number, begin in enumerate(range(0, total, ROWS_PER_FILE)):
        n = min(ROWS_PER_FILE, total - begin)
        event_ids = hexdigits[rng.integers(0, 16, size=(n, 32))]
        repeat = rng.random(n) < 0.001  # replay earlier ids of the same file
        event_ids[repeat] = event_ids[rng.integers(0, n, size=repeat.sum())]
        ms = rng.integers(0, 400_000, size=n)
        ms[rng.random(n) < 0.001] = -5

        def pick(values: pa.Array, n: int = n) -> pa.Array:
            return values.take(pa.array(rng.integers(0, len(values), size=n)))

        table = pa.table(
            {
                "event_id": _fixed_strings(event_ids),
                "listener_id": pick(listeners),
                "track_id": pick(tracks),
                "ts": pa.array(
                    START_US + rng.integers(0, DAYS * 86_400_000_000, size=n),
                    pa.timestamp("us", tz="UTC"),
                ),
                "ms_played": pa.array(ms),
                "country": pick(countries),
                "platform": pick(platforms),
                "reason_start": pick(starts),
                "reason_end": pick(ends),
                "shuffle": pa.array(rng.random(n) < 0.5),
                "skipped": pa.array(rng.random(n) < 0.2),
                "offline": pa.array(rng.random(n) < 0.05),
            }
        )
        path = directory / f"events-{number:04d}.parquet"
        pq.write_table(table, path, row_group_size=ROW_GROUP)
        paths.append(path)
    return paths


def _fixed_strings(chars: object) -> object:
    """An Arrow string array from an (n, width) uint8 matrix, built from buffers, no Python."""
    import numpy as np
    import pyarrow as pa

    matrix = np.ascontiguousarray(chars)
    n, width = matrix.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(matrix.tobytes()))


def run_ingest(directory: Path) -> dict[str, float]:
    from spotify_agent_assets.streams.ingest import ingest_files
    from spotify_agent_assets.streams.pseudonymize import PseudonymKey

    paths = sorted(directory.glob("*.parquet"))
    start = time.perf_counter()
    result = ingest_files(paths, PseudonymKey(BENCH_KEY))
    # Days are built on access; building each (as a writer would, one at a time) is part of
    # the work being measured.
    rows_out = sum(table.num_rows for table in result.events_by_day.values())
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rows_out": rows_out,
        "quarantined": result.quarantined.num_rows,
        "duplicates": result.duplicates_dropped,
        "days": len(result.events_by_day),
    }


def run_pandas(directory: Path) -> dict[str, float]:
    """The plain pandas pipeline: what one would write without thinking about vectorising."""
    import hashlib
    import hmac

    import pandas as pd

    start = time.perf_counter()
    frame = pd.concat(pd.read_parquet(p) for p in sorted(directory.glob("*.parquet")))
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    ok = (
        frame["event_id"].notna()
        & frame["listener_id"].notna()
        & frame["track_id"].str.fullmatch(r"[0-9A-Za-z]{22}")
        & frame["ms_played"].between(0, 86_400_000)
    )
    quarantined = frame[~ok]
    frame = frame[ok].copy()
    frame["listener_key"] = frame["listener_id"].map(
        lambda v: hmac.new(BENCH_KEY, v.encode(), hashlib.sha256).hexdigest()
    )
    frame = frame.drop(columns="listener_id")
    before = len(frame)
    frame = frame.drop_duplicates("event_id")
    frame["date"] = frame["ts"].dt.date
    by_day = {day: group.sort_values(["ts", "event_id"]) for day, group in frame.groupby("date")}
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rows_out": sum(len(g) for g in by_day.values()),
        "quarantined": len(quarantined),
        "duplicates": before - len(frame),
        "days": len(by_day),
    }


def _child(mode: str, directory: Path) -> None:
    measured = run_ingest(directory) if mode == "--ingest" else run_pandas(directory)
    measured["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(measured))


def _measure(mode: str, directory: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, mode, str(directory)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] in ("--ingest", "--pandas-child"):
        _child("--ingest" if args[0] == "--ingest" else "--pandas", Path(args[1]))
        return
    total = int(next((a for a in args if a.isdigit()), "1000000"))
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        directory = Path(tmp)
        start = time.perf_counter()
        generate(directory, total)
        print(f"generated {total:,} events in {time.perf_counter() - start:.1f} s")
        results = {"ingest_files": _measure("--ingest", directory)}
        if "--pandas" in args:
            results["pandas"] = _measure("--pandas-child", directory)
    for name, m in results.items():
        print(
            f"{name:>12}: {m['seconds']:.2f} s, {total / m['seconds']:,.0f} events/s, "
            f"peak RSS {m['peak_rss_mb']:,.0f} MB, {m['rows_out']:,} rows in {m['days']} days, "
            f"{m['quarantined']:,} quarantined, {m['duplicates']:,} duplicates"
        )
    if "pandas" in results:
        ratio = results["pandas"]["seconds"] / results["ingest_files"]["seconds"]
        print(f"speed-up over pandas: {ratio:.1f}x")


if __name__ == "__main__":
    main()
