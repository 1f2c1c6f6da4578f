"""``generated_content``'s files land in the S3 lake when the lake is S3 (SeaweedFS).

The small world of ``activation/test_content_asset.py`` (curated playlists from the sample
catalogue, analytics tables made up for three artists), written to an ``s3://`` lake: every
row's file must be an object under the table's prefix holding exactly the bytes the row
describes, and nothing may reach a local lake.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import dagster as dg
import pytest

from spotify_agent_assets.environment import load_settings
from spotify_agent_assets.lake import ParquetLake
from spotify_agent_assets.lake.s3 import arrow_filesystem
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.activation.test_content_asset import _materialize, _world
from spotify_agent_assets_tests.conftest import write_roster
from spotify_agent_assets_tests.s3_server import S3Server

pytestmark = [pytest.mark.s3, pytest.mark.filterwarnings("ignore::dagster.BetaWarning")]


def test_generated_files_are_objects_in_the_s3_lake(
    tmp_path: Path, world: SampleWorld, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"content-{uuid.uuid4().hex[:8]}"
    for name, value in s3_server.settings().as_environ().items():
        monkeypatch.setenv(name, value)
    settings = load_settings(
        {
            "SPOTIFY_AGENT_DATA_DIR": str(tmp_path / "data"),
            "SPOTIFY_AGENT_ROSTER": str(write_roster(tmp_path / "artists.yaml", world)),
            "SPOTIFY_AGENT_LAKE_URL": s3_server.url(f"{prefix}/lake"),
        }
    )
    specs, _inputs = _world(world, settings, tmp_path)
    with dg.instance_for_test() as instance:
        assert _materialize(settings, specs, instance).success

    rows = ParquetLake(settings.lake_root).read("activation", "generated_content").to_pylist()
    kinds = {row["kind"] for row in rows}
    assert {"insight_post", "jingle", "cover_art", "playlist_description"} <= kinds
    fs = arrow_filesystem(s3_server.settings())
    for row in rows:
        assert row["uri"].startswith(f"{settings.lake_root}/activation/generated_content/files/")
        data = fs.open_input_stream(row["uri"].removeprefix("s3://")).read()
        assert hashlib.sha256(data).hexdigest() == row["sha256"] and len(data) == row["bytes"]
    assert not (settings.data_dir / "lake").exists()
