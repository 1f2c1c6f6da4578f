"""Erasure requests are validated entry by entry with errors that never quote an id, and
ingestion drops the records of ledgered listeners (events and quarantined records alike)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spotify_agent_assets.maintenance.erasure_ledger import record_in_ledger
from spotify_agent_assets.maintenance.erasure_request import (
    MAX_LISTENER_ID_CHARS,
    ErasureRequestError,
    load_request,
    read_request_file,
)
from spotify_agent_assets.streams.erased_listeners import (
    ledger_digest,
    ledger_path,
    load_erased_digests,
)
from spotify_agent_assets.streams.ingest import ingest_files
from spotify_agent_assets.streams.pseudonymize import PseudonymKey, pseudonymize_one

KEY = PseudonymKey(b"k" * 32)


def _request(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(document))
    return path


def test_a_valid_request_is_hashed_and_its_repr_shows_no_id(tmp_path: Path) -> None:
    ids = ["31qapnisqbbvw7fwwjmre2nraw6o", "lucia_lucia95"]
    request = load_request(_request(tmp_path, {"listener_ids": ids}), KEY)
    assert request.pseudonyms == tuple(pseudonymize_one(i, KEY) for i in ids)
    assert request.digests == tuple(ledger_digest(p) for p in request.pseudonyms)
    assert not any(value in repr(request) for value in (*ids, *request.pseudonyms))
    again = load_request(_request(tmp_path, {"listener_ids": ids[::-1]}), KEY)
    assert again.erasure_id == request.erasure_id  # the same listeners resume one journal


@pytest.mark.parametrize(
    ("entries", "position", "problem"),
    [
        (["ok_id", ""], 2, "is empty"),
        (["   "], 1, "only white space"),
        (["ok_id", "bad\x00id"], 2, "control"),
        (["bad\u200bid"], 1, "control"),
        (["two words"], 1, "white space"),
        (["x" * (MAX_LISTENER_ID_CHARS + 1)], 1, "characters"),
        (["ok_id", 31], 2, "is a int"),
        (["../etc"], 1, "path separator"),
        (["same", "other", "same"], 3, "repeats entry 1"),
    ],
)
def test_a_malformed_entry_is_named_by_position_without_its_value(
    tmp_path: Path, entries: list[object], position: int, problem: str
) -> None:
    with pytest.raises(ErasureRequestError) as error:
        read_request_file(_request(tmp_path, {"listener_ids": entries}))
    message = str(error.value)
    assert f"entry {position} of 'listener_ids'" in message and problem in message
    for value in entries:
        if isinstance(value, str) and value.strip() and value != "ok_id":
            assert value not in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not json lucia_lucia95", "is not JSON (line 1, column 1)"),
        ('{"ids": ["a"]}', "exactly one key, 'listener_ids'"),
        ('{"listener_ids": []}', "non-empty list"),
        ('["a"]', "exactly one key"),
    ],
)
def test_a_malformed_file_says_what_was_expected(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "request.json"
    path.write_text(text)
    with pytest.raises(ErasureRequestError, match="erasure request file") as error:
        read_request_file(path)
    assert expected in str(error.value) and "lucia" not in str(error.value)


def test_a_missing_request_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ErasureRequestError, match="does not exist"):
        read_request_file(tmp_path / "nope.json")


def test_ingestion_drops_ledgered_listeners_events_and_quarantined_records(
    tmp_path: Path,
) -> None:
    zone = tmp_path / "zone"
    zone.mkdir()
    lines = [
        {
            "event_id": f"e{i}",
            "listener_id": who,
            "track_id": "4uLU6hMCjMI75M1A2tKUQC",
            "ts": f"2026-10-02T10:0{i}:00Z",
            "ms_played": 30000 + i,
        }
        for i, who in enumerate(["keep_me", "erase_me", "erase_me", "keep_me"])
    ]
    lines.append(
        {
            "event_id": "bad",
            "listener_id": "erase_me",
            "track_id": "nope",
            "ts": "2026-10-02T10:09:00Z",
            "ms_played": 1,
        }
    )
    (zone / "events.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    data_dir = tmp_path / "data"
    assert load_erased_digests(data_dir) == frozenset()
    record_in_ledger(data_dir, [ledger_digest(pseudonymize_one("erase_me", KEY))], "e1", _now())
    assert "erase_me" not in ledger_path(data_dir).read_text()
    assert pseudonymize_one("erase_me", KEY) not in ledger_path(data_dir).read_text()

    def ingest(erased: frozenset[str]) -> tuple[set[str], int]:
        with ingest_files([zone / "events.jsonl"], KEY, erased=erased) as result:
            keys = set()
            for day in result.events_by_day:
                keys |= set(result.events_by_day[day]["listener_key"].to_pylist())
            return keys, result.quarantined.num_rows

    assert ingest(frozenset()) == (
        {pseudonymize_one("keep_me", KEY), pseudonymize_one("erase_me", KEY)},
        1,
    )
    assert ingest(load_erased_digests(data_dir)) == ({pseudonymize_one("keep_me", KEY)}, 0)


def test_a_damaged_ledger_stops_ingestion_instead_of_forgetting_erasures(tmp_path: Path) -> None:
    path = ledger_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("{broken")
    with pytest.raises(ValueError, match=r"erasure ledger .* is unreadable"):
        load_erased_digests(tmp_path)


def _now():
    import datetime as dt

    return dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
