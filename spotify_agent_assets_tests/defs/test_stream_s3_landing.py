"""A stream landing zone in object storage (a real S3 server, SeaweedFS)."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import dagster as dg
import pytest

from spotify_agent_assets.defs.lake import LakeIOManager
from spotify_agent_assets.defs.streams.assets import stream_events
from spotify_agent_assets.defs.streams.resources import StreamLandingResource
from spotify_agent_assets.lake import ParquetLake
from spotify_agent_assets.lake.s3 import arrow_filesystem
from spotify_agent_assets_tests.s3_server import S3Server

TRACK = "4uLU6hMCjMI75M1A2tKUQC"


def _event(event_id: str, ts: str) -> dict[str, object]:
    return {"event_id": event_id, "listener_id": "l1", "track_id": TRACK, "ts": ts, "ms_played": 5}


@pytest.mark.s3
def test_events_land_from_an_s3_prefix(s3_server: S3Server, tmp_path) -> None:
    prefix = f"landing-{uuid.uuid4().hex[:8]}"
    fs = arrow_filesystem(s3_server.settings())
    base = f"{s3_server.bucket}/{prefix}/streams"
    lines = [_event("a", "2026-10-03T01:00:00Z"), _event("b", "2026-10-03T02:00:00Z")]
    with fs.open_output_stream(f"{base}/2026-10-03/app-20261003-00.jsonl") as out:
        out.write(("\n".join(json.dumps(x) for x in lines) + "\n").encode())
    with fs.open_output_stream(f"{base}/2026-10-03/.app-20261003-01.jsonl.tmp") as out:
        out.write(json.dumps(_event("c", "2026-10-03T03:00:00Z")).encode())

    lake = s3_server.local_lake_resource(tmp_path)
    landing = StreamLandingResource(
        landing_root=s3_server.url(f"{prefix}/streams"),
        storage=lake,
        state_dir=str(tmp_path / "state"),
        data_dir=str(tmp_path),
    )
    dg.materialize(
        [stream_events],
        resources={"io_manager": LakeIOManager(storage=lake), "stream_landing": landing},
        partition_key="2026-10-03",
    )
    stored = ParquetLake(str(tmp_path / "lake")).read("streams", "stream_events")
    assert stored["event_id"].to_pylist() == ["a", "b"]
    assert set(stored["source_file"].to_pylist()) == {"2026-10-03/app-20261003-00.jsonl"}
    assert stored["date"].to_pylist() == [dt.date(2026, 10, 3)] * 2
