"""The audio landing sensor and incremental analysis on a small zone: a run does the work of
exactly the new or changed files, and rows from an older extractor are analysed again."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spotify_agent_assets.audio.tables import AUDIO_GROUP
from spotify_agent_assets.defs.audio.assets import audio_anomalies, audio_catalog, audio_features
from spotify_agent_assets.defs.audio.automation import audio_analysis, audio_landing_sensor
from spotify_agent_assets.defs.resources import build_resources
from spotify_agent_assets.environment import AgentSettings, load_settings
from spotify_agent_assets.sample_world.audio import audio_ground_truth, render_clip
from spotify_agent_assets.sample_world.audio_landing_files import write_clip
from spotify_agent_assets.sample_world.world import SampleWorld

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(tmp_path: Path) -> AgentSettings:
    return load_settings({"SPOTIFY_AGENT_ENV": "local", "SPOTIFY_AGENT_DATA_DIR": str(tmp_path)})


def write_clips(zone: Path, count: int, *, skip: int = 0) -> list[Path]:
    world = SampleWorld()
    music = [t for t in audio_ground_truth(world) if t.content_type == "music"]
    paths = []
    for truth in music[skip : skip + count]:
        path = zone / truth.file_name
        write_clip(render_clip(truth, world.seed), path, truth.sample_rate)
        paths.append(path)
    return paths


def audio_defs(settings: AgentSettings) -> dg.Definitions:
    # Classification needs a labelled training set a three-file zone cannot give; the
    # sensor's promise is about which files the run reads and analyses.
    return dg.Definitions(
        assets=[audio_catalog, audio_features, audio_anomalies],
        jobs=[audio_analysis],
        sensors=[audio_landing_sensor],
        resources=build_resources(settings),
    )


def tick(
    defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None
) -> tuple[list[dg.RunRequest], str | None, Any]:
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources=defs.resources, definitions=defs
    ) as context:
        result = audio_landing_sensor.evaluate_tick(context)
    return list(result.run_requests or []), result.cursor, result.skip_message


def run(
    defs: dg.Definitions, instance: dg.DagsterInstance, request: dg.RunRequest
) -> dict[str, dict[str, Any]]:
    # What the request starts: the audio_analysis job's selection (the group), with its tags.
    assert request.job_name in (None, audio_analysis.name)
    result = dg.materialize(
        [audio_catalog, audio_features, audio_anomalies],
        selection=audio_analysis.selection,
        resources=defs.resources,
        instance=instance,
        tags=request.tags,
    )
    assert result.success
    return {
        e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }


def test_the_sensor_runs_exactly_the_new_or_changed_files(settings: AgentSettings) -> None:
    zone = Path(settings.audio_landing_dir)
    first_files = write_clips(zone, 3)
    defs = audio_defs(settings)
    with dg.instance_for_test() as instance:
        requests, cursor, _ = tick(defs, instance, None)
        assert len(requests) == 1 and requests[0].tags["audio/new_files"] == "3"
        metadata = run(defs, instance, requests[0])
        assert metadata["audio_features"]["files_analysed"] == 3

        requests, same_cursor, skip = tick(defs, instance, cursor)
        assert requests == [] and "No new or changed files" in skip
        assert same_cursor in (None, cursor)

        # One new file, one re-delivered with other content, temporary files ignored.
        write_clips(zone, 1, skip=3)
        changed = first_files[0]
        other = write_clips(zone.parent / "elsewhere", 1, skip=4)[0]
        os.replace(other, changed.with_name(f".{changed.name}.tmp"))
        (zone / ".upload.partial").write_bytes(b"half")
        os.replace(changed.with_name(f".{changed.name}.tmp"), changed)
        requests, cursor, _ = tick(defs, instance, cursor)
        assert len(requests) == 1 and requests[0].tags["audio/new_files"] == "2"
        metadata = run(defs, instance, requests[0])
        assert metadata["audio_catalog"]["files_read"] == 2
        assert metadata["audio_features"]["files_analysed"] == 2
        assert metadata["audio_features"]["files_reused"] == 2

        requests, _, skip = tick(defs, instance, cursor)
        assert requests == [] and skip

        # A brand-new cursor over the analysed zone, with one file touched but not changed:
        # every file looks new, none would change what is stored, so no run.
        os.utime(first_files[1])
        requests, fresh_cursor, _ = tick(defs, instance, None)
        assert requests == [] and fresh_cursor is not None


def test_rows_from_another_extractor_version_are_analysed_again(
    settings: AgentSettings,
) -> None:
    zone = Path(settings.audio_landing_dir)
    write_clips(zone, 3)
    defs = audio_defs(settings)
    with dg.instance_for_test() as instance:
        request = dg.RunRequest()
        assert run(defs, instance, request)["audio_features"]["files_analysed"] == 3
        assert run(defs, instance, request)["audio_features"]["files_analysed"] == 0

        # As if the stored rows came from the extractor before the current one.
        folder = Path(settings.lake_root) / AUDIO_GROUP / "audio_features"
        (stored,) = folder.glob("*.parquet")
        table = pq.read_table(stored)
        older = pa.array(["0"] * table.num_rows, pa.string())
        index = table.schema.get_field_index("extractor_version")
        pq.write_table(table.set_column(index, "extractor_version", older), stored)

        metadata = run(defs, instance, request)["audio_features"]
        assert metadata["files_analysed"] == 3 and metadata["files_reused"] == 0
