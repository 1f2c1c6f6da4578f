"""The audit log's records and files: fields, refusals, concurrent writers, sinks, and the
records of a playlist write-back made through the real write-back code."""

from __future__ import annotations

import io
import json
import multiprocessing
import uuid
from pathlib import Path
from typing import Any

import pytest

from spotify_agent_assets.activation.writeback import PlaylistTarget, execute, plan_playlists
from spotify_agent_assets.observability import audit_log
from spotify_agent_assets.observability.audit_log import (
    AuditLog,
    AuditRecordError,
    build_record,
    read_records,
    record_action,
)
from spotify_agent_assets.observability.trace_context import TraceContext, use_context


@pytest.fixture
def configured(tmp_path: Path):
    previous = audit_log.configured()
    yield audit_log.configure(tmp_path / "logs", "file")
    audit_log._configured = previous


def test_a_record_has_every_field_and_its_trace() -> None:
    run_id = str(uuid.uuid4())
    trace = TraceContext(run_id, "spotify_artists")
    record = build_record(
        "ASSET_MATERIALIZATION",
        "materialized spotify_artists: 12 rows",
        trace=trace,
        asset_key="spotify_artists",
        partition=None,
        row_count=12,
        event_id=7,
    )
    assert record["run_id"] == run_id and record["step_key"] == "spotify_artists"
    assert record["trace_id"] == uuid.UUID(run_id).hex and record["span_id"] == trace.span_id
    assert record["timestamp"].endswith("+00:00")
    assert set(record) >= {"event_type", "asset_key", "partition", "row_count", "what", "details"}


@pytest.mark.parametrize(
    "details",
    [
        {"client_secret": "x"},
        {"api_key": "x"},
        {"listener_id": "x"},
        {"user_id": "x"},
        {"outer": {"refresh_token": "x"}},
        {"sentry_dsn": "x"},
    ],
)
def test_a_field_that_could_hold_a_secret_or_a_listener_is_refused(details: dict) -> None:
    with pytest.raises(AuditRecordError, match=next(iter(details))):
        build_record("ACTION", "x", details=details)


def test_a_value_json_cannot_carry_is_refused() -> None:
    with pytest.raises(AuditRecordError, match="not plain JSON"):
        build_record("ACTION", "x", details={"when": object()})


def _append_many(directory: str, writer: int, count: int) -> None:
    log = AuditLog(Path(directory))
    for n in range(count):
        log.write([build_record("ACTION", f"{writer}:{n}", details={"pad": "x" * 3000})])


def test_concurrent_writers_never_interleave_inside_a_line(tmp_path: Path) -> None:
    # 3 kB records from 4 processes at once: every line whole, each writer's in its order.
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_append_many, args=(str(tmp_path), w, 150)) for w in range(4)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(60)
        assert process.exitcode == 0
    records = read_records(tmp_path)  # every line parses
    assert len(records) == 600
    for writer in range(4):
        mine = [int(r["what"].split(":")[1]) for r in records if r["what"].startswith(f"{writer}:")]
        assert mine == list(range(150))  # each writer's records whole and in its order


def test_stdout_sink_writes_the_same_json_line_and_no_file(tmp_path: Path) -> None:
    out = io.StringIO()
    record = build_record("ACTION", "x", action="backup_created", details={"backup_id": "b1"})
    assert AuditLog(None, to_stdout=True).write([record], stream=out) == 1
    assert json.loads(out.getvalue()) == record
    assert not list(tmp_path.iterdir())


def test_an_unwritable_folder_does_not_fail_the_action(tmp_path: Path, caplog) -> None:
    blocked = tmp_path / "logs"
    blocked.write_text("a file where the folder should be")
    previous = audit_log.configured()
    audit_log.configure(blocked, "file")
    try:
        record = record_action("backup_created", "backup b1 stored")
    finally:
        audit_log._configured = previous
    assert record["what"] == "backup b1 stored"
    assert "audit record not written" in caplog.text


class FakePlaylists:
    """A user's Spotify playlists in memory, answering as the Web API does."""

    def __init__(self) -> None:
        self.items: dict[str, list[str]] = {}
        self.snapshots = 0

    def _snapshot(self) -> str:
        self.snapshots += 1
        return f"snap{self.snapshots}"

    def my_playlists(self) -> list[dict[str, Any]]:
        return []

    def playlist_state(self, playlist_id: str) -> dict[str, Any] | None:
        return None

    def playlist_track_ids(self, playlist_id: str) -> list[str | None]:
        return [uri.rsplit(":", 1)[1] for uri in self.items[playlist_id]]

    def create_playlist(self, name: str, description: str, public: bool) -> dict[str, Any]:
        self.items["pl1"] = []
        return {"id": "pl1", "snapshot_id": self._snapshot()}

    def replace_items(self, playlist_id: str, uris) -> str:
        self.items[playlist_id] = list(uris)
        return self._snapshot()

    def add_items(self, playlist_id: str, uris, position: int) -> str:
        self.items[playlist_id][position:position] = list(uris)
        return self._snapshot()


def test_a_playlist_write_back_audits_each_call_spotify_accepted(configured: AuditLog) -> None:
    tracks = tuple(f"{n:022d}" for n in range(150))
    target = PlaylistTarget("focus", "Focus", "desc", False, tracks)
    api = FakePlaylists()
    run_id = str(uuid.uuid4())
    with use_context(TraceContext(run_id, "playlist_write_plan")):
        execute(api, plan_playlists(api, [target], {}), [target])
    assert len(api.items["pl1"]) == 150
    records = read_records(configured.directory)
    assert [(r["details"]["call"], r["row_count"]) for r in records] == [
        ("create", 0),
        ("replace", 100),
        ("add", 50),
    ]
    for record in records:
        assert record["event_type"] == "ACTION" and record["action"] == "playlist_write"
        assert record["details"]["spotify_playlist_id"] == "pl1"
        assert record["run_id"] == run_id and record["step_key"] == "playlist_write_plan"
    assert records[-1]["details"]["snapshot_after"] == "snap3"


def test_a_retention_deletion_is_audited_once_with_its_days(
    configured: AuditLog, tmp_path: Path
) -> None:
    import datetime as dt

    from spotify_agent_assets.lake import ParquetLake
    from spotify_agent_assets.lake.table_contract import arrow_schema
    from spotify_agent_assets.maintenance.retention import apply_stream_retention
    from spotify_agent_assets.streams.tables import STREAM_EVENTS, STREAM_QUARANTINE

    lake = ParquetLake(str(tmp_path / "lake"))
    for contract in (STREAM_EVENTS, STREAM_QUARANTINE):
        for day in ("2026-10-01", "2026-10-02", "2026-10-03"):
            lake.write(arrow_schema(contract).empty_table(), "streams", contract.name, day)
    run_id = str(uuid.uuid4())
    with use_context(TraceContext(run_id, "apply_retention")):
        apply_stream_retention(lake, dt.date(2026, 10, 3))
        apply_stream_retention(lake, dt.date(2026, 10, 3))  # nothing left to delete
    (record,) = read_records(configured.directory)
    assert record["action"] == "retention_delete" and record["run_id"] == run_id
    assert record["details"]["cutoff"] == "2026-10-03"
    assert record["details"]["partitions_deleted"] == {
        "stream_events": ["2026-10-01", "2026-10-02"],
        "stream_quarantine": ["2026-10-01", "2026-10-02"],
    }
