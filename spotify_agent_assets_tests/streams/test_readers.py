"""Reading landing files: format detection, per-record line numbers, whole-file failures."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spotify_agent_assets.streams.raw_batch import UnreadableFileError
from spotify_agent_assets.streams.readers import detect_format, read_landing_file

TRACK = "4uLU6hMCjMI75M1A2tKUQC"


def v1_record(event_id: str, listener: str = "user-1", **extra: object) -> dict[str, object]:
    record: dict[str, object] = {
        "event_id": event_id,
        "listener_id": listener,
        "track_id": TRACK,
        "ts": "2026-10-05T12:00:00Z",
        "ms_played": 1000,
    }
    record.update(extra)
    return record


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_detect_format_by_content_and_extension() -> None:
    assert detect_format("a.parquet", b"PAR1\x15\x04") == "parquet"
    assert detect_format("a.jsonl", b'{"event_id": "e"}\n') == "jsonl"
    assert detect_format("a.json", b'\xef\xbb\xbf  {"event_id": "e"}') == "jsonl"
    assert detect_format("a.csv", b"event_id,listener_id\n") == "csv"
    head = b'[{"ts": "2026-10-05T17:32:11Z", "ms_played": 1, "spotify_track_uri": null}]'
    assert detect_format("Streaming_History_Audio_2026.json", head) == "extended_history"


@pytest.mark.parametrize(
    ("name", "head", "expected"),
    [
        ("a.txt", b"hello", "unknown extension '.txt'"),
        ("a.parquet", b"not parquet", "PAR1"),
        ("a.jsonl", b"   \n", "empty"),
        ("a.json", b'[{"foo": 1}]', "not a Spotify extended streaming history"),
        ("a.jsonl", b"hello world", "not JSON"),
    ],
)
def test_detect_format_refuses_with_a_clear_reason(name: str, head: bytes, expected: str) -> None:
    with pytest.raises(UnreadableFileError) as info:
        detect_format(name, head)
    assert name in str(info.value)
    assert expected in str(info.value)


def test_jsonl_keeps_line_numbers_and_rejects_bad_lines(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "streams" / "2026-10-05" / "a.jsonl",
        [
            json.dumps(v1_record("e1")),
            "",
            '{"event_id": "e2", "listener_id": "secret-user", "track_id": ',
            "[1, 2]",
            json.dumps(v1_record("e3", ms_played=7, shuffle=True, country="SE")),
        ],
    )
    batch = read_landing_file(path)
    assert batch.source_format == "jsonl"
    assert batch.table.column("event_id").to_pylist() == ["e1", "e3"]
    assert batch.lines.to_pylist() == [1, 5]
    # Numbers and booleans arrive as the text JSON wrote; validation parses them.
    assert batch.table.column("ms_played").to_pylist() == ["1000", "7"]
    assert batch.table.column("shuffle").to_pylist() == [None, "true"]
    rejected = {r.line: r for r in batch.rejected}
    assert rejected[3].reason == "line is not valid JSON"
    assert "secret-user" not in rejected[3].raw
    assert rejected[4].reason == "line is a JSON array, not an object"


def test_csv_rows_with_wrong_field_count_are_rejected_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text(
        "event_id,listener_id,track_id,ts,ms_played,shuffle\r\n"
        f"e1,user-1,{TRACK},2026-10-05T12:00:00Z,10,1\r\n"
        "e2,secret-user,oops\r\n"
        "\r\n"
        f"e3,user-2,{TRACK},2026-10-05T12:00:00Z,10,,extra\r\n"
        f"e4,user-3,{TRACK},2026-10-05T12:00:00Z,10,\r\n"
    )
    batch = read_landing_file(path)
    assert batch.table.column("event_id").to_pylist() == ["e1", "e4"]
    assert batch.lines.to_pylist() == [2, 6]
    assert batch.table.column("shuffle").to_pylist() == ["1", None]
    assert [(r.line, r.reason) for r in batch.rejected] == [
        (3, "CSV row has 3 fields, expected 6"),
        (5, "CSV row has 7 fields, expected 6"),
    ]
    assert "secret-user" not in batch.rejected[0].raw


def test_parquet_is_read_with_native_types_and_record_numbers(tmp_path: Path) -> None:
    table = pa.table(
        {
            "event_id": ["e1", "e2", "e3"],
            "listener_id": pa.array([1, 2, 3]),  # numeric ids become text
            "track_id": [TRACK] * 3,
            "ts": pa.array([0, 1, 2], pa.timestamp("ms", tz="UTC")),
            "ms_played": [1, 2, 3],
        }
    )
    path = tmp_path / "c.parquet"
    pq.write_table(table, path, row_group_size=2)
    batch = read_landing_file(path)
    assert batch.source_format == "parquet"
    assert batch.lines.to_pylist() == [1, 2, 3]
    assert batch.table.column("listener_id").to_pylist() == ["1", "2", "3"]
    assert pa.types.is_timestamp(batch.table.schema.field("ts").type)
    assert batch.table.column("country").null_count == 3


def test_extended_history_uses_folder_or_username_and_sets_episodes_aside(tmp_path: Path) -> None:
    folder = tmp_path / "streams" / "extended_history" / "folder-listener"
    folder.mkdir(parents=True)
    records = [
        {
            "ts": "2026-10-05T17:32:11Z",
            "platform": "ios",
            "ms_played": 1000,
            "conn_country": "SE",
            "ip_addr": "203.0.113.7",
            "spotify_track_uri": f"spotify:track:{TRACK}",
            "episode_name": None,
            "shuffle": True,
            "skipped": None,
            "offline": False,
        },
        {
            "ts": "2026-10-05T18:00:00Z",
            "username": "named-user",
            "ms_played": 2000,
            "ip_addr_decrypted": "198.51.100.1",
            "user_agent_decrypted": "Mozilla/5.0",
            "spotify_track_uri": None,
            "episode_name": "Episode 1",
            "spotify_episode_uri": "spotify:episode:0Q86acNRm6V9GYx55SXKwf",
        },
    ]
    path = folder / "Streaming_History_Audio_2026.json"
    path.write_text(json.dumps(records))
    batch = read_landing_file(path)
    assert batch.source_format == "extended_history"
    assert batch.listener_folder == "folder-listener"
    assert batch.table.column("listener_id").to_pylist() == ["folder-listener"]
    assert batch.table.column("track_id").to_pylist() == [f"spotify:track:{TRACK}"]
    assert batch.table.column("country").to_pylist() == ["SE"]
    assert batch.table.column("shuffle").to_pylist() == ["true"]
    [episode] = batch.rejected
    assert (episode.line, episode.reason) == (2, "not a music track (episode/audiobook)")
    assert episode.listener_id == "named-user"
    for private in ("named-user", "198.51.100.1", "Mozilla"):
        assert private not in episode.raw
    assert "203.0.113.7" not in str(batch.table.to_pylist())


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("bad.jsonl", b'{"event_id": "caf\xe9"}\n', "not valid UTF-8"),
        ("empty.csv", b"", "empty"),
        ("notes.txt", b"hello", "unknown extension"),
        (
            "broken.json",
            b'[{"ts": "x", "ms_played": 1, "spotify_track_uri": null',
            "not valid JSON",
        ),
        ("nohead.csv", b"event_id,ts\ne1,2026-10-05T00:00:00Z\n", "lacks required"),
    ],
)
def test_unreadable_files_raise_naming_the_file(
    tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableFileError) as info:
        read_landing_file(path)
    assert info.value.path == str(path)
    assert str(path) in str(info.value)
    assert expected in info.value.reason


def test_truncated_parquet_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    pq.write_table(pa.table({"event_id": ["e"] * 100, "ts": ["x"] * 100}), path)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(UnreadableFileError, match="Parquet"):
        read_landing_file(path)
