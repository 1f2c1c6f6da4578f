"""Day partitions built from compact batches: order, types, and building days in parallel."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from spotify_agent_assets.streams.day_partitions import SORT_KEYS, partition_order
from spotify_agent_assets.streams.event_schema import stream_events_schema
from spotify_agent_assets.streams.ingest import ingest_files
from spotify_agent_assets.streams.pseudonymize import PseudonymKey

KEY = PseudonymKey(b"k" * 32)
DAY_US = 86_400_000_000
TRACKS = ["4uLU6hMCjMI75M1A2tKUQC", "7ouMYWpwJ422jRcDASZB7P", "3n3Ppam7vgaVa1iaRUc9Lp"]


def expected_order(micros: np.ndarray, event_ids: pa.Array) -> list[int]:
    table = pa.table({"ts": pa.array(micros, pa.timestamp("us")), "event_id": event_ids})
    return pc.sort_indices(table, sort_keys=SORT_KEYS).to_pylist()


@pytest.mark.parametrize(
    ("span", "ties"),
    [
        (DAY_US, 0),  # a day: three 16-bit passes
        (60_000, 0),  # a minute: one pass
        (2**40, 0),
        (2**50, 0),  # beyond the radix range: comparison sort
        (DAY_US, 40),  # a few equal times: runs ordered by event_id one by one
        (1_000, 2_500),  # many: sorted by both columns
    ],
)
def test_partition_order_is_ts_then_event_id(span: int, ties: int) -> None:
    rng = np.random.default_rng(span + ties)
    n = 5_000
    micros = 1_790_000_000_000_000 + rng.integers(0, span, n)
    micros[:ties] = micros[n - ties :]
    micros[ties : ties + 3] = micros[n - 1]  # a run of more than two
    event_ids = pa.array([f"e{rng.integers(0, 10**9):09d}" for _ in range(n)])
    assert partition_order(micros, event_ids).tolist() == expected_order(micros, event_ids)


def test_partition_order_of_nothing() -> None:
    assert len(partition_order(np.zeros(0, np.int64), pa.array([], pa.string()))) == 0


def test_days_built_on_threads_equal_days_built_one_by_one(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    paths = []
    for number in range(3):
        n = 4_000
        table = pa.table(
            {
                "event_id": [f"f{number}-{i}" for i in range(n)],
                "listener_id": [f"user-{i}" for i in rng.integers(0, 300, n)],
                "track_id": [TRACKS[i] for i in rng.integers(0, 3, n)],
                "ts": pa.array(
                    1_790_000_000_000_000 + rng.integers(0, 5 * DAY_US, n),
                    pa.timestamp("us", tz="UTC"),
                ),
                "ms_played": rng.integers(0, 300_000, n),
                "country": [["SE", None, "zz", "us"][i] for i in rng.integers(0, 4, n)],
                "shuffle": pa.array([[True, False, None][i] for i in rng.integers(0, 3, n)]),
                "session_id": [None if i % 3 else f"s{i}" for i in range(n)],
            }
        )
        path = tmp_path / f"events-{number}.parquet"
        pq.write_table(table, path, row_group_size=1_500)
        paths.append(path)
    result = ingest_files(paths, KEY)
    days = list(result.events_by_day)
    one_by_one = [result.events_by_day[day] for day in days]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(result.events_by_day.__getitem__, days))
    for day, a, b in zip(days, one_by_one, threaded, strict=True):
        assert a.equals(b)
        assert a.schema == stream_events_schema()
        assert set(a["date"].to_pylist()) == {day}
        assert a["ts"].to_pylist() == sorted(a["ts"].to_pylist())
    rows = pa.concat_tables(one_by_one)
    assert rows.num_rows == 12_000 == result.new_events
    assert set(rows["country"].to_pylist()) == {"SE", "US", None}
    assert rows["shuffle"].null_count > 0
    assert rows["session_id"].null_count == 3 * sum(1 for i in range(4_000) if i % 3)
    assert sum(result.events_by_day.new_rows(day) for day in days) == 12_000
    assert days == sorted(days) and all(isinstance(day, dt.date) for day in days)


def test_rerunning_gives_byte_identical_parquet(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    paths = []
    for number in range(3):
        n = 3_000
        ids = [f"r{number}-{i}" for i in range(n)]
        ids[10:20] = [f"r0-{i}" for i in range(10)]  # repeats across files
        table = pa.table(
            {
                "event_id": ids,
                "listener_id": [f"user-{i}" for i in rng.integers(0, 200, n)],
                "track_id": [TRACKS[i] for i in rng.integers(0, 3, n)],
                "ts": pa.array(
                    1_790_000_000_000_000 + rng.integers(0, 3 * DAY_US, n),
                    pa.timestamp("us", tz="UTC"),
                ),
                "ms_played": rng.integers(-10, 300_000, n),
            }
        )
        path = tmp_path / f"events-{number}.parquet"
        pq.write_table(table, path, row_group_size=1_000)
        paths.append(path)

    def partition_bytes() -> dict[dt.date, bytes]:
        result = ingest_files(paths, KEY)
        out = {}
        for day, table in result.events_by_day.items():
            sink = pa.BufferOutputStream()
            pq.write_table(table, sink, compression="zstd")
            out[day] = sink.getvalue().to_pybytes()
        return out

    first, second = partition_bytes(), partition_bytes()
    assert first.keys() == second.keys()
    assert all(first[day] == second[day] for day in first)
