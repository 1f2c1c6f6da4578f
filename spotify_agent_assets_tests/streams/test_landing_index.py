"""The landing index (file → days) and the sensor cursor."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from spotify_agent_assets.streams.landing_cursor import LandingCursor
from spotify_agent_assets.streams.landing_index import (
    LandingFile,
    LandingIndex,
    home_day,
    is_hidden,
    landing_filesystem,
    list_landing_files,
)


def _event(event_id: str, ts: str) -> str:
    return json.dumps(
        {
            "event_id": event_id,
            "listener_id": "l1",
            "track_id": "4uLU6hMCjMI75M1A2tKUQC",
            "ts": ts,
            "ms_played": 1000,
        }
    )


def _write(root: Path, relative: str, *lines: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_listing_skips_temporary_and_marker_files(tmp_path):
    _write(tmp_path, "2026-10-03/a.jsonl", _event("1", "2026-10-03T10:00:00Z"))
    _write(tmp_path, "2026-10-03/.a.jsonl.tmp", _event("2", "2026-10-03T10:00:00Z"))
    _write(tmp_path, ".staging/b.jsonl", _event("3", "2026-10-03T10:00:00Z"))
    _write(tmp_path, "_SUCCESS", "")
    files = list_landing_files(landing_filesystem(str(tmp_path)))
    assert [f.path for f in files] == ["2026-10-03/a.jsonl"]
    assert is_hidden("x/.y/z.json") and not is_hidden("x/y/z.json")


def test_missing_zone_is_empty(tmp_path):
    assert list_landing_files(landing_filesystem(str(tmp_path / "nothing-yet"))) == []


def test_index_knows_each_files_days_and_recomputes_only_changed_files(tmp_path):
    zone = tmp_path / "zone"
    _write(
        zone,
        "2026-10-03/a.jsonl",
        _event("1", "2026-10-03T23:59:00Z"),
        _event("2", "2026-10-04T00:01:00+00:00"),
    )
    _write(zone, "2026-10-05/b.jsonl", _event("3", "2026-10-05T08:00:00Z"))
    _write(zone, "2026-10-06/bad.jsonl", "not json at all")
    fs = landing_filesystem(str(zone))
    index = LandingIndex()
    computed = index.refresh(list_landing_files(fs), fs)
    assert len(computed) == 3
    a = index.entries["2026-10-03/a.jsonl"]
    assert a.days == (dt.date(2026, 10, 3), dt.date(2026, 10, 4))
    # No valid timestamp: filed under the day its folder names.
    assert index.entries["2026-10-06/bad.jsonl"].home_day == dt.date(2026, 10, 6)
    assert [f.file.path for f in index.files_for([dt.date(2026, 10, 4)])] == ["2026-10-03/a.jsonl"]

    saved = tmp_path / "state" / "index.json"
    index.save(saved)
    again = LandingIndex.load(saved)
    assert again.entries == index.entries
    assert again.refresh(list_landing_files(fs), fs) == []  # nothing changed, nothing parsed

    b = zone / "2026-10-05" / "b.jsonl"
    b.write_text(_event("3", "2026-10-07T08:00:00Z") + "\n")
    os.utime(b, ns=(b.stat().st_atime_ns, b.stat().st_mtime_ns + 10**9))
    (zone / "2026-10-06" / "bad.jsonl").unlink()
    recomputed = again.refresh(list_landing_files(fs), fs)
    assert [e.file.path for e in recomputed] == ["2026-10-05/b.jsonl"]
    assert again.entries["2026-10-05/b.jsonl"].days == (dt.date(2026, 10, 7),)
    assert "2026-10-06/bad.jsonl" not in again.entries


def test_a_damaged_index_file_is_an_empty_index(tmp_path):
    path = tmp_path / "index.json"
    path.write_text("{ truncated")
    assert LandingIndex.load(path).entries == {}


def test_home_day_falls_back_to_arrival_day():
    arrived = LandingFile(
        "partner/x.csv", 10, int(dt.datetime(2026, 10, 9, 5, tzinfo=dt.UTC).timestamp() * 1e9)
    )
    assert home_day(arrived, []) == dt.date(2026, 10, 9)
    assert home_day(arrived, [dt.date(2026, 10, 2), dt.date(2026, 10, 1)]) == dt.date(2026, 10, 1)


def test_cursor_sees_new_and_rewritten_files_once():
    a = LandingFile("a", 1, 100)
    b = LandingFile("b", 1, 100)
    cursor = LandingCursor()
    assert cursor.new_files([a, b]) == [a, b]
    cursor = cursor.advanced([a])
    assert cursor.new_files([a, b]) == [b]  # same mtime, different path
    cursor = LandingCursor.from_json(cursor.advanced([b]).to_json())
    assert cursor.new_files([a, b]) == []
    rewritten = LandingFile("a", 2, 200)
    assert cursor.new_files([rewritten, b]) == [rewritten]
    assert LandingCursor.from_json("garbage") == LandingCursor()
