"""The per-store pieces of an erasure on their own: a recommender's files lose exactly the
erased listeners' vectors and played tracks (and a second pass after a killed one changes
nothing); lake partitions on S3 are rewritten with their footers; a listener-like column the
erasure does not know fails loudly; receipts reach a local or S3 backup destination."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from spotify_agent_assets.lake import ParquetLake
from spotify_agent_assets.lake.s3 import arrow_filesystem
from spotify_agent_assets.maintenance.erasure_journal import store_receipt
from spotify_agent_assets.maintenance.erasure_lake import (
    UnknownListenerColumnError,
    erase_file,
    listener_tables,
    plan_lake,
)
from spotify_agent_assets.maintenance.erasure_mlflow import _without_users
from spotify_agent_assets.maintenance.erasure_scan import ErasureTraces, ScanReport, scan_lake
from spotify_agent_assets.maintenance.erasure_warehouse import erase_warehouse, plan_warehouse
from spotify_agent_assets.streams.erased_listeners import ledger_digest
from spotify_agent_assets_tests.s3_server import S3Server

GONE = "a" * 64
KEPT = "b" * 64


def _arrays(path: Path) -> Path:
    np.savez(
        path,
        user_vectors=np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]], dtype=np.float32),
        item_vectors=np.zeros((4, 2), dtype=np.float32),
        seen_pointers=np.array([0, 2, 3, 5], dtype=np.int64),
        seen_items=np.array([0, 1, 2, 1, 3], dtype=np.int32),
        seen_weights=np.array([1.0, 2.0, 3.0, 4.0, 5.0], dtype=np.float32),
        popularity=np.ones(4),
    )
    return path


def test_model_files_lose_exactly_the_erased_users_rows(tmp_path: Path) -> None:
    path = _arrays(tmp_path / "arrays.npz")
    data = _without_users(path, [True, False, True], "recommender/1")
    assert data is not None
    (tmp_path / "new.npz").write_bytes(data)
    with np.load(tmp_path / "new.npz", allow_pickle=False) as new:
        assert new["user_vectors"].tolist() == [[1.0, 1.0], [3.0, 3.0]]
        assert new["seen_pointers"].tolist() == [0, 2, 4]
        assert new["seen_items"].tolist() == [0, 1, 1, 3]
        assert new["seen_weights"].tolist() == [1.0, 2.0, 4.0, 5.0]
        assert new["item_vectors"].shape == (4, 2)
    # A killed run rewrote arrays.npz but not users.json: the re-run leaves it alone.
    assert _without_users(tmp_path / "new.npz", [True, False, True], "recommender/1") is None
    with pytest.raises(RuntimeError, match="2 user vectors for 4 listed users"):
        _without_users(tmp_path / "new.npz", [True, True, False, True], "recommender/1")


def _events(day: str, keys: list[str]) -> pa.Table:
    return pa.table(
        {
            "event_id": [f"{day}-{i}" for i in range(len(keys))],
            "listener_key": keys,
            "source_file": [f"{day}/x.jsonl"] * len(keys),
        }
    )


def test_lake_partitions_on_s3_are_rewritten_with_their_footers(s3_server: S3Server) -> None:
    lake = ParquetLake(s3_server.url(f"erasure-{uuid.uuid4().hex[:8]}"), s3_server.settings())
    footer = {"spotify_agent.sources_digest": "d1"}
    lake.write(
        _events("2026-10-02", [GONE, KEPT, GONE]),
        "streams",
        "stream_events",
        "2026-10-02",
        footer=footer,
    )
    lake.write(
        _events("2026-10-03", [KEPT]), "streams", "stream_events", "2026-10-03", footer=footer
    )
    digests = frozenset({ledger_digest(GONE)})
    plan, found = plan_lake(lake, digests)
    assert found == digests
    assert [(f.table, f.partition, f.rows) for f in plan] == [
        ("streams.stream_events", "2026-10-02", 2)
    ]
    report = ScanReport()
    scan_lake(lake, ErasureTraces(digests, (GONE,)), report)
    assert report.findings == ["lake streams.stream_events.listener_key (2 rows)"]
    assert erase_file(lake, plan[0], digests) == 2
    assert erase_file(lake, plan[0], digests) == 0  # a re-run finds it done
    assert lake.read("streams", "stream_events", ["2026-10-02"])["listener_key"].to_pylist() == [
        KEPT
    ]
    assert lake.read_footer("streams", "stream_events", "2026-10-02") == footer
    assert plan_lake(lake, digests) == ([], set())
    report = ScanReport()
    scan_lake(lake, ErasureTraces(digests, (GONE,)), report)
    assert report.findings == [] and report.searched == {"lake files": 2}


def test_an_unknown_listener_like_column_fails_loudly(tmp_path: Path) -> None:
    lake = ParquetLake(str(tmp_path / "lake"))
    lake.write(pa.table({"user_name": ["someone"], "plays": [1]}), "crm", "contacts")
    with pytest.raises(UnknownListenerColumnError, match=r"crm\.contacts .* 'user_name'"):
        listener_tables(lake)
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.fans (listener_id varchar, listeners bigint)")
    with pytest.raises(UnknownListenerColumnError, match=r"marts\.fans .* 'listener_id'"):
        plan_warehouse(warehouse, {ledger_digest(GONE)})


def test_the_warehouse_is_replaced_by_a_compacted_copy_without_the_listener(
    tmp_path: Path,
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema intermediate")
        con.execute(
            "create table intermediate.seen as select range::int as n, "
            "case when range % 3 = 0 then ? else ? end as listener_key from range(3000)",
            [GONE, KEPT],
        )
        con.execute("create view intermediate.seen_view as select * from intermediate.seen")
    digests = {ledger_digest(GONE)}
    assert plan_warehouse(warehouse, digests) == ({"intermediate.seen": 1000}, digests)
    assert GONE.encode() in warehouse.read_bytes()
    assert erase_warehouse(warehouse, digests) == {"intermediate.seen": 1000}
    assert GONE.encode() not in warehouse.read_bytes()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(
            "select count(*), min(listener_key) from intermediate.seen_view"
        ).fetchall() == [(2000, KEPT)]
    assert erase_warehouse(warehouse, digests) == {}
    assert not list(tmp_path.glob(".warehouse.duckdb.erasure-*"))


def test_receipts_reach_a_local_and_an_s3_backup_destination(
    tmp_path: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    receipt = {"erasure_id": "0123456789abcdef", "listeners": 1}
    stored = store_receipt(tmp_path / "data", receipt, str(tmp_path / "backups"))
    assert [Path(p).read_text() for p in stored] == [Path(stored[0]).read_text()] * 2
    assert stored[1] == str(tmp_path / "backups" / "erasure-receipts" / "0123456789abcdef.json")

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_server.endpoint_url)
    monkeypatch.setenv("AWS_REGION", s3_server.region)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_access_key)
    url = s3_server.url(f"backups-{uuid.uuid4().hex[:8]}")
    [_, uri] = store_receipt(tmp_path / "data2", receipt, url)
    assert uri == f"{url}/erasure-receipts/0123456789abcdef.json"
    with arrow_filesystem(s3_server.settings()).open_input_stream(uri[len("s3://") :]) as handle:
        assert json.loads(handle.read()) == receipt


def test_landing_files_lose_the_listener_in_their_own_format(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    from spotify_agent_assets.maintenance.erasure_landing import erase_landing
    from spotify_agent_assets.streams.landing_index import landing_filesystem

    zone = tmp_path / "streams"
    day = zone / "2026-10-02"
    day.mkdir(parents=True)
    jsonl = [
        '{"event_id": "1", "listener_id": "gone_1", "track_id": "t"}\n',
        '{"event_id": "2", "listener_id": "kept_1", "track_id": "t", "note": "gone_10"}\n',
        "not json but gone_1 is here\n",
        '{"event_id": "3", "listener_id": "kept_1", "track_id": "t"}',
    ]
    (day / "a.jsonl").write_text("".join(jsonl))
    (day / "b.csv").write_text(
        'event_id,listener_id,track_id\r\n1,gone_1,t\r\n2,kept_1,t\r\n3,"gone_1",t\r\n'
    )
    pq.write_table(
        pa.table({"event_id": ["1", "2"], "listener_id": ["kept_1", " gone_1 "]}), day / "c.parquet"
    )
    (day / "d.jsonl").write_text('{"event_id": "9", "listener_id": "kept_1"}\n')
    play = {"ts": "2026-10-02T07:19:12Z", "ms_played": 1, "spotify_track_uri": "spotify:track:x"}
    exports = zone / "extended_history"
    for folder, records in {
        "gone_1": [play, play],
        "gone_2": [],
        "shared": [{**play, "username": "gone_1"}, {**play, "username": "kept_1"}],
    }.items():
        (exports / folder).mkdir(parents=True)
        (exports / folder / "Streaming_History_Audio_2026_0.json").write_text(json.dumps(records))
    before = {p: p.read_bytes() for p in zone.rglob("*") if p.is_file()}
    filesystem = landing_filesystem(str(zone))

    planned, found = erase_landing(filesystem, zone, ["gone_1", "gone_2"], apply=False)
    assert found == {"gone_1", "gone_2"}
    assert {p: p.read_bytes() for p in zone.rglob("*") if p.is_file()} == before
    changes, _ = erase_landing(filesystem, zone, ["gone_1", "gone_2"], apply=True)
    assert changes == planned
    assert {(c.path, c.action, c.records) for c in changes} == {
        ("2026-10-02/a.jsonl", "rewritten", 2),
        ("2026-10-02/b.csv", "rewritten", 2),
        ("2026-10-02/c.parquet", "rewritten", 1),
        ("extended_history/<erased listener 1>/Streaming_History_Audio_2026_0.json", "removed", 2),
        ("extended_history/<erased listener 2>/Streaming_History_Audio_2026_0.json", "removed", 0),
        ("extended_history/shared/Streaming_History_Audio_2026_0.json", "rewritten", 1),
    }
    assert (day / "a.jsonl").read_text() == jsonl[1] + jsonl[3]  # others' lines byte for byte
    assert (day / "b.csv").read_bytes() == b"event_id,listener_id,track_id\r\n2,kept_1,t\r\n"
    assert pq.read_table(day / "c.parquet")["listener_id"].to_pylist() == ["kept_1"]
    assert (day / "d.jsonl").read_bytes() == before[day / "d.jsonl"]
    assert not (exports / "gone_1").exists() and not (exports / "gone_2").exists()
    shared = json.loads((exports / "shared" / "Streaming_History_Audio_2026_0.json").read_text())
    assert [r["username"] for r in shared] == ["kept_1"]
    assert erase_landing(filesystem, zone, ["gone_1", "gone_2"], apply=True) == ([], set())
