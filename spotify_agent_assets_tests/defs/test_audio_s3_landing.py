"""An audio landing zone in object storage (a real S3 server, SeaweedFS): catalogued,
quarantined, copied out for the decoders and analysed like a local one."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import dagster as dg
import pytest

from spotify_agent_assets.audio.tables import AUDIO_GROUP
from spotify_agent_assets.defs.audio.assets import audio_catalog, audio_features
from spotify_agent_assets.defs.audio.resources import AudioLandingResource
from spotify_agent_assets.defs.lake import LakeIOManager
from spotify_agent_assets.lake import ParquetLake
from spotify_agent_assets.lake.s3 import arrow_filesystem
from spotify_agent_assets.sample_world.audio import audio_ground_truth, render_clip
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.s3_server import S3Server


@pytest.mark.s3
def test_an_s3_audio_zone_is_catalogued_and_analysed(s3_server: S3Server, tmp_path: Path) -> None:
    import soundfile

    prefix = f"landing-{uuid.uuid4().hex[:8]}/audio"
    fs = arrow_filesystem(s3_server.settings())
    world = SampleWorld()
    truths = [t for t in audio_ground_truth(world) if t.content_type == "music"][:2]
    for folder, truth in zip(("", "artist-a/"), truths, strict=True):
        data = io.BytesIO()
        soundfile.write(data, render_clip(truth, world.seed), truth.sample_rate, format="FLAC")
        with fs.open_output_stream(
            f"{s3_server.bucket}/{prefix}/{folder}{truth.track_id}.flac"
        ) as out:
            out.write(data.getvalue())
    with fs.open_output_stream(f"{s3_server.bucket}/{prefix}/notes.mp3") as out:
        out.write(b"Setlist\n1. Intro\n")

    lake = s3_server.local_lake_resource(tmp_path)
    resources = {
        "io_manager": LakeIOManager(storage=lake),
        "lake": lake,
        "audio_landing": AudioLandingResource(zone_root=s3_server.url(prefix), storage=lake),
    }
    result = dg.materialize([audio_catalog, audio_features], resources=resources)
    assert result.success

    stored = ParquetLake(str(tmp_path / "lake"))
    catalog = stored.read(AUDIO_GROUP, "audio_catalog").to_pylist()
    assert sorted(row["path"] for row in catalog) == sorted(
        [f"{truths[0].track_id}.flac", f"artist-a/{truths[1].track_id}.flac"]
    )
    (refused,) = stored.read(AUDIO_GROUP, "audio_quarantine").to_pylist()
    assert (refused["path"], refused["code"]) == ("notes.mp3", "not_audio")
    features = {r["track_id"]: r for r in stored.read(AUDIO_GROUP, "audio_features").to_pylist()}
    for truth in truths:
        row = features[truth.track_id]
        assert row["status"] == "ok" and row["error"] is None
        assert (row["key"], row["mode"]) == (truth.key, truth.mode)
        assert row["tempo_bpm"] == pytest.approx(truth.tempo_bpm, rel=0.04)
