"""End-to-end ingestion of landing files into daily partitions and the quarantine table."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import fs as pafs

from spotify_agent_assets.streams.event_days import _utc_stamp_days
from spotify_agent_assets.streams.event_schema import quarantine_schema, stream_events_schema
from spotify_agent_assets.streams.ingest import (
    IngestResult,
    affected_days,
    ingest_files,
    merge_day,
)
from spotify_agent_assets.streams.landing_index import LandingFile, index_file
from spotify_agent_assets.streams.pseudonymize import PseudonymKey, pseudonymize_one

KEY = PseudonymKey(b"k" * 32)
NOW = dt.datetime(2026, 10, 7, 8, 0, tzinfo=dt.UTC)
TRACKS = ["4uLU6hMCjMI75M1A2tKUQC", "7ouMYWpwJ422jRcDASZB7P", "3n3Ppam7vgaVa1iaRUc9Lp"]
D5, D6 = dt.date(2026, 10, 5), dt.date(2026, 10, 6)
RAW_LISTENERS = ["listener-alice-1987", "listener-bob-2001", "folder-carol-77", "dave-username"]


def event(event_id: str, listener: str, ts: str, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "listener_id": listener,
        "track_id": TRACKS[len(event_id) % 3],
        "ts": ts,
        "ms_played": 180_000,
        **extra,
    }


def write_jsonl(path: Path, records: list[dict[str, Any] | str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_csv(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = ["event_id", "listener_id", "track_id", "ts", "ms_played", "country", "shuffle"]
    lines = [",".join(header)] + [
        ",".join("" if r.get(h) is None else str(r[h]) for h in header) for r in records
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_parquet(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(records)
    ts = pa.array([dt.datetime.fromisoformat(r["ts"]) for r in records], pa.timestamp("us", "UTC"))
    pq.write_table(table.set_column(table.schema.get_field_index("ts"), "ts", ts), path)
    return path


def extended_record(ts: str, track: str | None, ms: int, **extra: Any) -> dict[str, Any]:
    """A record as Spotify's extended streaming history export writes it."""
    record = {
        "ts": ts,
        "platform": "android",
        "ms_played": ms,
        "conn_country": "SE",
        "ip_addr": "203.0.113.42",
        "master_metadata_track_name": "Song" if track else None,
        "master_metadata_album_artist_name": "Artist" if track else None,
        "master_metadata_album_album_name": "Album" if track else None,
        "spotify_track_uri": f"spotify:track:{track}" if track else None,
        "episode_name": None,
        "episode_show_name": None,
        "spotify_episode_uri": None,
        "audiobook_title": None,
        "audiobook_uri": None,
        "audiobook_chapter_uri": None,
        "audiobook_chapter_title": None,
        "reason_start": "trackdone",
        "reason_end": "trackdone",
        "shuffle": False,
        "skipped": False,
        "offline": False,
        "offline_timestamp": None,
        "incognito_mode": False,
    }
    record.update(extra)
    return record


def all_rows(result: IngestResult) -> list[dict[str, Any]]:
    return [r for table in result.events_by_day.values() for r in table.to_pylist()]


def all_strings(result: IngestResult) -> list[str]:
    tables = [*result.events_by_day.values(), result.quarantined]
    return [
        value
        for table in tables
        for column in table.columns
        if pa.types.is_string(column.type)
        for value in column.to_pylist()
        if value is not None
    ]


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return tmp_path / "landing" / "streams"


@pytest.mark.parametrize("writer", [write_jsonl, write_csv, write_parquet])
def test_each_format_round_trips(landing: Path, writer: Any) -> None:
    suffix = {write_jsonl: "jsonl", write_csv: "csv", write_parquet: "parquet"}[writer]
    records = [
        event("e1", "listener-alice-1987", "2026-10-05T10:00:00+00:00", country="SE", shuffle=True),
        event("e22", "listener-bob-2001", "2026-10-05T11:00:00+00:00", country="US", shuffle=False),
    ]
    path = writer(landing / "2026-10-05" / f"part.{suffix}", records)
    result = ingest_files([path], KEY, now=NOW)
    assert result.files_read == 1
    assert result.quarantined.num_rows == 0
    [day] = result.events_by_day.values()
    assert day.schema == stream_events_schema()
    assert [
        (r["event_id"], r["track_id"], r["country"], r["shuffle"]) for r in day.to_pylist()
    ] == [
        ("e1", TRACKS[2], "SE", True),
        ("e22", TRACKS[0], "US", False),
    ]
    assert day.column("listener_key").to_pylist() == [
        pseudonymize_one("listener-alice-1987", KEY),
        pseudonymize_one("listener-bob-2001", KEY),
    ]
    assert set(day.column("source_format").to_pylist()) == {suffix}
    assert set(day.column("source_file").to_pylist()) == {str(path)}
    assert day.column("date").to_pylist() == [D5, D5]


def test_extended_history_listener_event_ids_and_privacy(landing: Path) -> None:
    folder = landing / "extended_history" / "folder-carol-77"
    folder.mkdir(parents=True)
    records = [
        extended_record("2026-10-05T17:32:11Z", TRACKS[0], 200_000),
        extended_record("2026-10-05T18:00:00Z", TRACKS[1], 30_000, conn_country="ZZ"),
        extended_record(
            "2026-10-05T19:00:00Z",
            None,
            600_000,
            episode_name="Ep 4",
            episode_show_name="Show",
            spotify_episode_uri="spotify:episode:0Q86acNRm6V9GYx55SXKwf",
        ),
        extended_record(
            "2026-10-05T20:00:00Z",
            None,
            60_000,
            audiobook_title="Book",
            audiobook_uri="spotify:show:1",
            audiobook_chapter_uri="spotify:episode:2",
        ),
    ]
    older = [
        extended_record(
            "2026-10-06T09:00:00Z",
            TRACKS[2],
            1000,
            username="dave-username",
            ip_addr_decrypted="198.51.100.9",
            user_agent_decrypted="unknown",
        ),
    ]
    first = folder / "Streaming_History_Audio_2026.json"
    first.write_text(json.dumps(records))
    second = folder / "Streaming_History_Audio_2025.json"
    second.write_text(json.dumps(older))

    result = ingest_files([first, second], KEY, now=NOW)
    rows = all_rows(result)
    carol, dave = pseudonymize_one("folder-carol-77", KEY), pseudonymize_one("dave-username", KEY)
    assert [(r["listener_key"], r["track_id"], r["country"]) for r in rows] == [
        (carol, TRACKS[0], "SE"),
        (carol, TRACKS[1], None),
        (dave, TRACKS[2], "SE"),
    ]
    expected_id = hashlib.sha256(
        f"{carol}|1791221531000000|spotify:track:{TRACKS[0]}|200000".encode()
    ).hexdigest()
    assert rows[0]["event_id"] == expected_id
    assert rows[0]["ts"] == dt.datetime(2026, 10, 5, 17, 32, 11, tzinfo=dt.UTC)
    assert {r["source_format"] for r in rows} == {"extended_history"}

    quarantine = result.quarantined.to_pylist()
    assert [(q["line"], q["reason"]) for q in quarantine] == [
        (3, "not a music track (episode/audiobook)"),
        (4, "not a music track (episode/audiobook)"),
    ]
    assert {q["listener_key"] for q in quarantine} == {carol}
    strings = " ".join(all_strings(result))
    for private in ("203.0.113.42", "198.51.100.9", "folder-carol-77", "dave-username"):
        assert private not in strings

    again = ingest_files([first, second], KEY, now=NOW)
    assert [r["event_id"] for r in all_rows(again)] == [r["event_id"] for r in rows]


def test_malformed_records_are_quarantined_while_good_rows_land(landing: Path) -> None:
    path = write_jsonl(
        landing / "2026-10-05" / "mixed.jsonl",
        [
            event("e1", "listener-alice-1987", "2026-10-05T10:00:00Z"),
            '{"event_id": "e2", "listener_id": "listener-bob-2001", "track_id": ',
            event("e3", "listener-bob-2001", "2026-10-05T10:00:00Z", ms_played=-5),
            event("e4", "listener-alice-1987", "2026-10-05T11:00:00Z", track_id="x"),
            event("e5", "listener-bob-2001", "2026-10-05T12:00:00Z"),
        ],
    )
    result = ingest_files([path], KEY, now=NOW)
    assert [r["event_id"] for r in all_rows(result)] == ["e1", "e5"]
    quarantine = result.quarantined
    assert quarantine.schema == quarantine_schema()
    assert [(q["line"], q["reason"]) for q in quarantine.to_pylist()] == [
        (2, "line is not valid JSON"),
        (3, "ms_played -5 is negative"),
        (4, "track_id 'x' is not a Spotify track id"),
    ]
    assert set(quarantine.column("quarantined_at").to_pylist()) == {NOW}
    assert set(quarantine.column("source_file").to_pylist()) == {str(path)}
    assert quarantine.column("listener_key").to_pylist()[1:] == [
        pseudonymize_one("listener-bob-2001", KEY),
        pseudonymize_one("listener-alice-1987", KEY),
    ]


def test_no_raw_listener_id_anywhere_in_output(landing: Path) -> None:
    broken = '{"listener_id": "listener-bob-2001", "event_id": "e9", "ts": 12'
    paths = [
        write_jsonl(
            landing / "a.jsonl",
            [
                event("e1", "listener-alice-1987", "2026-10-05T10:00:00Z"),
                broken,
                "listener-alice-1987 wrote this line",
            ],
        ),
        write_csv(
            landing / "b.csv",
            [
                event("e2", "listener-bob-2001", "2026-10-05T10:00:00Z"),
                event("e3", "listener-alice-1987", "not a time"),
            ],
        ),
    ]
    (landing / "b.csv").write_text((landing / "b.csv").read_text() + "e4,listener-bob-2001,x\n")
    result = ingest_files(paths, KEY, now=NOW)
    assert result.quarantined.num_rows == 4
    strings = all_strings(result)
    assert strings
    for listener in RAW_LISTENERS:
        assert not [s for s in strings if listener in s]


def test_unreadable_file_is_reported_and_the_rest_lands(landing: Path) -> None:
    good = write_jsonl(landing / "good.jsonl", [event("e1", "u1", "2026-10-05T10:00:00Z")])
    bad = landing / "bad.parquet"
    bad.write_bytes(b"PAR1 this is not really parquet")
    told: list[tuple[int, int]] = []
    result = ingest_files([bad, good], KEY, now=NOW, on_file=lambda *p: told.append(p))
    assert told == [(1, 2), (2, 2)]  # progress counts the unreadable file too
    assert result.files_read == 1
    [error] = result.unreadable
    assert error.path == str(bad)
    assert str(bad) in str(error)
    assert [r["event_id"] for r in all_rows(result)] == ["e1"]


def test_duplicates_are_dropped_and_counted(landing: Path) -> None:
    a = write_jsonl(
        landing / "a.jsonl",
        [
            event("e1", "u1", "2026-10-05T10:00:00Z"),
            event("e1", "u1", "2026-10-05T10:00:00Z"),
            event("e2", "u2", "2026-10-05T11:00:00Z"),
        ],
    )
    b = write_csv(
        landing / "b.csv",
        [
            event("e2", "u2", "2026-10-05T11:00:00Z", ms_played=5),
            event("e3", "u3", "2026-10-05T12:00:00Z"),
        ],
    )
    result = ingest_files([a, b], KEY, now=NOW)
    rows = all_rows(result)
    assert [r["event_id"] for r in rows] == ["e1", "e2", "e3"]
    assert rows[1]["ms_played"] == 180_000  # the first occurrence wins
    assert result.duplicates_dropped == 2
    assert result.new_events == 3


def test_same_file_twice_changes_nothing(landing: Path) -> None:
    path = write_jsonl(
        landing / "a.jsonl",
        [
            event("e1", "u1", "2026-10-05T23:59:59Z"),
            event("e2", "u2", "2026-10-06T00:00:00Z"),
            event("e3", "u3", "2026-10-06T01:00:00+02:00"),
        ],
    )
    first = ingest_files([path], KEY, now=NOW)
    twice = ingest_files([path, path], KEY, now=NOW)
    assert twice.duplicates_dropped == 3
    for day, table in first.events_by_day.items():
        assert twice.events_by_day[day].equals(table)

    existing = pa.concat_tables(first.events_by_day.values())
    rerun = ingest_files([path], KEY, existing=existing, now=NOW)
    assert rerun.duplicates_dropped == 3
    assert rerun.new_events == 0
    assert rerun.events_by_day.keys() == first.events_by_day.keys()
    for day, table in first.events_by_day.items():
        assert rerun.events_by_day[day].equals(table)


def test_new_rows_merge_into_existing_partition(landing: Path) -> None:
    first = ingest_files(
        [write_jsonl(landing / "a.jsonl", [event("e5", "u1", "2026-10-05T12:00:00Z")])], KEY
    )
    more = write_jsonl(
        landing / "b.jsonl",
        [event("e5", "u1", "2026-10-05T12:00:00Z"), event("e1", "u2", "2026-10-05T08:00:00Z")],
    )
    result = ingest_files([more], KEY, existing=first.events_by_day[D5])
    assert result.new_events == 1
    assert result.duplicates_dropped == 1
    assert result.events_by_day[D5].column("event_id").to_pylist() == ["e1", "e5"]


def test_offsets_are_normalised_and_days_split_at_utc_midnight(landing: Path) -> None:
    path = write_csv(
        landing / "2026-10-05" / "edge.csv",
        [
            event("a", "u1", "2026-10-05T23:59:59.999999Z"),
            event("b", "u1", "2026-10-06T00:00:00Z"),
            event("c", "u1", "2026-10-06T01:30:00+02:00"),  # 23:30 UTC on the 5th
            event("d", "u1", "2026-10-05T22:30:00-02:00"),  # 00:30 UTC on the 6th
        ],
    )
    result = ingest_files([path], KEY)
    assert {day: t.column("event_id").to_pylist() for day, t in result.events_by_day.items()} == {
        D5: ["c", "a"],
        D6: ["b", "d"],
    }
    assert result.events_by_day[D5].column("ts").to_pylist()[0] == dt.datetime(
        2026, 10, 5, 23, 30, tzinfo=dt.UTC
    )
    assert affected_days([path]) == {D5, D6}


def test_affected_days_reads_parquet_cheaply_and_skips_unreadable(landing: Path) -> None:
    parquet = write_parquet(
        landing / "p.parquet",
        [
            event("a", "u1", "2026-10-05T12:00:00+00:00"),
            event("b", "u1", "2026-10-07T00:00:00+00:00"),
        ],
    )
    broken = landing / "x.jsonl"
    broken.write_bytes(b"\xff\xfe")
    assert affected_days([parquet, broken]) == {D5, dt.date(2026, 10, 7)}


def test_merge_day_is_idempotent_and_sorted(landing: Path) -> None:
    path = write_jsonl(
        landing / "a.jsonl",
        [event("e2", "u1", "2026-10-05T10:00:00Z"), event("e1", "u2", "2026-10-05T10:00:00Z")],
    )
    day = ingest_files([path], KEY).events_by_day[D5]
    assert day.column("event_id").to_pylist() == ["e1", "e2"]  # ts tie broken by event_id
    merged = merge_day(day, day)
    assert merged.equals(day)
    assert merge_day(merged, day.slice(1)).equals(day)
    assert merge_day(None, day.take([1, 0])).equals(day)


def test_parquet_text_columns_read_as_dictionaries_are_normalised(landing: Path) -> None:
    path = write_parquet(
        landing / "p.parquet",
        [
            event("a", "u1", "2026-10-05T12:00:00+00:00", platform="", country="se"),
            event("b", "u2", "2026-10-05T13:00:00+00:00", platform="ios", country="SE"),
            event("c", "u2", "2026-10-05T14:00:00+00:00", platform="ios", country="SE"),
        ],
    )
    table = pq.read_table(path)
    tracks = pa.array([f"spotify:track:{TRACKS[0]}", TRACKS[1], "bad"])
    pq.write_table(
        table.set_column(table.schema.get_field_index("track_id"), "track_id", tracks), path
    )
    result = ingest_files([path], KEY)
    [day] = result.events_by_day.values()
    assert day.schema == stream_events_schema()
    assert [(r["track_id"], r["platform"], r["country"]) for r in day.to_pylist()] == [
        (TRACKS[0], None, "SE"),
        (TRACKS[1], "ios", "SE"),
    ]
    assert result.quarantined.column("reason").to_pylist() == [
        "track_id 'bad' is not a Spotify track id"
    ]


@pytest.mark.parametrize("writer", [write_jsonl, write_parquet])
def test_a_rejected_record_does_not_hide_a_valid_one_with_its_event_id(
    landing: Path, writer: Any
) -> None:
    suffix = "jsonl" if writer is write_jsonl else "parquet"
    first = writer(
        landing / f"a.{suffix}",
        [
            event("e1", "u1", "2026-10-05T10:00:00+00:00", ms_played=-5),
            event("e1", "u1", "2026-10-05T10:00:01+00:00"),
            event("e2", "u2", "2026-10-05T10:00:02+00:00", ms_played=-5),
        ],
    )
    second = writer(landing / f"b.{suffix}", [event("e2", "u2", "2026-10-05T11:00:00+00:00")])
    result = ingest_files([first, second], KEY, now=NOW)
    rows = all_rows(result)
    assert [(r["event_id"], r["ts"].second) for r in rows] == [("e1", 1), ("e2", 0)]
    assert result.duplicates_dropped == 0
    assert result.new_events == 2
    assert result.quarantined.num_rows == 2


def test_affected_days_of_utc_exports_match_what_ingestion_finds(landing: Path) -> None:
    """The byte scan of an export with ``...Z`` stamps gives ingestion's days; any other
    stamp (an offset, null, a day that does not exist) falls back to parsing the records."""
    track = "spotify:track:4uLU6hMCjMI75M1A2tKUQC"

    def export(name: str, stamps: list[object]) -> Path:
        records = [
            {
                "ts": ts,
                "ms_played": 1000,
                "spotify_track_uri": track,
                "master_metadata_track_name": '"ts": "1999-01-01T00:00:00Z"',
            }
            for ts in stamps
        ]
        path = landing / "extended_history" / "u1" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(records))
        return path

    utc = export(
        "Streaming_History_Audio_2013_0.json", ["2013-05-01T23:59:59Z", "2017-11-24T00:00:00Z"]
    )
    offset = export("Streaming_History_Audio_2017_0.json", ["2017-11-24T01:00:00+02:00"])
    missing = export("Streaming_History_Audio_2018_0.json", [None, "2018-01-02T10:00:00Z"])
    for path in (utc, offset, missing):
        ingested = set(ingest_files([path], KEY).events_by_day)
        assert affected_days([path]) == ingested, path.name
    assert affected_days([utc]) == {dt.date(2013, 5, 1), dt.date(2017, 11, 24)}
    assert affected_days([offset]) == {dt.date(2017, 11, 23)}
    # Which files took the byte scan, and which were parsed.
    local = pafs.LocalFileSystem()
    assert _utc_stamp_days(local, str(utc)) == affected_days([utc])
    assert _utc_stamp_days(local, str(offset)) is None
    assert _utc_stamp_days(local, str(missing)) is None
    # JSON Lines with UTC stamps take the byte scan too; the index reads the days from the
    # bytes it hashes, in one read.
    lines = write_jsonl(
        landing / "lines.jsonl",
        [event("a", "u1", "2026-10-05T23:59:59Z"), event("b", "u1", "2026-10-06T00:00:00Z")],
    )
    assert (
        _utc_stamp_days(local, str(lines))
        == {D5, D6}
        == set(ingest_files([lines], KEY).events_by_day)
    )
    zone = pafs.SubTreeFileSystem(str(landing), local)
    entry = index_file(LandingFile("lines.jsonl", lines.stat().st_size, 1), zone)
    assert entry.days == (D5, D6)
    assert entry.content_id == hashlib.sha256(lines.read_bytes()).hexdigest()
