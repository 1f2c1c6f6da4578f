"""The dbt models' tables, built straight from the sample world, for the analytics tests.

The analytics code reads `analytics.artist_daily_metrics`, `analytics.fct_streams_daily` and
`analytics.dim_track` (dbt models). Every day of the sample world has ended, so `is_complete` is
true on every row; `with_partial_day` adds a day in progress. Building their rows here from `ListeningWorld` events and
the catalogue, with DuckDB, lets the tests judge the detectors against the world's planted
ground truth without running dbt: the same contract, computed independently.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from spotify_agent_assets.sample_world.listening import ListeningWorld
from spotify_agent_assets.sample_world.world import SampleWorld

STREAM_MS = 30_000  # a play counts as a stream from 30 s on (Spotify's royalty rule)


@dataclass(frozen=True)
class SampleTables:
    """The input tables of the analytics assets, as the dbt models would produce them."""

    artist_daily_metrics: pa.Table
    fct_streams_daily: pa.Table
    dim_track: pa.Table
    dim_artist: pa.Table


def build_sample_tables(world: SampleWorld, listening: ListeningWorld) -> SampleTables:
    """Aggregate the whole listening window to the dbt models' grains."""
    events = pa.concat_tables(listening.events())
    tracks = world.tracks()
    dim_track = pa.table(
        {
            "track_id": [t.id for t in tracks],
            "track_name": [t.name for t in tracks],
            "primary_artist_id": [t.artist_ids[0] for t in tracks],
            "album_id": [t.album_id for t in tracks],
            "duration_ms": pa.array([t.duration_ms for t in tracks], pa.int64()),
        }
    )
    artists = world.artists()
    window = listening.window()
    last = window[-1]
    dim_artist = pa.table(
        {
            "artist_id": [a.id for a in artists],
            "artist_name": [a.name for a in artists],
            "genres": [list(a.genres) for a in artists],
            "followers": pa.array([world.followers(a.id, last) for a in artists], pa.int64()),
            "popularity": pa.array([world.popularity(a.id, last) for a in artists], pa.int32()),
        }
    )
    snapshots = pa.table(  # artist_snapshots: followers and popularity per day
        {
            "date": pa.array([d for d in window for _ in artists], pa.date32()),
            "artist_id": [a.id for _ in window for a in artists],
            "followers": pa.array([world.followers(a.id, d) for d in window for a in artists]),
            "popularity": pa.array(
                [world.popularity(a.id, d) for d in window for a in artists], pa.int32()
            ),
        }
    )
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.register("events", events)
        con.register("dim_track", dim_track)
        con.register("dim_artist", dim_artist)
        con.register("snapshots", snapshots)
        con.execute(
            """
            CREATE TABLE plays AS
            SELECT CAST(e.ts AS DATE) AS date, e.track_id, t.primary_artist_id AS artist_id,
                   e.listener_id, e.ms_played, e.skipped, e.shuffle, e.country
            FROM events e JOIN dim_track t USING (track_id)
            """
        )
        fct = con.execute(
            """
            SELECT date, track_id, country,
                   COUNT(*)::BIGINT AS plays,
                   COUNT(*) FILTER (WHERE ms_played >= ?)::BIGINT AS streams,
                   COUNT(*) FILTER (WHERE skipped)::BIGINT AS skips,
                   SUM(ms_played)::BIGINT AS listening_ms,
                   COUNT(DISTINCT listener_id)::BIGINT AS listeners,
                   COUNT(*) FILTER (WHERE shuffle)::BIGINT AS shuffle_plays,
                   TRUE AS is_complete
            FROM plays GROUP BY date, track_id, country ORDER BY date, track_id, country
            """,
            [STREAM_MS],
        ).to_arrow_table()
        metrics = con.execute(
            """
            WITH per_day AS (
                SELECT date, artist_id,
                       COUNT(*)::BIGINT AS plays,
                       COUNT(*) FILTER (WHERE ms_played >= ?)::BIGINT AS streams,
                       COUNT(DISTINCT listener_id)::BIGINT AS unique_listeners,
                       SUM(ms_played)::BIGINT AS listening_ms,
                       COUNT(*) FILTER (WHERE skipped)::BIGINT AS skips,
                       COUNT(skipped)::BIGINT AS skip_known_plays
                FROM plays GROUP BY ALL
            ),
            days AS (SELECT DISTINCT date FROM plays)
            SELECT d.date, a.artist_id, a.artist_name,
                   COALESCE(p.plays, 0) AS plays,
                   COALESCE(p.streams, 0) AS streams,
                   COALESCE(p.unique_listeners, 0) AS unique_listeners,
                   COALESCE(p.listening_ms, 0) AS listening_ms,
                   COALESCE(p.skips, 0) AS skips,
                   COALESCE(p.skip_known_plays, 0) AS skip_known_plays,
                   p.skips / NULLIF(p.skip_known_plays, 0) AS skip_rate,
                   s.followers::BIGINT AS followers,
                   s.popularity::INTEGER AS popularity,
                   TRUE AS is_complete
            FROM days d CROSS JOIN dim_artist a
            LEFT JOIN per_day p ON p.date = d.date AND p.artist_id = a.artist_id
            LEFT JOIN snapshots s ON s.date = d.date AND s.artist_id = a.artist_id
            ORDER BY d.date, a.artist_id
            """,
            [STREAM_MS],
        ).to_arrow_table()
    return SampleTables(
        artist_daily_metrics=metrics,
        fct_streams_daily=fct,
        dim_track=dim_track,
        dim_artist=dim_artist,
    )


def with_partial_last_day(tables: SampleTables, share: float = 0.4) -> SampleTables:
    """The last day cut to ``share`` of its plays and marked not complete: the day in progress.

    Each count of the day is thinned binomially (every play kept with probability ``share``,
    seeded), which is what a day read at ``share`` of its plays looks like in every column.
    """
    import numpy as np

    rng = np.random.default_rng(20261031)

    def cut(table: pa.Table, counts: list[str]) -> pa.Table:
        frame = table.to_pandas()
        last = frame["date"] == frame["date"].max()
        for column in counts:
            values = frame.loc[last, column].to_numpy(dtype=np.int64)
            frame.loc[last, column] = rng.binomial(values, share)
        frame["is_complete"] = ~last
        return pa.Table.from_pandas(frame, schema=table.schema, preserve_index=False)

    return SampleTables(
        artist_daily_metrics=cut(
            tables.artist_daily_metrics,
            ["plays", "streams", "unique_listeners", "listening_ms", "skips", "skip_known_plays"],
        ),
        fct_streams_daily=cut(
            tables.fct_streams_daily,
            ["plays", "streams", "skips", "listening_ms", "listeners", "shuffle_plays"],
        ),
        dim_track=tables.dim_track,
        dim_artist=tables.dim_artist,
    )


def without_last_day(tables: SampleTables) -> SampleTables:
    """The tables as they stood the day before: the last day not there at all."""
    import pyarrow.compute as pc

    def drop(table: pa.Table) -> pa.Table:
        return table.filter(pc.less(table["date"], pc.max(table["date"])))

    return SampleTables(
        artist_daily_metrics=drop(tables.artist_daily_metrics),
        fct_streams_daily=drop(tables.fct_streams_daily),
        dim_track=tables.dim_track,
        dim_artist=tables.dim_artist,
    )
