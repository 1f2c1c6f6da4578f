"""Plays of tracks Spotify took down before the catalogue sync stay with their artists.

The sample world takes tracks down on days inside this window; the sync runs as of the world's
default day, after every take-down, so no album listing shows those tracks any more. Through
the whole graph (streams, the catalogue's lookup of played tracks, the snapshot, the dbt marts),
every play must land with the artist the world says made the track.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from spotify_agent_assets.lake import ParquetLake
from spotify_agent_assets.sample_world.catalogue import DEFAULT_AS_OF
from spotify_agent_assets.sample_world.landing_files import write_sample_landing_zone
from spotify_agent_assets.sample_world.listening import ListeningWorld
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.defs.graph_runs import build_everything, graph_defs, graph_settings

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::dagster.BetaWarning")]

FIRST = dt.date(2026, 10, 1)
DAYS = 12


def test_plays_of_taken_down_tracks_stay_with_their_artists(
    tmp_path: Path, world: SampleWorld
) -> None:
    taken_down = {
        t.id: t
        for t in world.tracks()
        if t.removed_on is not None and t.removed_on <= DEFAULT_AS_OF
    }
    settings = graph_settings(tmp_path / "run", world)
    listening = ListeningWorld(world, n_listeners=300, first_day=FIRST, days=DAYS)
    write_sample_landing_zone(listening, Path(settings.landing_dir))
    days = [(FIRST + dt.timedelta(days=i)).isoformat() for i in range(DAYS + 1)]
    with dg.instance_for_test() as instance:
        build_everything(graph_defs(settings), instance, days)

    events = ParquetLake(settings.lake_root).read("streams", "stream_events").to_pylist()
    played_down = Counter(e["track_id"] for e in events if e["track_id"] in taken_down)
    assert len(played_down) >= 2, "the window should hold plays of tracks taken down later"
    # The world's own attribution: the primary artist of every played track.
    truth = Counter(world.track(e["track_id"]).artist_ids[0] for e in events)

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        stored = dict(
            con.execute(
                "select artist_id, sum(plays)::int from analytics.artist_daily_metrics "
                "group by 1 having sum(plays) > 0"
            ).fetchall()
        )
        performance = dict(
            con.execute(
                "select track_id, plays from analytics.track_performance where track_id in "
                f"({', '.join('?' for _ in played_down)})",
                list(played_down),
            ).fetchall()
        )
        listed = {
            row[0]
            for row in con.execute(
                "select track_id from spotify.spotify_tracks where track_id in "
                f"({', '.join('?' for _ in played_down)})",
                list(played_down),
            ).fetchall()
        }
    roster = {artist_id for artist_id in truth if artist_id in stored}
    assert {a: truth[a] for a in roster} == stored
    assert sum(stored.values()) == len(events)  # every play is with a roster artist
    assert performance == dict(played_down)
    assert listed == set(played_down)
