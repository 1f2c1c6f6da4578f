"""The run's events wait on local disk between reading and writing: what reaches the disk,
and that it goes away."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from spotify_agent_assets.streams.ingest import ingest_files
from spotify_agent_assets_tests.streams.test_ingest import (
    D5,
    D6,
    KEY,
    NOW,
    RAW_LISTENERS,
    event,
    write_jsonl,
)


def _landing(tmp_path: Path) -> list[Path]:
    landing = tmp_path / "landing" / "streams"
    return [
        write_jsonl(
            landing / f"{n}.jsonl",
            [
                event(f"e{n}{i}", RAW_LISTENERS[i % 4], f"2026-10-0{5 + i % 2}T1{n}:00:00Z")
                for i in range(8)
            ],
        )
        for n in range(3)
    ]


def test_no_raw_listener_id_reaches_the_spill_and_close_removes_it(tmp_path: Path) -> None:
    spill_root = tmp_path / "spill"
    spill_root.mkdir()
    result = ingest_files(_landing(tmp_path), KEY, now=NOW, spill_directory=str(spill_root))
    (directory,) = spill_root.iterdir()
    spilled = b"".join(p.read_bytes() for p in directory.rglob("*") if p.is_file())
    assert spilled, "the events should be on disk until the days are built"
    for raw in RAW_LISTENERS:
        assert raw.encode() not in spilled
    assert set(result.events_by_day) == {D5, D6}
    assert sum(t.num_rows for t in result.events_by_day.values()) == 24

    result.close()
    assert not any(spill_root.iterdir())
    with pytest.raises(RuntimeError, match="were removed"):
        result.events_by_day[D5]


def test_the_spill_goes_with_the_result(tmp_path: Path) -> None:
    spill_root = tmp_path / "spill"
    spill_root.mkdir()
    with ingest_files(_landing(tmp_path), KEY, now=NOW, spill_directory=str(spill_root)) as r:
        assert r.events_by_day[D6].num_rows == 12
    assert not any(spill_root.iterdir())

    result = ingest_files(_landing(tmp_path), KEY, now=NOW, spill_directory=str(spill_root))
    assert any(spill_root.iterdir())
    del result  # collected: nothing left behind
    assert not any(spill_root.iterdir())


def test_a_failed_run_leaves_no_spill(tmp_path: Path) -> None:
    spill_root = tmp_path / "spill"
    spill_root.mkdir()
    not_events = pa.table({"x": [1]})  # existing rows that are not stream events
    with pytest.raises(KeyError):
        ingest_files(
            _landing(tmp_path), KEY, now=NOW, spill_directory=str(spill_root), existing=not_events
        )
    assert not any(spill_root.iterdir())
