"""A file for a day three weeks back lands late: the landing sensor and declarative automation,
tick by tick, rebuild exactly that day through ingestion, the daily dbt models and the Python
analytics, and every table then equals a build that had the file from the start.

Nothing is launched by hand after the initial build: each tick's requests are executed as the
automation sensor would launch them (one run per layer of the request, a partition range for a
daily asset), and the loop stops when a tick requests nothing.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections import defaultdict
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spotify_agent_assets.defs.streams.automation import stream_landing_sensor
from spotify_agent_assets.environment import AgentSettings
from spotify_agent_assets.sample_world.landing_files import write_sample_landing_zone
from spotify_agent_assets.sample_world.listening import ListeningWorld
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.defs.graph_runs import (
    DAILY_MODELS,
    PYTHON_ANALYTICS,
    build_everything,
    graph_defs,
    graph_settings,
    materialize_keys,
)

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::dagster.BetaWarning")]

FIRST = dt.date(2026, 10, 2)
DAYS = 28
LAST = FIRST + dt.timedelta(days=DAYS - 1)
LATE_DAY = LAST - dt.timedelta(days=21)
# The automation evaluates in the evening after the last sample day, so the newest partition
# is the day after LAST and "the latest days" are LAST and the one after.
NOW = dt.datetime.combine(LAST + dt.timedelta(days=1), dt.time(20), tzinfo=dt.UTC)
WINDOW = [(FIRST + dt.timedelta(days=i)).isoformat() for i in range(DAYS + 1)]
# Tables compared with the from-scratch build, with the columns left out of the comparison.
COMPARED = {
    "analytics.fct_streams_daily": (),
    "analytics.artist_daily_metrics": (),
    "analytics.market_breakdown": (),
    "analytics.track_performance": (),
    "analytics.artist_trends": (),
    "analytics.streaming_anomalies": (),
    # Where the report files lie differs between the two data folders, not what they say.
    "analytics.weekly_artist_report": ("markdown_uri", "html_uri", "chart_uris"),
}


def _late_file(world: SampleWorld, path: Path) -> int:
    """200 plays on LATE_DAY as a partner's Parquet export would carry them (written by hand,
    not by the sample world's generator); returns the number of plays."""
    tracks = [track.id for track in world.tracks()[:8]]
    start = dt.datetime.combine(LATE_DAY, dt.time(6), tzinfo=dt.UTC)
    n = 200
    table = pa.table(
        {
            "event_id": [f"late-{i:04d}" for i in range(n)],
            "listener_id": [f"late-listener-{i % 17}" for i in range(n)],
            "track_id": [tracks[i % len(tracks)] for i in range(n)],
            "ts": pa.array(
                [start + dt.timedelta(minutes=4 * i) for i in range(n)], pa.timestamp("us", "UTC")
            ),
            "ms_played": [15_000 + 997 * i for i in range(n)],
            "skipped": [None if i % 3 else i % 2 == 0 for i in range(n)],
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return n


def _tick_until_quiet(
    defs: dg.Definitions, instance: dg.DagsterInstance, cursor, max_ticks: int = 8
) -> tuple[dict[str, set[str | None]], object]:
    """Evaluate the automation and run what it requests until a tick requests nothing; returns
    every (asset, partitions) it requested and the last cursor."""
    requested: dict[str, set[str | None]] = defaultdict(set)
    graph = defs.resolve_asset_graph()
    order = {key: i for i, key in enumerate(graph.toposorted_asset_keys)}
    for _ in range(max_ticks):
        tick = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=cursor, evaluation_time=NOW
        )
        cursor = tick.cursor
        this_tick = {
            r.key: {p.partition_key for p in r.true_subset.expensively_compute_asset_partitions()}
            for r in tick.results
            if r.true_subset.size and not r.key.path[-1].startswith("__")
        }
        this_tick = {k: v for k, v in this_tick.items() if not isinstance(k, dg.AssetCheckKey)}
        if not this_tick:
            return requested, cursor
        # One run per set of partitions, upstream first, as the sensor's runs would be ordered
        # by their dependencies.
        batches: dict[tuple[str | None, ...], list[dg.AssetKey]] = defaultdict(list)
        for key, partitions in sorted(this_tick.items(), key=lambda kv: order[kv[0]]):
            requested[key.to_user_string()] |= partitions
            batches[tuple(sorted(partitions, key=str))].append(key)
        for partitions, keys in sorted(batches.items(), key=lambda kv: order[kv[1][0]]):
            days = [p for p in partitions if p is not None]
            materialize_keys(defs, instance, [k.to_user_string() for k in keys], days or None)
    raise AssertionError(f"automation still requesting after {max_ticks} ticks: {requested}")


def _tables(settings: AgentSettings) -> dict[str, list[tuple]]:
    out = {}
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        for table, volatile in COMPARED.items():
            columns = [
                row[0]
                for row in con.execute(f"describe {table}").fetchall()
                if row[0] not in volatile
            ]
            listed = ", ".join(f'"{c}"' for c in columns)
            out[table] = con.execute(f"select {listed} from {table} order by all").fetchall()
    return out


def test_a_late_file_three_weeks_back_rebuilds_exactly_its_day(
    tmp_path: Path, world: SampleWorld
) -> None:
    listening = ListeningWorld(world, n_listeners=120, first_day=FIRST, days=DAYS)
    zone = tmp_path / "zone"
    write_sample_landing_zone(listening, zone)

    late = graph_settings(tmp_path / "late", world)
    shutil.copytree(zone, late.landing_dir)
    defs = graph_defs(late)
    with dg.instance_for_test() as instance:
        build_everything(defs, instance, WINDOW)
        # Steady state first: with everything built, the automation has nothing to do.
        quiet, cursor = _tick_until_quiet(defs, instance, cursor=None)
        assert quiet == {}, quiet

        plays = _late_file(
            world, Path(late.landing_dir) / "streams" / LATE_DAY.isoformat() / "late-00.parquet"
        )
        resources = {"stream_landing": defs.resources["stream_landing"]}
        with dg.build_sensor_context(resources=resources, instance=instance) as ctx:
            sensor = stream_landing_sensor(ctx)
        [request] = sensor.run_requests
        assert request.partition_key == LATE_DAY.isoformat()
        materialize_keys(
            defs, instance, ["stream_events", "stream_quarantine"], [LATE_DAY.isoformat()]
        )

        requested, _ = _tick_until_quiet(defs, instance, cursor)
        daily = {name: parts for name, parts in requested.items() if name in DAILY_MODELS}
        assert daily == {name: {LATE_DAY.isoformat()} for name in DAILY_MODELS}
        assert set(requested) >= PYTHON_ANALYTICS

    fresh = graph_settings(tmp_path / "fresh", world)
    shutil.copytree(zone, fresh.landing_dir)
    _late_file(
        world, Path(fresh.landing_dir) / "streams" / LATE_DAY.isoformat() / "late-00.parquet"
    )
    with dg.instance_for_test() as instance:
        build_everything(graph_defs(fresh), instance, WINDOW)

    rebuilt, scratch = _tables(late), _tables(fresh)
    with duckdb.connect(str(late.warehouse_path), read_only=True) as con:
        [(day_plays,)] = con.execute(
            "select sum(plays) from analytics.fct_streams_daily where date = ?", [LATE_DAY]
        ).fetchall()
    with duckdb.connect(str(fresh.warehouse_path), read_only=True) as con:
        [(scratch_plays,)] = con.execute(
            "select sum(plays) from analytics.fct_streams_daily where date = ?", [LATE_DAY]
        ).fetchall()
    assert day_plays == scratch_plays
    assert plays > 0
    for table in COMPARED:
        assert rebuilt[table] == scratch[table], table
