"""What a stored partition was built from: content ids, digests, stale days, run ranges."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from pyarrow import fs as pafs

from spotify_agent_assets.streams.landing_index import (
    IndexedFile,
    LandingFile,
    LandingIndex,
    content_id,
)
from spotify_agent_assets.streams.provenance import (
    DIGEST_KEY,
    partition_footer,
    run_ranges,
    sources_digest,
    stale_days,
)

D = dt.date(2024, 3, 1)


def _day(offset: int) -> dt.date:
    return D + dt.timedelta(days=offset)


def _entry(path: str, days: list[int], content: str) -> IndexedFile:
    dates = tuple(_day(d) for d in days)
    return IndexedFile(LandingFile(path, 1, 1), dates, dates[0], content)


def test_digest_depends_on_distinct_content_only() -> None:
    a, b = _entry("a.jsonl", [0], "aaa"), _entry("b.jsonl", [0], "bbb")
    copy = _entry("copy-of-a.jsonl", [0], "aaa")
    assert sources_digest([a, b]) == sources_digest([b, a]) == sources_digest([a, b, copy])
    assert sources_digest([a]) != sources_digest([a, b])
    assert sources_digest([]) != sources_digest([a])
    assert partition_footer([a, copy])["spotify_agent.source_files"] == "2"


def test_content_id_is_the_bytes_and_for_history_exports_the_listener_folder(
    tmp_path: Path,
) -> None:
    history = json.dumps(
        [{"ts": "2013-05-01T10:00:00Z", "ms_played": 1, "spotify_track_uri": None}]
    )
    for folder in ("alice", "bob"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "Streaming_History_Audio_2013.json").write_text(history)
    (tmp_path / "day.jsonl").write_text('{"event_id": "1"}\n')
    (tmp_path / "same.jsonl").write_text('{"event_id": "1"}\n')
    fs = pafs.SubTreeFileSystem(str(tmp_path), pafs.LocalFileSystem())

    def cid(path: str) -> str:
        return content_id(LandingFile(path, 0, 0), fs)

    assert cid("day.jsonl") == cid("same.jsonl")
    alice, bob = (
        cid("alice/Streaming_History_Audio_2013.json"),
        cid("bob/Streaming_History_Audio_2013.json"),
    )
    assert alice.endswith(":alice") and bob.endswith(":bob") and alice != bob
    assert cid("missing.jsonl").startswith("unreadable:")


def test_stale_days_compares_both_stored_footers_with_the_zone() -> None:
    index = LandingIndex(
        {e.file.path: e for e in (_entry("a", [0, 1], "x"), _entry("b", [1], "y"))}
    )
    built = {_day(0): partition_footer([index.entries["a"]])}
    footers = {
        _day(0): [built[_day(0)], built[_day(0)]],  # both tables current
        _day(1): [partition_footer([index.entries["a"]])] * 2,  # built before b arrived
        _day(2): [None, None],  # never written, and no file touches it: nothing to do
        _day(3): [partition_footer([index.entries["a"]])] * 2,  # its only file was removed
    }
    assert stale_days([_day(0), _day(1), _day(2), _day(3)], index, footers.__getitem__) == [
        _day(1),
        _day(3),
    ]
    # A day with a file but never written is stale.
    unwritten = {_day(0): [None, None]}
    assert stale_days([_day(0)], index, unwritten.__getitem__) == [_day(0)]
    # Events written but the quarantine write never happened: not stored.
    half = {_day(0): [built[_day(0)], None]}
    assert stale_days([_day(0)], index, half.__getitem__) == [_day(0)]
    assert DIGEST_KEY in built[_day(0)]


def test_run_ranges_bridge_days_no_file_touches_and_stop_at_stored_ones() -> None:
    # Files on days 0-2, 5 and 9; days 3-4 and 6-8 have no file at all.
    index = LandingIndex(
        {
            e.file.path: e
            for e in (_entry("a", [0, 1, 2], "a"), _entry("b", [5], "b"), _entry("c", [9], "c"))
        }
    )
    assert run_ranges([_day(0), _day(1), _day(2), _day(5), _day(9)], index) == [(_day(0), _day(9))]
    # Day 5 is stored (not asked for): the ranges stop around it.
    assert run_ranges([_day(0), _day(2), _day(9)], index) == [
        (_day(0), _day(0)),
        (_day(2), _day(2)),
        (_day(9), _day(9)),
    ]
    assert run_ranges([], index) == []
