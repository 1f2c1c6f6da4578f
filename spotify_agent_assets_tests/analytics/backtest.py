"""Backtest of the streaming anomaly detector on sample worlds, with and without planted events.

The daily series come straight from the sample world's listening generator: each UTC day's
plays (``ListeningWorld.events_for_day``) are counted as dbt counts them, in pyarrow instead of
dbt, which keeps a 60-day world to seconds:

- ``fct_streams_daily`` summed over countries: per date and track, the plays of at least 30 s;
- ``artist_daily_metrics.streams``: per date and artist, the same plays of the artist's tracks
  (primary artist), for every artist on every day that has plays (0 where none).

A world is scored once over its whole window: the detector walks the days in order and each
day is its own Benjamini-Hochberg family, so one call gives what daily runs would (see
``analytics.anomalies``). Event-free worlds report the last 30 days, each with a month of
history before it; worlds with planted events report every day, because the spike's day is
drawn anywhere in the window (one with fewer than 7 days of history cannot be judged).

False incident: on a world generated with ``planted_events=False`` (no spike, no breakout or
follower-drop effect on listening), every incident except a track going down on the day the
catalogue stopped serving it (the catalogue still takes tracks and albums down; a track that
vanishes is a real event).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc

from spotify_agent_assets.analytics.anomalies import DEFAULT_PARAMS, streaming_anomalies
from spotify_agent_assets.sample_world.listening import ListeningWorld
from spotify_agent_assets.sample_world.world import SampleWorld

STREAM_MS = 30_000
FIRST_DAY = date(2026, 9, 2)  # the first day the world's series allow a day before
DAYS = 60  # 2026-09-02 .. 2026-10-31
SCORED_DAYS = 30  # the last 30, each with a month of history before it
SEEDS = (7, 8, 9)


@dataclass(frozen=True)
class BacktestWorld:
    """One world's series and what the detector made of them."""

    seed: int
    planted_events: bool
    artists: int
    scored_from: date
    scored_to: date
    incidents: pa.Table
    planted: dict[str, tuple[str, date]]  # kind -> (artist_id, day)
    take_downs: dict[str, date]  # track_id -> day removed

    @property
    def scored_days(self) -> int:
        return (self.scored_to - self.scored_from).days + 1

    def false_incidents(self) -> list[dict]:
        """Every incident but a track going down on its take-down day (see the module doc)."""
        return [
            row
            for row in self.incidents.to_pylist()
            if not (
                row["level"] == "track"
                and row["direction"] == "down"
                and self.take_downs.get(row["entity_id"]) == row["date"]
            )
        ]

    def rate_per_100_artists_30_days(self) -> float:
        return len(self.false_incidents()) / (self.artists / 100) / (self.scored_days / 30)

    def found_on(self, kind: str) -> list[tuple[str, date]]:
        """(incident kind, day) of the artist incidents of the planted ``kind``'s artist."""
        artist_id, _ = self.planted[kind]
        return [
            (row["kind"], row["date"])
            for row in self.incidents.to_pylist()
            if row["level"] == "artist" and row["entity_id"] == artist_id
        ]


def daily_series(listening: ListeningWorld) -> tuple[pa.Table, pa.Table, pa.Table]:
    """(artist_daily_metrics, fct_streams_daily, dim_track) as the dbt models count them."""
    world = listening.world
    tracks = world.tracks()
    dim_track = pa.table(
        {
            "track_id": [t.id for t in tracks],
            "track_name": [t.name for t in tracks],
            "primary_artist_id": [t.artist_ids[0] for t in tracks],
        }
    )
    per_day = []
    for day in listening.window():
        events = listening.events_for_day(day)
        streams = events.filter(pc.greater_equal(events["ms_played"], STREAM_MS))
        counted = streams.group_by("track_id").aggregate([("track_id", "count")])
        per_day.append(
            counted.rename_columns(["track_id", "streams"]).append_column(
                "date", pa.array([day] * counted.num_rows, pa.date32())
            )
        )
    facts = pa.concat_tables(per_day)
    by_artist = (
        facts.join(dim_track, "track_id")
        .group_by(["date", "primary_artist_id"])
        .aggregate([("streams", "sum")])
    )
    totals = {
        (row["date"], row["primary_artist_id"]): row["streams_sum"] for row in by_artist.to_pylist()
    }
    artists = world.artists()
    days = sorted(set(facts["date"].to_pylist()))
    metrics = pa.table(
        {
            "date": pa.array([d for d in days for _ in artists], pa.date32()),
            "artist_id": [a.id for _ in days for a in artists],
            "artist_name": [a.name for _ in days for a in artists],
            "streams": pa.array(
                [totals.get((d, a.id), 0) for d in days for a in artists], pa.int64()
            ),
        }
    )
    return metrics, facts, dim_track


def backtest_world(seed: int, planted_events: bool) -> BacktestWorld:
    world = SampleWorld(seed)
    listening = ListeningWorld(world, first_day=FIRST_DAY, days=DAYS, planted_events=planted_events)
    metrics, facts, dim_track = daily_series(listening)
    scored_from = (
        listening.first_day
        if planted_events
        else listening.last_day - timedelta(days=SCORED_DAYS - 1)
    )
    incidents = streaming_anomalies(
        metrics, facts, dim_track, DEFAULT_PARAMS, score_from=scored_from
    )
    planted = {e.kind: (e.artist_id, e.day) for e in (*world.ground_truth, *listening.ground_truth)}
    return BacktestWorld(
        seed=seed,
        planted_events=planted_events,
        artists=len(world.artists()),
        scored_from=scored_from,
        scored_to=listening.last_day,
        incidents=incidents,
        planted=planted if planted_events else {},
        take_downs=_take_downs(world, listening.window()),
    )


def _take_downs(world: SampleWorld, days: list[date]) -> dict[str, date]:
    """Tracks the catalogue stops serving within ``days`` (the track or its album taken down)."""
    gone = {}
    for track in world.tracks():
        served = [world.track_visible(track.id, day) for day in days]
        for before, after, day in zip(served, served[1:], days[1:], strict=False):
            if before and not after:
                gone[track.id] = day
    return gone


def history_before(world: BacktestWorld, day: date) -> int:
    """Days of the world's series before ``day`` (what a baseline can hold)."""
    return (day - FIRST_DAY).days


def summary(worlds: Sequence[BacktestWorld]) -> list[str]:
    """One line per world, the figures docs/ARCHITECTURE.md quotes."""
    lines = []
    for w in worlds:
        if not w.planted_events:
            false = w.false_incidents()
            lines.append(
                f"seed {w.seed}, no planted events: {w.artists} artists, {w.scored_days} days "
                f"({w.scored_from}..{w.scored_to}), {len(false)} false incident(s), "
                f"rate {w.rate_per_100_artists_30_days():.2f} per 100 artists per 30 days; "
                f"all incidents: {_describe(w.incidents.to_pylist())}"
            )
        else:
            found = {kind: w.found_on(kind) for kind in ("streaming_spike", "breakout")}
            lines.append(
                f"seed {w.seed}, planted events {_planted(w)}: spike artist incidents "
                f"{found['streaming_spike']}, breakout artist incidents {found['breakout']}; "
                f"all incidents: {_describe(w.incidents.to_pylist())}"
            )
    return lines


def _planted(w: BacktestWorld) -> str:
    return ", ".join(
        f"{kind} {day} ({history_before(w, day)} days of history)"
        for kind, (_, day) in sorted(w.planted.items())
    )


def _describe(rows: list[dict]) -> str:
    return (
        "; ".join(
            f"{r['date']} {r['level']} {r['entity_name']} {r['kind']} {r['value']:.0f} vs "
            f"{r['expected']:.0f} (q {r['q_value']:.1e}, {len(r['track_ids'])} tracks)"
            for r in rows
        )
        or "none"
    )
