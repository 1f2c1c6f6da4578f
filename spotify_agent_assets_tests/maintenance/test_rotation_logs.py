"""Log rotation: idle audit logs are compressed without losing a line, the newest N archives
are kept, a file being written is left alone, and compute logs of finished steps are gzipped."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import shutil
from pathlib import Path

import pytest

from spotify_agent_assets.maintenance import log_rotation
from spotify_agent_assets.maintenance.log_rotation import (
    LogChangedWhileCompressingError,
    compress_compute_logs,
    gzip_atomically,
    rotate_jsonl_logs,
)

NOW = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def _write_log(path: Path, day: int, lines: int, age: dt.timedelta) -> list[str]:
    records = [
        json.dumps({"day": day, "line": i, "action": "read", "detail": "x" * (i % 50)})
        for i in range(lines)
    ]
    path.write_text("".join(f"{record}\n" for record in records))
    stamp = (NOW - age).timestamp()
    os.utime(path, (stamp, stamp))
    return records


def test_idle_logs_are_compressed_line_for_line_and_the_newest_n_kept(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    written = {}
    for day in range(1, 8):  # audit-2026-12-01 .. 07; the 7th is being written now
        name = f"audit-2026-12-{day:02d}.jsonl"
        age = dt.timedelta(minutes=5) if day == 7 else (8 - day) * DAY
        written[name] = _write_log(logs / name, day, lines=500 + day, age=age)
    (logs / "notes.txt").write_text("not a log")

    result = rotate_jsonl_logs(logs, keep=4, min_age=DAY, now=NOW)

    # Six idle logs compressed, the two oldest archives dropped, today's log untouched.
    assert len(result.compressed) == 6
    assert result.skipped_active == [str(logs / "audit-2026-12-07.jsonl")]
    archives = sorted(p.name for p in logs.glob("*.gz"))
    assert archives == [f"audit-2026-12-{d:02d}.jsonl.gz" for d in (3, 4, 5, 6)]
    assert sorted(result.removed) == [str(logs / f"audit-2026-12-{d:02d}.jsonl.gz") for d in (1, 2)]
    assert sorted(p.name for p in logs.glob("*.jsonl")) == ["audit-2026-12-07.jsonl"]
    assert (logs / "notes.txt").read_text() == "not a log"
    for day in (3, 4, 5, 6):
        name = f"audit-2026-12-{day:02d}.jsonl"
        with gzip.open(logs / f"{name}.gz", "rt") as handle:
            assert handle.read().splitlines() == written[name]
        # The archive keeps the log's last-write time, so "newest" means the newest log.
        assert (logs / f"{name}.gz").stat().st_mtime == (NOW - (8 - day) * DAY).timestamp()
    assert not list(logs.glob(".*.tmp"))

    # A second rotation has nothing to do.
    again = rotate_jsonl_logs(logs, keep=4, min_age=DAY, now=NOW)
    assert again.compressed == {} and again.removed == []


def test_a_reused_log_name_is_archived_beside_the_older_archive(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    first = _write_log(logs / "audit.jsonl", 1, lines=10, age=3 * DAY)
    rotate_jsonl_logs(logs, keep=10, min_age=DAY, now=NOW)
    second = _write_log(logs / "audit.jsonl", 2, lines=12, age=2 * DAY)
    rotate_jsonl_logs(logs, keep=10, min_age=DAY, now=NOW)

    archives = sorted(logs.glob("*.gz"))
    assert len(archives) == 2
    contents = sorted(gzip.decompress(p.read_bytes()).decode().splitlines() for p in archives)
    assert contents == sorted([first, second])


def test_a_log_written_during_compression_is_left_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "audit.jsonl"
    lines = _write_log(log, 1, lines=100, age=2 * DAY)
    real_copy = shutil.copyfileobj

    def copy_then_append(source, target, length=0):  # a writer appends mid-compression
        real_copy(source, target, length)
        with open(log, "a") as handle:
            handle.write('{"late": true}\n')

    monkeypatch.setattr(log_rotation.shutil, "copyfileobj", copy_then_append)
    with pytest.raises(LogChangedWhileCompressingError, match=r"audit\.jsonl"):
        gzip_atomically(log)
    assert log.read_text().splitlines() == [*lines, '{"late": true}']
    assert not (tmp_path / "audit.jsonl.gz").exists()
    assert not list(tmp_path.glob(".*.tmp"))


def test_keep_must_not_be_negative(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="keep=-1"):
        rotate_jsonl_logs(tmp_path, keep=-1, min_age=DAY, now=NOW)


def test_finished_compute_logs_are_gzipped_and_running_ones_left(tmp_path: Path) -> None:
    base = tmp_path / "storage"
    done = base / "run-done" / "compute_logs"
    running = base / "run-running" / "compute_logs"
    done.mkdir(parents=True)
    running.mkdir(parents=True)
    stdout = _write_log(done / "abcd.out", 1, lines=40, age=2 * DAY)
    _write_log(done / "abcd.err", 1, lines=3, age=2 * DAY)
    (done / "abcd.complete").touch()
    _write_log(done / "fresh.out", 1, lines=3, age=dt.timedelta(hours=1))
    (done / "fresh.complete").touch()
    _write_log(running / "wxyz.out", 1, lines=3, age=2 * DAY)  # no .complete: still capturing

    result = compress_compute_logs(base, min_age=DAY, now=NOW)

    assert sorted(Path(p).name for p in result.compressed.values()) == [
        "abcd.err.gz",
        "abcd.out.gz",
    ]
    assert gzip.decompress((done / "abcd.out.gz").read_bytes()).decode().splitlines() == stdout
    assert not (done / "abcd.out").exists()
    assert (done / "abcd.complete").exists()  # the UI still sees the capture as finished
    assert (done / "fresh.out").exists()
    assert (running / "wxyz.out").exists()
