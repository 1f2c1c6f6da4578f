"""Landing-zone files: round trips per format, atomic writes, Spotify's export shape, the mix."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from spotify_agent_assets.sample_world import landing_files
from spotify_agent_assets.sample_world.landing_files import (
    EVENT_FORMATS,
    EXTENDED_HISTORY_KEYS,
    daily_file_path,
    read_events,
    read_extended_history,
    write_events,
    write_extended_history,
    write_sample_landing_zone,
)
from spotify_agent_assets.sample_world.listening import STREAM_EVENT_V1, ListeningWorld
from spotify_agent_assets.sample_world.world import SampleWorld

DAY = date(2026, 10, 5)
SPOTIFY_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture(scope="module")
def world() -> SampleWorld:
    return SampleWorld(seed=7)


@pytest.fixture(scope="module")
def events(world: SampleWorld) -> pa.Table:
    return ListeningWorld(world).events_for_day(DAY)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("fmt", EVENT_FORMATS)
def test_round_trip(tmp_path: Path, events: pa.Table, fmt):
    path = daily_file_path(tmp_path, DAY, fmt)
    assert path.relative_to(tmp_path).parts[:2] == ("streams", "2026-10-05")
    assert path.name.endswith(f"-20261005-00.{fmt}")
    write_events(events, path, fmt)
    back = read_events(path)
    assert back.schema == STREAM_EVENT_V1
    assert back.equals(events)  # microsecond timestamps survive the text formats too
    assert _files(tmp_path) == [path]  # no temporary left behind


def test_jsonl_is_one_object_per_line(tmp_path: Path, events: pa.Table):
    path = write_events(events.slice(0, 3), tmp_path / "x.jsonl", "jsonl")
    lines = path.read_text().splitlines()
    assert len(lines) == 3
    first = json.loads(lines[0])
    assert list(first) == STREAM_EVENT_V1.names
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", first["ts"])


def test_failed_write_leaves_nothing(tmp_path: Path, events: pa.Table, monkeypatch):
    def broken(table: pa.Table, where: Path, **_: object) -> None:
        Path(where).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(landing_files.pq, "write_table", broken)
    with pytest.raises(OSError, match="disk full"):
        write_events(events, tmp_path / "day.parquet", "parquet")
    assert _files(tmp_path) == []


def test_rejects_unknown_format(tmp_path: Path, events: pa.Table):
    with pytest.raises(ValueError, match="unknown format"):
        write_events(events, tmp_path / "x.xml", "xml")  # type: ignore[arg-type]


def test_extended_history_has_spotifys_shape(tmp_path: Path, events: pa.Table, world):
    listener_id = events.column("listener_id")[0].as_py()
    mine = events.filter(pc.equal(events.column("listener_id"), listener_id))
    paths = write_extended_history(events, tmp_path, listener_id, world=world)
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
        f"streams/extended_history/{listener_id}/Streaming_History_Audio_2026_0.json"
    ]
    records = read_extended_history(paths[0])
    assert all(tuple(record) == EXTENDED_HISTORY_KEYS for record in records)
    assert all(SPOTIFY_TS.fullmatch(record["ts"]) for record in records)
    assert [r["ts"] for r in records] == sorted(r["ts"] for r in records)
    tracks = [r for r in records if r["spotify_track_uri"]]
    episodes = [r for r in records if r["spotify_episode_uri"]]
    assert len(tracks) == mine.num_rows
    assert 1 <= len(episodes) <= 3
    for record in episodes:
        assert record["master_metadata_track_name"] is None
        assert record["episode_name"] and record["episode_show_name"]
    first = mine.slice(0, 1).to_pylist()[0]
    track = world.track(first["track_id"])
    record = tracks[0]
    assert record["spotify_track_uri"] == f"spotify:track:{first['track_id']}"
    assert record["master_metadata_track_name"] == track.name
    assert record["master_metadata_album_artist_name"] == world.artist(track.artist_ids[0]).name
    assert record["master_metadata_album_album_name"] == world.album(track.album_id).name
    assert record["ms_played"] == first["ms_played"]
    assert record["ts"] == first["ts"].strftime("%Y-%m-%dT%H:%M:%SZ")
    assert record["conn_country"] == first["country"]


def test_extended_history_splits_files(tmp_path: Path, events: pa.Table, world):
    listener_id = events.column("listener_id")[0].as_py()
    paths = write_extended_history(events, tmp_path, listener_id, world=world, records_per_file=5)
    assert [p.name for p in paths[:2]] == [
        "Streaming_History_Audio_2026_0.json",
        "Streaming_History_Audio_2026_1.json",
    ]
    assert all(len(read_extended_history(p)) <= 5 for p in paths)


def test_sample_landing_zone(tmp_path: Path, world: SampleWorld):
    listening = ListeningWorld(world, n_listeners=300)
    paths = write_sample_landing_zone(listening, tmp_path / "a")
    assert sorted(paths) == _files(tmp_path / "a")  # and no temporaries
    suffixes = [p.suffix for p in paths]
    assert suffixes.count(".csv") == 3 and suffixes.count(".parquet") == 3
    assert suffixes.count(".jsonl") == 4 * (len(listening.window()) - 6)
    histories = [p for p in paths if "extended_history" in p.parts]
    assert len({p.parent.name for p in histories}) == 5
    # Daily files plus the exports hold every event exactly once.
    daily = pa.concat_tables(read_events(p) for p in paths if p.suffix != ".json")
    exported = sum(1 for p in histories for r in read_extended_history(p) if r["spotify_track_uri"])
    total = sum(t.num_rows for t in listening.events())
    assert daily.num_rows + exported == total
    assert pc.count_distinct(daily.column("event_id")).as_py() == daily.num_rows
    for path in paths:
        if path.suffix != ".json":
            ts = read_events(path).column("ts").to_pandas()
            assert (ts.dt.date.astype(str) == path.parent.name).all()
    assert pq.read_schema(next(p for p in paths if p.suffix == ".parquet")) == STREAM_EVENT_V1

    again = write_sample_landing_zone(ListeningWorld(world, n_listeners=300), tmp_path / "b")

    def digest(folder: Path) -> dict[str, str]:
        return {
            p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in _files(folder)
            if p.suffix != ".parquet"  # Parquet embeds the writer version, not our data
        }

    assert len(again) == len(paths)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
