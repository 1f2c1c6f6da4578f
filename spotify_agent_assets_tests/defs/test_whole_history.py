"""A listener imports their whole extended streaming history (2013, 2017 and 2024 here): the
landing sensor asks for one run, that run ingests every year, and one run of the daily models
follows over the same range.

The export files are written by hand in the shapes Spotify's privacy exports use (an older
``endsong_0.json`` with ``username``, newer ``Streaming_History_Audio_*.json`` files), not by
the sample world's generator.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from spotify_agent_assets.defs.analytics.dbt_assets import DBT_ASSETS
from spotify_agent_assets.defs.resources import build_resources
from spotify_agent_assets.defs.spotify import assets as spotify_assets
from spotify_agent_assets.defs.streams.assets import stream_events
from spotify_agent_assets.defs.streams.automation import stream_landing_sensor
from spotify_agent_assets.environment import AgentSettings
from spotify_agent_assets.lake import ParquetLake
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.defs.harness import materialize as materialize_spotify

pytestmark = pytest.mark.slow

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def _play(ts: str, track_id: str, ms: int, **extra: Any) -> dict[str, Any]:
    record = {
        "ts": ts,
        "platform": "Android OS 9 API 28 (samsung, SM-G960F)",
        "ms_played": ms,
        "conn_country": "DE",
        "ip_addr": "192.0.2.10",
        "master_metadata_track_name": "a title",
        "master_metadata_album_artist_name": "an artist",
        "master_metadata_album_album_name": "an album",
        "spotify_track_uri": f"spotify:track:{track_id}",
        "episode_name": None,
        "episode_show_name": None,
        "spotify_episode_uri": None,
        "reason_start": "clickrow",
        "reason_end": "trackdone",
        "shuffle": False,
        "skipped": None,
        "offline": False,
        "offline_timestamp": 0,
        "incognito_mode": False,
    }
    return record | extra


@pytest.fixture
def history(settings: AgentSettings, world: SampleWorld) -> dict[str, int]:
    """Plays per day of one listener's export, written into the landing zone."""
    tracks = [track.id for track in world.tracks()[:5]]
    folder = Path(settings.landing_dir) / "streams" / "extended_history" / "listener-ann"
    folder.mkdir(parents=True)
    old = [
        _play("2013-05-01T20:15:02Z", tracks[0], 201_000, username="ann-1985"),
        _play("2013-05-01T20:18:30Z", tracks[1], 12_000, username="ann-1985", skipped=True),
        _play("2013-05-02T07:01:00Z", tracks[2], 180_500, username="ann-1985"),
    ]
    middle = [
        _play("2017-11-23T23:59:59Z", tracks[3], 95_000),
        _play("2017-11-24T00:00:01Z", tracks[4], 240_000, conn_country="AT"),
        # A podcast episode: not music, quarantined with its reason.
        _play("2017-11-24T08:00:00Z", tracks[0], 60_000)
        | {"spotify_track_uri": None, "episode_name": "A show", "spotify_episode_uri": "x"},
    ]
    recent = [_play(f"2024-02-{day:02d}T12:00:00Z", tracks[day % 5], 150_000) for day in (1, 2)]
    (folder / "endsong_0.json").write_text(json.dumps(old))
    (folder / "Streaming_History_Audio_2017_1.json").write_text(json.dumps(middle, indent=1))
    (folder / "Streaming_History_Audio_2024_2.json").write_text(json.dumps(recent))
    return {
        "2013-05-01": 2,
        "2013-05-02": 1,
        "2017-11-23": 1,
        "2017-11-24": 1,
        "2024-02-01": 1,
        "2024-02-02": 1,
    }


def test_a_whole_history_ingests_in_one_run_and_the_daily_models_follow(
    settings: AgentSettings, history: dict[str, int]
) -> None:
    resources = build_resources(settings)
    with dg.build_sensor_context(resources={"stream_landing": resources["stream_landing"]}) as ctx:
        result = stream_landing_sensor(ctx)
    # One run over the whole history: the years between hold no file, so bridging them is free.
    [request] = result.run_requests
    assert (request.tags[RANGE_START], request.tags[RANGE_END]) == ("2013-05-01", "2024-02-02")

    ingested = dg.materialize([stream_events], resources=resources, tags=request.tags)
    assert ingested.success
    lake = ParquetLake(settings.lake_root)
    events = lake.read("streams", "stream_events")
    by_day = {
        day.isoformat(): count
        for day, count in duckdb.sql(
            "select date, count(*) from events group by 1 order by 1"
        ).fetchall()
    }
    assert by_day == history
    assert (
        len(lake.partitions("streams", "stream_events"))
        == (dt.date(2024, 2, 2) - dt.date(2013, 5, 1)).days + 1
    )
    quarantine = lake.read("streams", "stream_quarantine").to_pylist()
    assert [q["line"] for q in quarantine] == [3]
    assert "listener-ann" not in json.dumps([e["source_file"] for e in events.to_pylist()])

    # The sensor, with a brand-new cursor, now finds the whole history stored.
    with dg.build_sensor_context(resources={"stream_landing": resources["stream_landing"]}) as ctx:
        assert stream_landing_sensor(ctx).run_requests == []

    # The daily models over the same range, in one dbt run, on the sample catalogue.
    assert materialize_spotify(settings).success
    snapshot = materialize_spotify(
        settings, [spotify_assets.artist_snapshots], partition_key="2026-10-31"
    )
    assert snapshot.success
    daily = [a for a in DBT_ASSETS if a.partitions_def is not None]
    views = [a for a in DBT_ASSETS if a.partitions_def is None]
    assert dg.materialize(views, resources=resources).success
    models = dg.materialize(daily, resources=resources, tags=request.tags)
    assert models.success
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        daily_plays = dict(
            con.execute(
                "select strftime(date, '%Y-%m-%d'), sum(plays)::int "
                "from analytics.fct_streams_daily group by 1"
            ).fetchall()
        )
    assert daily_plays == history
