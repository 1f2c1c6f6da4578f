"""Validation against stream event v1: normalisation and specific reasons."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest

from spotify_agent_assets.streams.event_schema import V1_COLUMNS, v1_schema
from spotify_agent_assets.streams.raw_batch import RawBatch
from spotify_agent_assets.streams.validation import validate_batch

TRACK = "4uLU6hMCjMI75M1A2tKUQC"
UTC = dt.UTC


def raw_batch(rows: list[dict[str, Any]], fmt: str = "jsonl") -> RawBatch:
    """A batch as the text readers produce it: every v1 column, values as text."""
    columns = {name: pa.array([r.get(name) for r in rows], pa.string()) for name in V1_COLUMNS}
    return RawBatch(
        source_file="test.jsonl",
        source_format=fmt,  # type: ignore[arg-type]
        table=pa.table(columns),
        lines=pa.array(range(1, len(rows) + 1), pa.int64()),
    )


def row(**overrides: str | None) -> dict[str, str | None]:
    base: dict[str, str | None] = {
        "event_id": "e1",
        "listener_id": "user-1",
        "track_id": TRACK,
        "ts": "2026-10-05T12:00:00Z",
        "ms_played": "1000",
    }
    base.update(overrides)
    return base


def reason_for(**overrides: str | None) -> str:
    result = validate_batch(raw_batch([row(**overrides)]))
    assert result.valid.num_rows == 0
    [reason] = result.rejected.column("reason").to_pylist()
    return reason


def test_valid_rows_come_out_in_v1_types() -> None:
    result = validate_batch(
        raw_batch(
            [
                row(country="se", shuffle="1", skipped="false", offline="", platform="ios"),
                row(event_id="e2", shuffle="TRUE", skipped="0", platform=""),
            ]
        )
    )
    assert result.rejected.num_rows == 0
    assert result.valid.schema == v1_schema()
    first, second = result.valid.to_pylist()
    assert first["country"] == "SE"
    assert (first["shuffle"], first["skipped"], first["offline"]) == (True, False, None)
    assert (second["shuffle"], second["skipped"]) == (True, False)
    assert first["platform"] == "ios"
    assert second["platform"] is None
    assert first["ms_played"] == 1000


@pytest.mark.parametrize(
    "value",
    [
        TRACK,
        f"spotify:track:{TRACK}",
        f"https://open.spotify.com/track/{TRACK}",
        f"https://open.spotify.com/intl-de/track/{TRACK}?si=abc123",
        f"  {TRACK} ",
    ],
)
def test_track_references_are_normalised_to_the_bare_id(value: str) -> None:
    result = validate_batch(raw_batch([row(track_id=value)]))
    assert result.valid.column("track_id").to_pylist() == [TRACK]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-10-05T23:30:00+02:00", dt.datetime(2026, 10, 5, 21, 30, tzinfo=UTC)),
        ("2026-10-05T23:30:00-02:00", dt.datetime(2026, 10, 6, 1, 30, tzinfo=UTC)),
        ("2026-10-05T23:30:00.250Z", dt.datetime(2026, 10, 5, 23, 30, 0, 250000, tzinfo=UTC)),
        ("2026-10-05 23:30:00+0530", dt.datetime(2026, 10, 5, 18, 0, tzinfo=UTC)),
    ],
)
def test_timestamps_with_offsets_become_utc(value: str, expected: dt.datetime) -> None:
    result = validate_batch(raw_batch([row(ts=value)]))
    assert result.valid.column("ts").to_pylist() == [expected]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"event_id": None}, "missing event_id"),
        ({"event_id": "  "}, "missing event_id"),
        ({"listener_id": None}, "missing listener_id"),
        ({"track_id": None}, "missing track_id"),
        ({"track_id": "x"}, "track_id 'x' is not a Spotify track id"),
        ({"track_id": "spotify:episode:" + TRACK}, "is not a Spotify track id"),
        ({"ts": None}, "missing ts"),
        ({"ts": "yesterday"}, "ts 'yesterday' is not an ISO-8601 timestamp"),
        ({"ts": "2026-13-05T12:00:00Z"}, "is not an ISO-8601 timestamp"),
        ({"ts": "2026-10-05T12:00:00"}, "ts '2026-10-05T12:00:00' has no UTC offset"),
        ({"ms_played": None}, "missing ms_played"),
        ({"ms_played": "-5"}, "ms_played -5 is negative"),
        ({"ms_played": "1.5"}, "ms_played '1.5' is not an integer"),
        ({"ms_played": "86400001"}, "ms_played 86400001 is more than 24 hours"),
        ({"country": "ZZZZ"}, "country 'ZZZZ' is not an ISO 3166-1 alpha-2 code"),
        ({"country": "XX"}, "country 'XX' is not an ISO 3166-1 alpha-2 code"),
        ({"shuffle": "maybe"}, "shuffle 'maybe' is not a boolean"),
    ],
)
def test_each_problem_has_a_specific_reason(overrides: dict[str, str | None], reason: str) -> None:
    assert reason in reason_for(**overrides)


def test_all_problems_of_a_record_are_reported_together() -> None:
    reason = reason_for(track_id="x", ms_played="-5", country="ZZZZ")
    assert reason.split("; ") == [
        "track_id 'x' is not a Spotify track id",
        "ms_played -5 is negative",
        "country 'ZZZZ' is not an ISO 3166-1 alpha-2 code",
    ]


def test_unknown_country_zz_is_null_not_an_error() -> None:
    result = validate_batch(raw_batch([row(country="ZZ")]))
    assert result.valid.column("country").to_pylist() == [None]


def test_rejected_records_keep_line_and_hide_the_listener() -> None:
    batch = raw_batch([row(), row(event_id="e2", listener_id="secret-user", ms_played="-1")])
    result = validate_batch(batch)
    assert result.valid.column("event_id").to_pylist() == ["e1"]
    [rejected] = result.rejected.to_pylist()
    assert rejected["line"] == 2
    assert rejected["listener_id"] == "secret-user"  # for the caller to pseudonymize
    assert "secret-user" not in rejected["raw"]
    assert '"event_id": "e2"' in rejected["raw"]


def test_extended_history_rows_need_no_event_id() -> None:
    result = validate_batch(raw_batch([row(event_id=None)], fmt="extended_history"))
    assert result.valid.num_rows == 1


def test_typed_parquet_columns_are_validated_without_text_parsing() -> None:
    table = pa.table(
        {
            "event_id": ["e1", "e2", "e3"],
            "listener_id": ["u1", "u2", "u3"],
            "track_id": [TRACK, TRACK, "bad"],
            # Naive Parquet timestamps are UTC by contract.
            "ts": pa.array([0, 86_399_999_999, 1], pa.timestamp("us")),
            "ms_played": pa.array([1.0, -2.0, 3.0]),
            "country": ["SE", None, "DE"],
            "platform": [None, None, None],
            "reason_start": [None, None, None],
            "reason_end": [None, None, None],
            "shuffle": [True, None, False],
            "skipped": [None, None, None],
            "offline": [None, None, None],
            "session_id": [None, None, None],
        }
    )
    batch = RawBatch("x.parquet", "parquet", table, pa.array([1, 2, 3], pa.int64()))
    result = validate_batch(batch)
    assert result.valid.to_pylist()[0]["ts"] == dt.datetime(1970, 1, 1, tzinfo=UTC)
    assert result.valid.column("shuffle").to_pylist() == [True]
    reasons = dict(
        zip(result.rejected["line"].to_pylist(), result.rejected["reason"].to_pylist(), strict=True)
    )
    assert reasons == {
        2: "ms_played -2 is negative",
        3: "track_id 'bad' is not a Spotify track id",
    }
