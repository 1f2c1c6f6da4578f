"""Atomic replacement and the leftovers of killed writes, with real processes and SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pytest

from spotify_agent_assets.lake import ParquetLake, atomic_file
from spotify_agent_assets.lake.atomic_file import (
    atomic_path,
    is_temp_of,
    remove_leftovers,
    temp_name,
    write_bytes,
)

DAY = "2026-10-02"
# Rows of the table the killed writer writes: large enough that writing takes a good fraction
# of a second, so the parent sees the temp file before the rename.
KILLED_ROWS = 3_000_000

WRITE_LARGE_TABLE = textwrap.dedent(
    """
    import sys
    import numpy as np
    import pyarrow as pa
    from spotify_agent_assets.lake import ParquetLake

    rows = int(sys.argv[2])
    values = np.random.default_rng(7).integers(0, 2**62, rows)
    table = pa.table({"event_id": pa.array(values.astype(str)), "value": values})
    ParquetLake(sys.argv[1]).write(table, "streams", "stream_events", sys.argv[3])
    """
)

HOLD_TEMP_OPEN = textwrap.dedent(
    """
    import sys
    from spotify_agent_assets.lake.atomic_file import atomic_path

    with atomic_path(sys.argv[1]) as temp:
        temp.write_bytes(b"from the slow writer")
        print(temp, flush=True)
        sys.stdin.readline()  # the parent says when to finish
    """
)


def _run(script: str, *args: str, **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=Path(__file__).resolve().parents[2],
        text=True,
        **kwargs,  # type: ignore[arg-type]
    )


def _temps(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.tmp"))


def test_a_write_killed_mid_way_leaves_a_temp_file_the_next_write_removes(
    tmp_path: Path,
) -> None:
    lake = ParquetLake(str(tmp_path / "lake"))
    before = pa.table({"event_id": ["a", "b"], "value": [1, 2]})
    lake.write(before, "streams", "stream_events", DAY)
    folder = Path(lake.partition_uri("streams", "stream_events", DAY))

    writer = _run(WRITE_LARGE_TABLE, lake.root, str(KILLED_ROWS), DAY)
    try:
        deadline = time.monotonic() + 120
        while not _temps(folder):
            assert writer.poll() is None, "the writer finished before its temp file was seen"
            assert time.monotonic() < deadline, "the writer never started writing"
            time.sleep(0.001)
        os.kill(writer.pid, signal.SIGKILL)
    finally:
        writer.wait()
    assert writer.returncode == -signal.SIGKILL

    (leftover,) = _temps(folder)
    assert is_temp_of(leftover.name, "part-0.parquet")
    # The killed write changed nothing a reader sees.
    assert lake.read("streams", "stream_events", [DAY]).drop(["date"]).equals(before)

    after = pa.table({"event_id": ["c"], "value": [3]})
    lake.write(after, "streams", "stream_events", DAY)

    assert _temps(folder) == []
    assert sorted(p.name for p in folder.iterdir()) == ["part-0.parquet"]
    assert lake.read("streams", "stream_events", [DAY]).drop(["date"]).equals(after)


def test_a_live_writers_temp_file_is_kept_and_its_write_still_lands(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    slow = _run(HOLD_TEMP_OPEN, str(target), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert slow.stdout is not None and slow.stdin is not None
        live = Path(slow.stdout.readline().strip())
        assert live.is_file()

        # Another write of the same file meanwhile, which cleans up leftovers as it ends.
        write_bytes(target, b"from the quick writer")
        assert live.is_file(), "the cleanup removed a temp file a live writer holds"
        assert target.read_bytes() == b"from the quick writer"

        slow.stdin.write("done\n")
        slow.stdin.flush()
        assert slow.wait(timeout=60) == 0
    finally:
        slow.kill()
        slow.wait()
    assert target.read_bytes() == b"from the slow writer"
    assert _temps(tmp_path) == []


def test_only_this_targets_own_temp_names_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "part-0.parquet"
    dead = tmp_path / temp_name("part-0.parquet")
    others = [
        tmp_path / temp_name("part-1.parquet"),  # another file's leftover
        tmp_path / ".part-0.parquet.tmp",  # a producer's own temp naming
        tmp_path / ".part-0.parquet.notahexid.tmp",
    ]
    for path in (dead, *others):
        path.write_bytes(b"")

    write_bytes(target, b"new")

    assert not dead.exists()
    assert all(path.exists() for path in others)
    assert remove_leftovers(tmp_path / "part-1.parquet") == [others[0]]


def test_a_failed_write_leaves_the_target_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "labels.csv"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="producer failed"), atomic_path(target) as temp:
        temp.write_bytes(b"half")
        raise RuntimeError("producer failed")
    assert target.read_bytes() == b"old"
    assert _temps(tmp_path) == []


def test_a_temp_file_unlinked_before_it_was_locked_is_not_written_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another write's cleanup can take a just-created, not yet locked temp file for a
    leftover; the writer must notice and start over under a new name."""
    target = tmp_path / "part-0.parquet"
    real_flock = atomic_file.fcntl.flock
    raced: list[bool] = []

    def flock_after_a_cleanup(descriptor: int, operation: int) -> None:
        if not raced:
            raced.append(True)
            assert remove_leftovers(target)  # the fresh file is unlocked: it goes
        real_flock(descriptor, operation)

    monkeypatch.setattr(atomic_file.fcntl, "flock", flock_after_a_cleanup)
    write_bytes(target, b"content")

    assert raced and target.read_bytes() == b"content"
    assert _temps(tmp_path) == []
