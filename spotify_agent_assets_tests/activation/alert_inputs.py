"""The alert rules' inputs for the sample world (seed 7, 2026-10-02 .. 10-31) in a temporary lake.

``artist_snapshots`` come from the world's own follower and popularity series for every roster
artist (the planted breakout and follower drop included). ``artist_trends`` and
``streaming_anomalies`` are what the analytics store for that world (their own tests compute
them; ``make run`` on the sample world stores exactly these flags): the breakout confirmed from
its second day, and three incidents, the planted streaming spike, a track taken down from the
catalogue and the breakout's level shift.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from spotify_agent_assets.analytics.tables import ARTIST_TRENDS, STREAMING_ANOMALIES
from spotify_agent_assets.lake.parquet_lake import ParquetLake
from spotify_agent_assets.lake.table_contract import to_arrow
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets.spotify.tables import ARTIST_SNAPSHOTS

FIRST_DAY, LAST_DAY = dt.date(2026, 10, 2), dt.date(2026, 10, 31)
SPIKE_DAY = dt.date(2026, 10, 10)


def days() -> list[dt.date]:
    return [FIRST_DAY + dt.timedelta(days=i) for i in range((LAST_DAY - FIRST_DAY).days + 1)]


def planted(world: SampleWorld) -> dict[str, tuple[str, dt.date]]:
    """kind -> (artist_id, day) of the catalogue's planted events."""
    return {event.kind: (event.artist_id, event.day) for event in world.ground_truth}


def spike_artist(world: SampleWorld) -> str:
    """An artist with no catalogue event, standing in for the listening spike's artist."""
    taken = {artist_id for artist_id, _day in planted(world).values()}
    return next(artist_id for artist_id, _name in world.roster() if artist_id not in taken)


def write_inputs(lake_root: Path, world: SampleWorld, until: dt.date = LAST_DAY) -> None:
    """Snapshots, trends and incidents of the days up to ``until``."""
    lake = ParquetLake(str(lake_root))
    names = dict(world.roster())
    captured = dt.datetime(2026, 11, 1, 2, 15, tzinfo=dt.UTC)
    scope = [day for day in days() if day <= until]
    lake.write_partitions(
        "spotify_history",
        "artist_snapshots",
        (
            (
                day.isoformat(),
                to_arrow(
                    ARTIST_SNAPSHOTS,
                    [
                        {
                            "date": day,
                            "artist_id": artist_id,
                            "name": names[artist_id],
                            "followers": world.followers(artist_id, day),
                            "popularity": world.popularity(artist_id, day),
                            "genres": [],
                            "captured_at": captured,
                        }
                        for artist_id in names
                    ],
                ),
                None,
            )
            for day in scope
        ),
    )
    breakout_id, breakout_day = planted(world)["breakout"]
    trends = []
    for day in scope:
        for artist_id in names:
            # artist_trends confirms a breakout on its second day, dated from its first.
            broke = artist_id == breakout_id and day > breakout_day
            trends.append(
                {
                    "artist_id": artist_id,
                    "artist_name": names[artist_id],
                    "date": day,
                    "streams": 1000,
                    "followers": world.followers(artist_id, day),
                    "streams_z": 19.1 if broke else 0.3,
                    "follower_z": 59.9 if broke else 0.5,
                    "breakout_signal": broke,
                    "is_breakout": broke,
                    "breakout_day": breakout_day if broke else None,
                    "trend_status": "breakout" if broke else "steady",
                }
            )
    lake.write(to_arrow(ARTIST_TRENDS, trends), "analytics", "artist_trends")
    incidents = [
        _incident("artist", spike_artist(world), names, SPIKE_DAY, "spike", "up", 5398, 784.5),
        _incident(
            "track", "TakenDownTrack00000000", names, SPIKE_DAY, "level_shift", "down", 0, 236
        ),
        _incident("artist", breakout_id, names, breakout_day, "level_shift", "up", 2930, 1340.9),
    ]
    incidents = [row for row in incidents if row["date"] <= until]
    lake.write(to_arrow(STREAMING_ANOMALIES, incidents), "analytics", "streaming_anomalies")


def _incident(
    level: str,
    entity_id: str,
    names: dict[str, str],
    day: dt.date,
    kind: str,
    direction: str,
    value: float,
    expected: float,
) -> dict[str, Any]:
    artist_id = entity_id if level == "artist" else next(iter(names))
    return {
        "level": level,
        "entity_id": entity_id,
        "entity_name": names.get(entity_id, "Weather of Coastline"),
        "artist_id": artist_id,
        "date": day,
        "metric": "streams",
        "kind": kind,
        "direction": direction,
        "value": float(value),
        "expected": float(expected),
        "dispersion": 0.02,
        "p_value": 1e-10,
        "q_value": 1e-8,
        "track_ids": [],
        "track_names": [],
        "method": "negative binomial (test input)",
    }
