"""Landing-zone files for listening events: what producers drop into `<landing>/streams/`.

Naming convention (the stream sensor and ingestion rely on it):

    <landing>/streams/<YYYY-MM-DD>/<source>-<YYYYMMDD>-<part:02d>.jsonl|.csv|.parquet
        stream event v1 rows (see `listening`) whose `ts` falls in that UTC day; <source> names
        the producer (app-backend, partner-export, warehouse-dump), <part> numbers its batches.
    <landing>/streams/extended_history/<listener_id>/Streaming_History_Audio_<year>_<n>.json
        one listener's Spotify "Extended streaming history" download. Current exports carry no
        user field, so the folder name is the only link to the listener; <year> is the year of
        the plays in the file and <n> counts files across the whole export from 0, as Spotify
        numbers them.

Formats: JSON Lines has one object per row with `ts` as ISO 8601 UTC with microseconds and a "Z"
("2026-10-05T17:32:11.123456Z"); CSV has a header row, the same `ts` text and booleans as
true/false; Parquet carries the v1 Arrow schema itself. Every file is written under a dot-prefixed
temporary name in the same folder and renamed into place, so a reader listing the folder only
ever sees complete files (readers must skip names starting with ".").
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from spotify_agent_assets.lake.atomic_file import atomic_path
from spotify_agent_assets.sample_world.listening import STREAM_EVENT_V1, ListeningWorld
from spotify_agent_assets.sample_world.listening_sessions import stable_rng
from spotify_agent_assets.sample_world.world import SampleWorld

EventFormat = Literal["jsonl", "csv", "parquet"]
EVENT_FORMATS: tuple[EventFormat, ...] = ("jsonl", "csv", "parquet")
STREAMS_DIR = "streams"
EXTENDED_HISTORY_DIR = "extended_history"

# The keys of one record of Spotify's extended streaming history, in the export's order.
EXTENDED_HISTORY_KEYS = (
    "ts",
    "platform",
    "ms_played",
    "conn_country",
    "ip_addr",
    "master_metadata_track_name",
    "master_metadata_album_artist_name",
    "master_metadata_album_album_name",
    "spotify_track_uri",
    "episode_name",
    "episode_show_name",
    "spotify_episode_uri",
    "audiobook_title",
    "audiobook_uri",
    "audiobook_chapter_uri",
    "audiobook_chapter_title",
    "reason_start",
    "reason_end",
    "shuffle",
    "skipped",
    "offline",
    "offline_timestamp",
    "incognito_mode",
)
# Spotify splits exports into files of about 12 MB, roughly this many records.
EXTENDED_HISTORY_RECORDS_PER_FILE = 16_000
# How current exports name platforms (older ones carried full OS/device strings).
_EXPORT_PLATFORM = {"ios": "ios", "android": "android", "web": "web_player", "cast": "google_cast"}

_SOURCES: dict[EventFormat, str] = {
    "jsonl": "app-backend",
    "csv": "partner-export",
    "parquet": "warehouse-dump",
}


def daily_file_path(
    landing_dir: Path, day: date, fmt: EventFormat, *, source: str | None = None, part: int = 0
) -> Path:
    """Where a producer puts a batch of `day`'s events in format `fmt`."""
    name = f"{source or _SOURCES[fmt]}-{day:%Y%m%d}-{part:02d}.{fmt}"
    return landing_dir / STREAMS_DIR / day.isoformat() / name


def extended_history_dir(landing_dir: Path, listener_id: str) -> Path:
    return landing_dir / STREAMS_DIR / EXTENDED_HISTORY_DIR / listener_id


def _ts_text(table: pa.Table) -> pa.Table:
    """`ts` as ISO 8601 text, the form the text formats carry."""
    ts = table.column("ts").cast(pa.timestamp("us", tz="UTC"))
    text = pc.binary_join_element_wise(pc.strftime(ts, format="%Y-%m-%dT%H:%M:%S"), "Z", "")
    return table.set_column(table.schema.get_field_index("ts"), "ts", text)


def write_events(table: pa.Table, path: Path, fmt: EventFormat) -> Path:
    """Write stream event rows to `path` in `fmt`, atomically."""
    if fmt not in EVENT_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {EVENT_FORMATS}")
    with atomic_path(path) as temporary:
        if fmt == "parquet":
            pq.write_table(table, temporary, compression="zstd")
        elif fmt == "csv":
            pa_csv.write_csv(_ts_text(table), temporary)
        else:
            _write_jsonl(_ts_text(table), temporary)
    return path


def _write_jsonl(table: pa.Table, path: Path) -> None:
    # DuckDB's JSON writer escapes strings correctly and is ~30x faster than json.dumps per row;
    # imported here so importing this module stays light.
    import duckdb

    with duckdb.connect() as connection:
        connection.register("events", table)
        connection.execute(f"COPY events TO '{path.as_posix()}' (FORMAT JSON)")


def read_events(path: Path) -> pa.Table:
    """Read a daily landing file back into stream event v1 (format from the suffix)."""
    suffix = path.suffix.lstrip(".")
    if suffix == "parquet":
        table = pq.read_table(path)
    elif suffix == "csv":
        types = {field.name: field.type for field in STREAM_EVENT_V1}
        table = pa_csv.read_csv(path, convert_options=pa_csv.ConvertOptions(column_types=types))
    elif suffix == "jsonl":
        options = pa_json.ParseOptions(explicit_schema=STREAM_EVENT_V1.with_metadata(None))
        table = pa_json.read_json(path, parse_options=options)
    else:
        raise ValueError(f"not a stream event file: {path}")
    return table.select(STREAM_EVENT_V1.names).cast(STREAM_EVENT_V1)


def _episodes(world: SampleWorld) -> list[tuple[str, str, str, int]]:
    """(id, name, show name, duration_ms) of podcast episodes the world's playlists reference."""
    ids = sorted(
        {
            entry.ref_id
            for playlist in world.playlists()
            for entry in playlist.entries
            if entry.kind == "episode" and entry.ref_id
        }
    )
    found = []
    for episode_id in ids:
        doc = world.episode_json(episode_id)
        found.append((episode_id, doc["name"], doc["show"]["name"], int(doc["duration_ms"])))
    return found


def _stable_int(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:8], "big")


def _spotify_ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def extended_history_records(
    table: pa.Table, listener_id: str, *, world: SampleWorld, podcast_plays: int = 3
) -> list[dict[str, Any]]:
    """The listener's rows of `table` as export records, plus a few podcast plays, by time."""
    rows = table.filter(pc.equal(table.column("listener_id"), listener_id))
    rows = rows.sort_by("ts").to_pylist()
    key = _stable_int(world.seed, "extended-history", listener_id)
    # Documentation address ranges (RFC 5737): realistic shape, never someone's real address.
    ip_addr = f"{('192.0.2', '198.51.100', '203.0.113')[key % 3]}.{key // 3 % 254 + 1}"
    desktop = "osx" if key % 2 else "windows"
    tracks = {t.id: t for t in world.tracks()}
    artist_names = {a.id: a.name for a in world.artists()}
    records: list[tuple[datetime, dict[str, Any]]] = []
    for row in rows:
        track = tracks.get(row["track_id"])
        album = world.album(track.album_id) if track else None
        ended: datetime = row["ts"]
        records.append(
            (
                ended,
                _record(
                    ended,
                    platform=_EXPORT_PLATFORM.get(row["platform"], desktop),
                    ms_played=row["ms_played"],
                    country=row["country"],
                    ip_addr=ip_addr,
                    track=(
                        track.name if track else None,
                        artist_names.get(track.artist_ids[0]) if track else None,
                        album.name if album else None,
                        f"spotify:track:{row['track_id']}",
                    ),
                    episode=None,
                    reasons=(row["reason_start"], row["reason_end"]),
                    flags=(row["shuffle"], row["skipped"], row["offline"]),
                ),
            )
        )
    # Real exports mix podcast plays into the audio history; ours come from the world's shows.
    episodes = _episodes(world)
    rng = np.random.default_rng(key)
    if rows and episodes:
        for _ in range(podcast_plays):
            episode_id, name, show, duration = episodes[int(rng.integers(len(episodes)))]
            anchor: datetime = rows[int(rng.integers(len(rows)))]["ts"]
            ended = anchor.replace(microsecond=0) + timedelta(minutes=int(rng.integers(5, 90)))
            played = int(duration * rng.uniform(0.2, 1.0))
            records.append(
                (
                    ended,
                    _record(
                        ended,
                        platform=_EXPORT_PLATFORM.get(rows[0]["platform"], desktop),
                        ms_played=played,
                        country=rows[0]["country"],
                        ip_addr=ip_addr,
                        track=None,
                        episode=(name, show, f"spotify:episode:{episode_id}"),
                        reasons=("clickrow", "trackdone" if played == duration else "endplay"),
                        flags=(False, False, False),
                    ),
                )
            )
    records.sort(key=lambda pair: pair[0])
    return [record for _, record in records]


def _record(
    ended: datetime,
    *,
    platform: str,
    ms_played: int,
    country: str | None,
    ip_addr: str,
    track: tuple[str | None, str | None, str | None, str] | None,
    episode: tuple[str, str, str] | None,
    reasons: tuple[str | None, str | None],
    flags: tuple[bool | None, bool | None, bool | None],
) -> dict[str, Any]:
    started = ended - timedelta(milliseconds=ms_played)
    track_name, artist_name, album_name, track_uri = track or (None, None, None, None)
    episode_name, show_name, episode_uri = episode or (None, None, None)
    return {
        "ts": _spotify_ts(ended),
        "platform": platform,
        "ms_played": ms_played,
        "conn_country": country,
        "ip_addr": ip_addr,
        "master_metadata_track_name": track_name,
        "master_metadata_album_artist_name": artist_name,
        "master_metadata_album_album_name": album_name,
        "spotify_track_uri": track_uri,
        "episode_name": episode_name,
        "episode_show_name": show_name,
        "spotify_episode_uri": episode_uri,
        "audiobook_title": None,
        "audiobook_uri": None,
        "audiobook_chapter_uri": None,
        "audiobook_chapter_title": None,
        "reason_start": reasons[0],
        "reason_end": reasons[1],
        "shuffle": flags[0],
        "skipped": flags[1],
        "offline": flags[2],
        # Recent exports fill this for every play with the start in epoch seconds.
        "offline_timestamp": int(started.timestamp()),
        "incognito_mode": False,
    }


def write_extended_history(
    table: pa.Table,
    landing_dir: Path,
    listener_id: str,
    *,
    world: SampleWorld,
    records_per_file: int = EXTENDED_HISTORY_RECORDS_PER_FILE,
) -> list[Path]:
    """Write the listener's plays in `table` as their extended-streaming-history export."""
    records = extended_history_records(table, listener_id, world=world)
    folder = extended_history_dir(landing_dir, listener_id)
    written: list[Path] = []
    by_year: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_year.setdefault(record["ts"][:4], []).append(record)
    for year, year_records in sorted(by_year.items()):
        for start in range(0, len(year_records), records_per_file):
            path = folder / f"Streaming_History_Audio_{year}_{len(written)}.json"
            chunk = year_records[start : start + records_per_file]
            with atomic_path(path) as temporary:
                temporary.write_text(json.dumps(chunk, ensure_ascii=False), encoding="utf-8")
            written.append(path)
    return written


def read_extended_history(path: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return records


def write_sample_landing_zone(listening: ListeningWorld, landing_dir: Path) -> list[Path]:
    """The whole window as producers would deliver it, deterministically.

    Most days arrive as JSON Lines from the app backend in four six-hour batches; three days
    come as one CSV (a partner export) and three as one Parquet file (a warehouse dump). Five
    active listeners arrive only through their own extended-history export: their plays are
    left out of the daily files, so the union of all files is exactly the listening world's
    events with nothing counted twice.
    """
    rng = stable_rng(listening.seed, "landing")
    window = listening.window()
    odd_days = rng.choice(len(window), size=min(6, len(window)), replace=False).tolist()
    formats: dict[date, EventFormat] = {day: "jsonl" for day in window}
    for position, index in enumerate(odd_days):
        formats[window[index]] = "csv" if position % 2 == 0 else "parquet"
    listeners = listening.listeners()
    activity = listeners.column("activity").to_numpy()
    active = np.flatnonzero(activity >= np.quantile(activity, 0.75))
    exported = listeners.column("listener_id").take(
        pa.array(np.sort(rng.choice(active, size=min(5, len(active)), replace=False)))
    )
    written: list[Path] = []
    exported_rows: list[pa.Table] = []
    for day in window:
        events = listening.events_for_day(day)
        mine = pc.is_in(events.column("listener_id"), value_set=exported)
        exported_rows.append(events.filter(mine))
        events = events.filter(pc.invert(mine))
        fmt = formats[day]
        if fmt != "jsonl":
            written.append(write_events(events, daily_file_path(landing_dir, day, fmt), fmt))
            continue
        hour = pc.hour(events.column("ts")).to_numpy()
        for part in range(4):
            batch = events.filter(pa.array((hour // 6) == part))
            written.append(
                write_events(batch, daily_file_path(landing_dir, day, fmt, part=part), fmt)
            )
    history = pa.concat_tables(exported_rows)
    for listener_id in exported.to_pylist():
        written += write_extended_history(history, landing_dir, listener_id, world=listening.world)
    return written
