"""A tiny lake for the dbt models: three artists, four tracks, three days of events.

2026-10-02 and 2026-10-03 hold seeded random events (the edge cases included: NULL country,
plays under 30 s and exactly 30 s, skipped/shuffle NULL); 2026-10-04 holds five hand-written
events whose aggregates the tests spell out. ``expected_*`` recompute every model in plain
Python from the same rows, so each table is compared row for row.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from spotify_agent_assets.lake import ParquetLake, Warehouse
from spotify_agent_assets.lake.table_contract import to_arrow
from spotify_agent_assets.spotify.tables import (
    ARTIST_SNAPSHOTS,
    SPOTIFY_ALBUMS,
    SPOTIFY_ARTISTS,
    SPOTIFY_TRACKS,
)
from spotify_agent_assets.streams.event_schema import stream_events_schema

RANDOM_DAYS = ("2026-10-02", "2026-10-03")
HAND_DAY = "2026-10-04"
DAYS = (*RANDOM_DAYS, HAND_DAY)
SYNCED_AT = dt.datetime(2026, 10, 5, 2, 15, tzinfo=dt.UTC)
STREAM_MIN_MS = 30_000


def spotify_id(name: str) -> str:
    """A valid 22-character base62 id that still reads as ``name``."""
    return (name + "0" * 22)[:22]


ADA, BO, CY = spotify_id("artistAda"), spotify_id("artistBo"), spotify_id("artistCy")
ALBUM_ADA, ALBUM_BO = spotify_id("albumAda"), spotify_id("albumBo")
# T2 features Ada but Bo is its first artist; T4 has no primary_artist_id (the first of
# artist_ids counts); T3 is never played.
T1, T2, T3, T4 = (spotify_id(f"track{n}") for n in range(1, 5))
UNKNOWN_TRACK = spotify_id("trackTakenDown")

ARTISTS = [
    {
        "artist_id": ADA,
        "name": "Ada Lake",
        "genres": ["indie"],
        "followers": 1000,
        "popularity": 50,
    },
    {"artist_id": BO, "name": "Bo Rivers", "genres": ["pop"], "followers": 2000, "popularity": 60},
    {"artist_id": CY, "name": "Cy Moss", "genres": [], "followers": 300, "popularity": 10},
]
# Snapshots: Ada on two days, Bo on one, Cy never (dim_artist falls back to the profile).
SNAPSHOTS = [
    {"date": "2026-10-02", "artist_id": ADA, "followers": 900, "popularity": 48},
    {"date": "2026-10-02", "artist_id": BO, "followers": 1900, "popularity": 58},
    {"date": "2026-10-03", "artist_id": ADA, "followers": 950, "popularity": 49},
]
TRACKS = [
    {"track_id": T1, "artist_ids": [ADA], "primary_artist_id": ADA, "duration_ms": 200_000},
    {"track_id": T2, "artist_ids": [BO, ADA], "primary_artist_id": BO, "duration_ms": 180_000},
    {"track_id": T3, "artist_ids": [ADA], "primary_artist_id": ADA, "duration_ms": 240_000},
    {"track_id": T4, "artist_ids": [BO], "primary_artist_id": None, "duration_ms": 150_000},
]
ALBUM_OF = {T1: ALBUM_ADA, T2: ALBUM_BO, T3: ALBUM_ADA, T4: ALBUM_BO}
PRIMARY_ARTIST = {t["track_id"]: t["artist_ids"][0] for t in TRACKS}
DURATION = {t["track_id"]: t["duration_ms"] for t in TRACKS}


@dataclass(frozen=True)
class Event:
    date: str
    listener: str
    track_id: str
    country: str | None
    ms_played: int
    skipped: bool | None
    shuffle: bool | None
    reason_end: str | None
    n: int = 0

    def row(self) -> dict[str, Any]:
        day = dt.date.fromisoformat(self.date)
        ts = dt.datetime.combine(day, dt.time(), dt.UTC) + dt.timedelta(minutes=7 * self.n)
        return {
            "date": day,
            "event_id": f"{self.date}-{self.n:04d}",
            "listener_key": f"key-{self.listener}",
            "track_id": self.track_id,
            "ts": ts,
            "ms_played": self.ms_played,
            "country": self.country,
            "platform": "ios",
            "reason_start": "clickrow",
            "reason_end": self.reason_end,
            "shuffle": self.shuffle,
            "skipped": self.skipped,
            "offline": None,
            "session_id": f"session-{self.listener}",
            "source_file": f"streams/{self.date}/app-backend.jsonl",
            "source_format": "jsonl" if self.n % 3 else "csv",
        }


# The hand-checked day (aggregates spelled out in test_dbt_models.py).
HAND_EVENTS = [
    Event(HAND_DAY, "L1", T1, "US", 200_000, False, True, "trackdone"),
    Event(HAND_DAY, "L2", T1, "US", 10_000, True, False, "fwdbtn"),
    Event(HAND_DAY, "L1", T1, None, 30_000, None, None, "endplay"),
    Event(HAND_DAY, "L3", T2, "GB", 29_999, True, True, "fwdbtn"),
    Event(HAND_DAY, "L1", T4, "GB", 150_000, False, False, "trackdone"),
]


def random_events(day: str, count: int, seed: int) -> list[Event]:
    rng = random.Random(seed)
    events = []
    for _ in range(count):
        track = rng.choice([T1, T2, T4])
        full = rng.random() < 0.5
        ms = DURATION[track] if full else rng.choice([5_000, 29_999, 30_000, 61_000, 120_000])
        events.append(
            Event(
                date=day,
                listener=f"L{rng.randint(1, 25)}",
                track_id=track,
                country=rng.choice(["US", "GB", "SE", "DE", None]),
                ms_played=ms,
                skipped=None if rng.random() < 0.1 else (not full and rng.random() < 0.7),
                shuffle=rng.choice([True, False, None]),
                reason_end="trackdone" if full else rng.choice(["fwdbtn", "endplay", None]),
            )
        )
    return events


def numbered(events: Iterable[Event]) -> list[Event]:
    return [replace(event, n=n) for n, event in enumerate(events)]


def fixture_events() -> dict[str, list[Event]]:
    by_day = {day: numbered(random_events(day, 150, seed)) for seed, day in enumerate(RANDOM_DAYS)}
    by_day[HAND_DAY] = numbered(HAND_EVENTS)
    return by_day


def events_table(events: list[Event]) -> pa.Table:
    return pa.Table.from_pylist([e.row() for e in events], schema=stream_events_schema())


def write_tracks(
    lake: ParquetLake, tracks: list[dict[str, Any]], fetched_at: dt.datetime = SYNCED_AT
) -> None:
    """``spotify.spotify_tracks`` as a catalogue sync at ``fetched_at`` leaves it."""
    rows = [
        {
            **t,
            "name": f"Song {t['track_id'][5]}",
            "album_id": ALBUM_OF[t["track_id"]],
            "fetched_at": fetched_at,
        }
        for t in tracks
    ]
    lake.write(to_arrow(SPOTIFY_TRACKS, rows), "spotify", "spotify_tracks")


def write_catalogue(lake: ParquetLake, warehouse: Warehouse) -> None:
    artists = [{**a, "synced_at": SYNCED_AT} for a in ARTISTS]
    albums = [
        {
            "album_id": album,
            "name": f"Album of {artist}",
            "album_type": "album",
            "artist_ids": [artist],
            "primary_artist_id": artist,
            "release_day": dt.date(2026, 9, 1),
            "track_ids": [t for t, a in ALBUM_OF.items() if a == album],
            "first_seen_at": SYNCED_AT,
        }
        for album, artist in ((ALBUM_ADA, ADA), (ALBUM_BO, BO))
    ]
    lake.write(to_arrow(SPOTIFY_ARTISTS, artists), "spotify", "spotify_artists")
    write_tracks(lake, TRACKS)
    lake.write(to_arrow(SPOTIFY_ALBUMS, albums), "spotify", "spotify_albums")
    for day in sorted({s["date"] for s in SNAPSHOTS}):
        rows = [
            {**s, "date": dt.date.fromisoformat(day), "captured_at": SYNCED_AT}
            for s in SNAPSHOTS
            if s["date"] == day
        ]
        lake.write(
            to_arrow(ARTIST_SNAPSHOTS, rows),
            "spotify_history",
            "artist_snapshots",
            partition_key=day,
        )
    for asset in ("spotify_artists", "spotify_tracks", "spotify_albums"):
        warehouse.register("spotify", asset, partitioned=False)
    warehouse.register("spotify_history", "artist_snapshots", partitioned=True)


def write_events(lake: ParquetLake, warehouse: Warehouse, by_day: dict[str, list[Event]]) -> None:
    for day, events in by_day.items():
        lake.write(events_table(events), "streams", "stream_events", partition_key=day)
    warehouse.register("streams", "stream_events", partitioned=True)


def build_lake(root: Path) -> tuple[ParquetLake, Warehouse]:
    lake = ParquetLake(str(root / "lake"))
    warehouse = Warehouse(root / "warehouse.duckdb", lake)
    write_catalogue(lake, warehouse)
    write_events(lake, warehouse, fixture_events())
    return lake, warehouse


# Plain-Python versions of the models, for row-by-row comparison.


def _is_stream(e: Event) -> bool:
    return e.ms_played >= STREAM_MIN_MS


def is_complete(day: dt.date | str) -> bool:
    """The models' is_complete: the UTC day had ended (the fixture days always have)."""
    return dt.date.fromisoformat(str(day)) < dt.datetime.now(dt.UTC).date()


def _known(values: Iterable[bool | None]) -> int:
    return sum(v is not None for v in values)


def expected_fct_streams_daily(events: list[Event]) -> set[tuple]:
    groups: dict[tuple, list[Event]] = defaultdict(list)
    for e in events:
        groups[(dt.date.fromisoformat(e.date), e.track_id, e.country or "ZZ")].append(e)
    return {
        (
            *key,
            len(g),
            sum(map(_is_stream, g)),
            sum(bool(e.skipped) for e in g),
            _known(e.skipped for e in g),
            sum(e.ms_played for e in g),
            len({e.listener for e in g}),
            sum(bool(e.shuffle) for e in g),
            _known(e.shuffle for e in g),
            is_complete(key[0]),
        )
        for key, g in groups.items()
    }


def expected_artist_daily_metrics(events: list[Event]) -> set[tuple]:
    names = {a["artist_id"]: a["name"] for a in ARTISTS}
    snapshots = {(s["date"], s["artist_id"]): s for s in SNAPSHOTS}
    rows = set()
    for day in sorted({e.date for e in events}):
        for artist in names:
            g = [e for e in events if e.date == day and PRIMARY_ARTIST[e.track_id] == artist]
            plays, skips = len(g), sum(bool(e.skipped) for e in g)
            known = _known(e.skipped for e in g)
            snapshot = snapshots.get((day, artist), {})
            rows.add(
                (
                    dt.date.fromisoformat(day),
                    artist,
                    names[artist],
                    plays,
                    sum(map(_is_stream, g)),
                    len({e.listener for e in g}),
                    sum(e.ms_played for e in g),
                    skips,
                    known,
                    skips / known if known else None,
                    snapshot.get("followers"),
                    snapshot.get("popularity"),
                    is_complete(day),
                )
            )
    return rows


def expected_market_breakdown(events: list[Event]) -> set[tuple]:
    groups: dict[tuple, list[Event]] = defaultdict(list)
    for e in events:
        key = (dt.date.fromisoformat(e.date), PRIMARY_ARTIST[e.track_id], e.country or "ZZ")
        groups[key].append(e)
    artist_streams: dict[tuple, int] = defaultdict(int)
    for (day, artist, _), g in groups.items():
        artist_streams[(day, artist)] += sum(map(_is_stream, g))
    rows = set()
    for (day, artist, country), g in groups.items():
        streams, total = sum(map(_is_stream, g)), artist_streams[(day, artist)]
        rows.add(
            (
                day,
                artist,
                country,
                len(g),
                streams,
                len({e.listener for e in g}),
                sum(e.ms_played for e in g),
                streams / total if total else None,
                is_complete(day),
            )
        )
    return rows


def expected_track_performance(events: list[Event]) -> dict[str, dict[str, Any]]:
    rows = {}
    for track in TRACKS:
        track_id = track["track_id"]
        g = [e for e in events if e.track_id == track_id]
        plays, skips = len(g), sum(bool(e.skipped) for e in g)
        known = _known(e.skipped for e in g)
        complete = sum(
            e.reason_end == "trackdone" or e.ms_played >= track["duration_ms"] for e in g
        )
        days = sorted({dt.date.fromisoformat(e.date) for e in g})
        rows[track_id] = {
            "plays": plays,
            "streams": sum(map(_is_stream, g)),
            "listeners": len({e.listener for e in g}),
            "listening_ms": sum(e.ms_played for e in g),
            "skips": skips,
            "skip_known_plays": known,
            "skip_rate": skips / known if known else None,
            "completion_rate": complete / plays if plays else None,
            "first_play_date": days[0] if days else None,
            "last_play_date": days[-1] if days else None,
            "active_days": len(days),
        }
    for values in rows.values():
        values["rank_by_streams"] = 1 + sum(
            other["streams"] > values["streams"] for other in rows.values()
        )
    return rows
