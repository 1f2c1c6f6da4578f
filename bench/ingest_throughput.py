"""Stream events through ingestion and ``fct_streams_daily``, against the same work in pandas.

Generates N synthetic stream event v1 rows as Parquet landing files (1M rows per file, as an
hourly producer would drop them; 200k listeners, 50k tracks, 10 countries, 30 days; 0.1%
invalid rows and 0.1% repeated event ids so the quarantine and de-duplication paths run),
then times, each in a fresh interpreter so peak RSS (``resource.getrusage``) is its own:

1. ``ingest``: ``streams.ingest.ingest_files`` (read, validate, pseudonymize, park the events
   on local disk by day, de-duplicate) and every day written to a Parquet lake with ``ParquetLake.write``
   (``streams/stream_events/date=YYYY-MM-DD/part-0.parquet``), two days at a time;
2. ``fct_streams_daily``: ``FCT_STREAMS_DAILY_SQL`` in DuckDB over each day's file (as the
   daily dbt model runs, one partition per run window), two days at a time, each day's rows
   written to a Parquet file by DuckDB as they come;
3. ``pandas`` (with ``--pandas``): the same end to end in plain pandas: read the landing
   files, validate with boolean masks, HMAC each distinct listener id, drop repeated event
   ids, ``groupby(["date", "track_id", "country"]).agg(...)`` with ``nunique`` listeners.

Wall times are the parent's clock around each child process (interpreter start and imports
included). The two aggregates must be equal, row for row, or the run fails.

    .venv/bin/python bench/ingest_throughput.py [N] [--pandas] [--landing DIR]
    taskset -c 0,1 .venv/bin/python bench/ingest_throughput.py 10000000 --pandas   # 2 cores

``--landing DIR`` keeps the generated files in DIR and reuses them on the next run.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROWS_PER_FILE = 1_000_000
ROW_GROUP = 250_000
LISTENERS = 200_000
TRACKS = 50_000
DAYS = 30
START_US = 1_790_000_000 * 1_000_000  # 2026-09-21, a fixed origin keeps runs comparable
BENCH_KEY = b"bench-key-" + b"0" * 22
STREAM_MIN_MS = 30_000  # dbt var stream_min_ms
MAX_MS_PLAYED = 24 * 60 * 60 * 1000
WORKERS = 2  # days written / aggregated at once: the machine's two cores
KEYS = ["date", "track_id", "country"]
LAUNCHED = "INGEST_BENCH_LAUNCHED"  # epoch seconds at which the parent started a child
MEASURES = ["plays", "streams", "skips", "listening_ms", "listeners", "shuffle_plays"]

# fct_streams_daily for one day's partition file: the shape and expressions of
# dbt_project/models/analytics/daily/fct_streams_daily.sql over stg_stream_events (NULL country as
# 'ZZ', a stream is a play of at least stream_min_ms = 30000; skips and shuffle_plays count the
# plays known to be so, *_known_plays those that reported the flag). Listeners are counted in
# two levels, as the model does: one row per listener within a group first, then those rows.
FCT_STREAMS_DAILY_SQL = """
WITH events AS (
    SELECT *, coalesce(country, 'ZZ') AS known_country, ms_played >= 30000 AS is_stream
    FROM read_parquet($path)
),
per_listener AS (
    SELECT
        date,
        track_id,
        known_country AS country,
        listener_key,
        count(*) AS plays,
        count(*) FILTER (WHERE is_stream) AS streams,
        count(*) FILTER (WHERE skipped) AS skips,
        count(skipped) AS skip_known_plays,
        sum(ms_played) AS listening_ms,
        count(*) FILTER (WHERE shuffle) AS shuffle_plays,
        count(shuffle) AS shuffle_known_plays
    FROM events
    GROUP BY date, track_id, known_country, listener_key
)
SELECT
    date,
    track_id,
    country,
    sum(plays)::BIGINT AS plays,
    sum(streams)::BIGINT AS streams,
    sum(skips)::BIGINT AS skips,
    sum(skip_known_plays)::BIGINT AS skip_known_plays,
    sum(listening_ms)::BIGINT AS listening_ms,
    count(listener_key) AS listeners,
    sum(shuffle_plays)::BIGINT AS shuffle_plays,
    sum(shuffle_known_plays)::BIGINT AS shuffle_known_plays
FROM per_listener
GROUP BY date, track_id, country
"""
# One day's rows straight from DuckDB to a Parquet file, as dbt's DuckDB materializes a run
# window in the warehouse without the rows leaving the engine.
FCT_STREAMS_DAILY_COPY_SQL = "COPY (" + FCT_STREAMS_DAILY_SQL + ") TO $target (FORMAT parquet)"


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


def _fixed_strings(chars: Any) -> Any:
    """An Arrow string array from an (n, width) uint8 matrix, built from buffers, no Python."""
    import numpy as np
    import pyarrow as pa

    matrix = np.ascontiguousarray(chars)
    n, width = matrix.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(matrix.tobytes()))


def run_ingest(landing: Path, lake_root: Path) -> dict[str, Any]:
    """Stage 1: landing files to ``streams.stream_events`` partitions in the lake."""
    from concurrent.futures import ThreadPoolExecutor

    from spotify_agent_assets.lake import ParquetLake
    from spotify_agent_assets.streams.ingest import ingest_files
    from spotify_agent_assets.streams.pseudonymize import PseudonymKey

    paths = sorted(landing.glob("*.parquet"))
    lake = ParquetLake(str(lake_root))
    start = time.perf_counter()
    result = ingest_files(paths, PseudonymKey(BENCH_KEY))
    ingested = time.perf_counter()

    def write(day: Any) -> int:
        # Days are built on access; building each is part of the work measured.
        table = result.events_by_day[day]
        lake.write(table, "streams", "stream_events", partition_key=day.isoformat())
        return table.num_rows

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        rows_out = sum(pool.map(write, result.events_by_day))
    days = len(result.events_by_day)
    result.close()  # removes the events spilled to disk: part of the work
    return _ready(
        {
            "ingest_files_s": ingested - start,
            "write_s": time.perf_counter() - ingested,
            "rows_out": rows_out,
            "quarantined": result.quarantined.num_rows,
            "duplicates": result.duplicates_dropped,
            "days": days,
        }
    )


def run_fct(lake_root: Path, out: Path) -> dict[str, Any]:
    """Stage 2: ``fct_streams_daily`` over the lake's day files, each day's rows written to a
    Parquet file of its own under ``out`` by DuckDB as they come (dbt writes each run window's
    rows to the warehouse; holding all of them in this process would measure the bench, not
    dbt, and so would a round trip of the rows through Arrow to a second Parquet writer)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import duckdb

    from spotify_agent_assets.lake import ParquetLake

    lake = ParquetLake(str(lake_root))
    keys = lake.partitions("streams", "stream_events")
    out.mkdir(parents=True, exist_ok=True)
    local = threading.local()
    connections: list[duckdb.DuckDBPyConnection] = []

    def aggregate(key: str) -> int:
        con = getattr(local, "con", None)
        if con is None:
            con = local.con = duckdb.connect()
            con.execute("SET threads = 1")
            connections.append(con)
        path = f"{lake.partition_uri('streams', 'stream_events', key)}/part-0.parquet"
        target = str(out / f"{key}.parquet")
        (rows,) = con.execute(
            FCT_STREAMS_DAILY_COPY_SQL, {"path": path, "target": target}
        ).fetchone()
        return int(rows)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        rows = sum(pool.map(aggregate, keys))
    measured = _ready({"fct_s": time.perf_counter() - start, "fct_rows": rows})
    for con in connections:
        con.close()
    return measured


def run_pandas(landing: Path, out: Path) -> dict[str, Any]:
    """The same work in plain pandas: idiomatic, default dtypes, one HMAC per distinct
    listener, columns replaced in place rather than through copies of the frame."""
    import hashlib
    import hmac

    import pandas as pd

    from spotify_agent_assets.streams.event_schema import ISO_3166_ALPHA2

    start = time.perf_counter()
    frame = pd.concat(
        [pd.read_parquet(path) for path in sorted(landing.glob("*.parquet"))], ignore_index=True
    )
    country = frame["country"].str.strip().str.upper()
    ok = (
        frame["event_id"].notna()
        & (frame["event_id"].str.strip() != "")
        & frame["listener_id"].notna()
        & (frame["listener_id"].str.strip() != "")
        & frame["track_id"].str.fullmatch(r"[0-9A-Za-z]{22}").fillna(False).astype(bool)
        & frame["ts"].notna()
        & frame["ms_played"].between(0, MAX_MS_PLAYED)
        & (country.isna() | country.isin(ISO_3166_ALPHA2) | country.isin(["ZZ", ""]))
    )
    quarantined = int((~ok).sum())
    frame = frame[ok].copy()
    country = country[ok]
    keys = {
        listener: hmac.new(BENCH_KEY, listener.encode(), hashlib.sha256).hexdigest()
        for listener in frame["listener_id"].unique()
    }
    frame["listener_key"] = frame.pop("listener_id").map(keys)
    frame["country"] = country.where(country.isin(ISO_3166_ALPHA2))
    before = len(frame)
    frame = frame.drop_duplicates("event_id")
    duplicates = before - len(frame)
    frame["date"] = frame["ts"].dt.floor("D")
    frame["country"] = frame["country"].fillna("ZZ")
    frame["is_stream"] = frame["ms_played"] >= STREAM_MIN_MS
    frame["skipped"] = frame["skipped"].fillna(False).astype(bool)
    frame["shuffle"] = frame["shuffle"].fillna(False).astype(bool)
    fct = (
        frame.groupby(KEYS, sort=False)
        .agg(
            plays=("event_id", "size"),
            streams=("is_stream", "sum"),
            skips=("skipped", "sum"),
            listening_ms=("ms_played", "sum"),
            listeners=("listener_key", "nunique"),
            shuffle_plays=("shuffle", "sum"),
        )
        .reset_index()
    )
    measured = _ready(
        {
            "pandas_s": time.perf_counter() - start,
            "rows_out": len(frame),
            "quarantined": quarantined,
            "duplicates": duplicates,
            "fct_rows": len(fct),
        }
    )
    del frame
    fct["date"] = fct["date"].dt.date
    fct.to_parquet(out, index=False)
    return measured


def _ready(measured: dict[str, Any]) -> dict[str, Any]:
    """``measured`` plus the process's figures now that its result is in memory (or, for
    ingestion, in the lake): seconds since the parent launched it (interpreter start and
    imports included), peak RSS and CPU seconds. Saving results for the comparison comes
    after, unmeasured."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return measured | {
        "wall_s": time.time() - float(os.environ[LAUNCHED]),
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "cpu_s": usage.ru_utime + usage.ru_stime,
    }


def _child(args: list[str]) -> None:
    mode, source, target = args
    run = {"--ingest": run_ingest, "--fct": run_fct, "--pandas-child": run_pandas}[mode]
    print(json.dumps(run(Path(source), Path(target))))


def _measure(*args: str) -> dict[str, Any]:
    env = os.environ | {LAUNCHED: repr(time.time())}
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True, env=env
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def same_aggregate(ours: Path, theirs: Path) -> int:
    """Rows compared; raises if the two ``fct_streams_daily`` results differ anywhere."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    tables = []
    for path in (ours, theirs):
        table = pq.read_table(path).select(KEYS + MEASURES)
        table = table.set_column(0, "date", table["date"].cast(pa.date32()))
        table = pa.table(
            {name: table[name].cast(pa.int64()) for name in MEASURES}
            | {name: table[name] for name in KEYS}
        )
        tables.append(table.sort_by([(k, "ascending") for k in KEYS]).combine_chunks())
    a, b = tables
    if a.num_rows != b.num_rows:
        raise SystemExit(f"fct_streams_daily differs: {a.num_rows:,} rows vs {b.num_rows:,}")
    for name in KEYS + MEASURES:
        if not a[name].equals(b[name]):
            first = pc.index(pc.not_equal(a[name], b[name]), True).as_py()
            raise SystemExit(
                f"fct_streams_daily differs in {name}: first at row {first}: "
                f"{a.slice(first, 1).to_pylist()} vs {b.slice(first, 1).to_pylist()}"
            )
    return a.num_rows


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] in ("--ingest", "--fct", "--pandas-child"):
        _child(args)
        return
    total = int(next((a for a in args if a.isdigit()), "1000000"))
    keep = args[args.index("--landing") + 1] if "--landing" in args else None
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        landing = Path(keep) if keep else Path(tmp) / "landing"
        landing.mkdir(parents=True, exist_ok=True)
        if not any(landing.glob("*.parquet")):
            start = time.perf_counter()
            generate(landing, total)
            print(f"generated {total:,} events in {time.perf_counter() - start:.1f} s")
        lake, ours, theirs = Path(tmp) / "lake", Path(tmp) / "fct", Path(tmp) / "pd.parquet"
        ingest = _measure("--ingest", str(landing), str(lake))
        fct = _measure("--fct", str(lake), str(ours))
        pandas = (
            _measure("--pandas-child", str(landing), str(theirs)) if "--pandas" in args else None
        )
        report(total, ingest, fct, pandas)
        if pandas is not None:
            for name in ("rows_out", "quarantined", "duplicates", "fct_rows"):
                source = fct if name == "fct_rows" else ingest
                if source[name] != pandas[name]:
                    raise SystemExit(f"{name} differs: {source[name]:,} vs pandas {pandas[name]:,}")
            rows = same_aggregate(ours, theirs)
            print(f"fct_streams_daily equal to pandas' aggregate: {rows:,} rows compared")


def report(
    total: int, ingest: dict[str, Any], fct: dict[str, Any], pandas: dict[str, Any] | None
) -> None:
    ours = ingest["wall_s"] + fct["wall_s"]
    peak = max(ingest["peak_rss_mb"], fct["peak_rss_mb"])
    print(
        f"ingest: {ingest['wall_s']:.2f} s (ingest_files {ingest['ingest_files_s']:.2f} s, "
        f"days built and written {ingest['write_s']:.2f} s), peak RSS "
        f"{ingest['peak_rss_mb']:,.0f} MB, CPU {ingest['cpu_s']:.1f} s; {ingest['rows_out']:,} events in {ingest['days']} "
        f"days, {ingest['quarantined']:,} quarantined, {ingest['duplicates']:,} duplicates"
    )
    print(
        f"fct_streams_daily: {fct['wall_s']:.2f} s (query {fct['fct_s']:.2f} s), peak RSS "
        f"{fct['peak_rss_mb']:,.0f} MB, CPU {fct['cpu_s']:.1f} s; {fct['fct_rows']:,} rows"
    )
    print(
        f"ingest + fct_streams_daily: {ours:.2f} s, {total / ours:,.0f} events/s, peak {peak:,.0f} MB"
    )
    if pandas is not None:
        print(
            f"pandas: {pandas['wall_s']:.2f} s (pipeline {pandas['pandas_s']:.2f} s), peak RSS "
            f"{pandas['peak_rss_mb']:,.0f} MB, CPU {pandas['cpu_s']:.1f} s"
        )
        print(f"speed-up over pandas: {pandas['wall_s'] / ours:.1f}x")
    print(f"cpus: {sorted(os.sched_getaffinity(0))}")


if __name__ == "__main__":
    main()
