"""How the dbt project is wired into Dagster: keys, groups, partitions, checks, automation,
run vars and the warehouse lock. No dbt run here; these take milliseconds."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from pathlib import Path

import dagster as dg
import pytest

from spotify_agent_assets.analytics_dbt.project import manifest_is_current
from spotify_agent_assets.analytics_dbt.run_vars import dbt_vars_arg
from spotify_agent_assets.analytics_dbt.run_window import RunWindow
from spotify_agent_assets.defs.analytics.dbt_assets import (
    DBT_ASSETS,
    analytics_daily_dbt_models,
    analytics_dbt_models,
)
from spotify_agent_assets.defs.analytics.dbt_resource import build_dbt_resource
from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.defs.spotify.partitions import SNAPSHOT_DAYS
from spotify_agent_assets.defs.streams.partitions import STREAM_DAYS
from spotify_agent_assets.environment import load_settings
from spotify_agent_assets.lake.warehouse import exclusive_warehouse_lock

STAGING = {"stg_stream_events", "stg_tracks", "stg_albums", "stg_artists", "stg_artist_snapshots"}
DAILY = {"fct_streams_daily", "artist_daily_metrics", "market_breakdown"}
# Built with the daily models, whatever the run's days: track_performance and what it sums.
TRACK_TOTALS = {"track_performance", "int_track_listener_first_seen", "int_track_completions_daily"}
TABLES = {
    "dim_track",
    "dim_artist",
    "int_stream_events_attributed",
    "track_artist_history",  # the dbt snapshot of the catalogue's track-to-artist mapping
}
SOURCES = {
    "stream_events",
    "spotify_tracks",
    "spotify_albums",
    "spotify_artists",
    "artist_snapshots",
}


def names(keys) -> set[str]:
    return {key.to_user_string() for key in keys}


def test_models_are_assets_keyed_by_name_and_sources_are_the_lake_assets() -> None:
    assert names(analytics_dbt_models.keys) == STAGING | TABLES
    assert names(analytics_daily_dbt_models.keys) == DAILY | TRACK_TOTALS
    assert analytics_daily_dbt_models.partitions_def == STREAM_DAYS
    assert analytics_daily_dbt_models.backfill_policy == dg.BackfillPolicy.single_run()
    assert analytics_dbt_models.partitions_def is None

    upstream = set()
    for assets in DBT_ASSETS:
        upstream |= names(assets.dependency_keys) - names(assets.keys)
    assert upstream - STAGING - TABLES - DAILY - TRACK_TOTALS == SOURCES

    specs = [spec for assets in DBT_ASSETS for spec in assets.specs]
    assert {spec.group_name for spec in specs} == {"analytics"}
    assert all(spec.automation_condition is not None for spec in specs)
    assert {spec.automation_condition.get_label() for spec in specs} == {
        "eager",
        "eager, day by day",
    }
    assert all({"dbt", "duckdb"} <= spec.kinds for spec in specs)


def test_dbt_tests_are_asset_checks() -> None:
    checks = {
        (key.asset_key.to_user_string(), key.name)
        for assets in DBT_ASSETS
        for key in assets.check_keys
    }
    assert len(checks) == 47
    assert (
        "fct_streams_daily",
        "relationships_fct_streams_daily_track_id__track_id__ref_dim_track_",
    ) in checks
    # The views over the events have no tests: they would read every event on each run
    # (ingestion checks each day it writes; the daily models' tests check the days they build).
    unchecked = {"stg_stream_events", "int_stream_events_attributed"}
    assert {asset for asset, _ in checks} == (STAGING | DAILY | TRACK_TOTALS | TABLES) - unchecked


def test_partition_windows_become_inclusive_run_windows() -> None:
    day = dt.datetime(2026, 10, 3, tzinfo=dt.UTC)
    one = RunWindow.of_partitions(day, day + dt.timedelta(days=1))
    assert one == RunWindow(dt.date(2026, 10, 3), dt.date(2026, 10, 3))
    assert one.is_one_day
    three = RunWindow.of_partitions(day, day + dt.timedelta(days=3))
    assert three == RunWindow(dt.date(2026, 10, 3), dt.date(2026, 10, 5))
    assert not three.is_one_day
    with pytest.raises(ValueError, match="empty partition time window"):
        RunWindow.of_partitions(day, day)
    # The vars are the same on every run (the window is not among them): dbt's parse holds.
    assert dbt_vars_arg(Path("/data/warehouse.duckdb")) == (
        '{"warehouse_path": "/data/warehouse.duckdb"}'
    )


def _automation_defs() -> dg.Definitions:
    upstream = [
        dg.AssetSpec("stream_events", group_name="streams", partitions_def=STREAM_DAYS),
        dg.AssetSpec(
            "artist_snapshots", group_name="spotify_history", partitions_def=SNAPSHOT_DAYS
        ),
        *(
            dg.AssetSpec(name, group_name="spotify")
            for name in sorted(SOURCES)
            if "spotify_" in name
        ),
    ]
    resources = {
        "dbt": build_dbt_resource(load_settings({})),
        "lake": LakeResource(lake_root="/nonexistent/lake", warehouse_path="/nonexistent/w.duckdb"),
    }
    return dg.Definitions(assets=[*DBT_ASSETS, *upstream], resources=resources)


def _requested(result: dg.EvaluateAutomationConditionsResult) -> dict[str, set[str | None]]:
    return {
        r.key.to_user_string(): {
            k.partition_key for k in r.true_subset.expensively_compute_asset_partitions()
        }
        for r in result.results
        if r.true_subset.size
    }


def test_automation_follows_new_data_despite_partitions_never_written() -> None:
    defs, instance = _automation_defs(), dg.DagsterInstance.ephemeral()
    now = dt.datetime(2026, 10, 5, 12, tzinfo=dt.UTC)
    tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=now)
    assert tick.total_requested == 0

    # Only one day of events and snapshots exists (2026-09-01 .. 10-03 were never written).
    instance.report_runless_asset_event(
        dg.AssetMaterialization("stream_events", partition="2026-10-04")
    )
    instance.report_runless_asset_event(
        dg.AssetMaterialization("artist_snapshots", partition="2026-10-04")
    )
    for name in ("spotify_tracks", "spotify_albums", "spotify_artists"):
        instance.report_runless_asset_event(dg.AssetMaterialization(name))
    tick = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=tick.cursor, evaluation_time=now
    )
    assert set(_requested(tick)) == STAGING | TABLES

    for name in STAGING | TABLES:
        instance.report_runless_asset_event(dg.AssetMaterialization(name))
    tick = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=tick.cursor, evaluation_time=now
    )
    # The day whose events landed; the catalogue arrived too, and a catalogue change rebuilds
    # the newest days (today and yesterday) of the models that read it. fct_streams_daily reads
    # no dimension, and the staging views' rebuild says nothing about which day moved.
    requested = _requested(tick)
    assert {name: days for name, days in requested.items() if name in DAILY} == {
        "fct_streams_daily": {"2026-10-04"},
        "market_breakdown": {"2026-10-04", "2026-10-05"},
        "artist_daily_metrics": {"2026-10-04", "2026-10-05"},
    }
    # track_performance and what it sums are rebuilt with the day that landed.
    assert {name for name, days in requested.items() if "2026-10-04" in days} >= TRACK_TOTALS

    # Midnight passes and no event lands: a new day's partition alone starts nothing.
    for name in DAILY:
        instance.report_runless_asset_event(dg.AssetMaterialization(name, partition="2026-10-04"))
        instance.report_runless_asset_event(dg.AssetMaterialization(name, partition="2026-10-05"))
    for hours in (1, 12, 36):
        tick = dg.evaluate_automation_conditions(
            defs=defs,
            instance=instance,
            cursor=tick.cursor,
            evaluation_time=now + dt.timedelta(hours=hours),
        )
        assert tick.total_requested == 0, (hours, _requested(tick))

    # Late events for a day three weeks back: that day alone, in every daily model, however
    # old. The staging views rebuilt after the ingestion pull in no other day.
    later = now + dt.timedelta(days=21)
    instance.report_runless_asset_event(
        dg.AssetMaterialization("stream_events", partition="2026-10-04")
    )
    tick = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=tick.cursor, evaluation_time=later
    )
    daily = {name: days for name, days in _requested(tick).items() if name in DAILY}
    assert daily == {name: {"2026-10-04"} for name in DAILY}
    for name in DAILY:
        instance.report_runless_asset_event(dg.AssetMaterialization(name, partition="2026-10-04"))
    for name in STAGING:
        instance.report_runless_asset_event(dg.AssetMaterialization(name))
    tick = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, cursor=tick.cursor, evaluation_time=later
    )
    assert not set(_requested(tick)) & DAILY, _requested(tick)


def test_the_writer_lock_queues_a_second_holder(tmp_path: Path) -> None:
    lock_path = tmp_path / "warehouse.duckdb.lock"
    held, waits = threading.Event(), []

    def hold() -> None:
        with exclusive_warehouse_lock(lock_path):
            held.set()
            time.sleep(0.3)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait()
    with exclusive_warehouse_lock(lock_path, on_wait=waits.append) as waited:
        assert waited >= 0.2
    holder.join()
    assert len(waits) == 1 and str(lock_path) in waits[0]
    with exclusive_warehouse_lock(lock_path, on_wait=waits.append):
        assert len(waits) == 1  # free: taken at once, nobody told to wait


def test_the_manifest_counts_as_stale_once_a_project_file_is_newer(tmp_path: Path) -> None:
    project = tmp_path / "dbt_project"
    (project / "models").mkdir(parents=True)
    (project / "target").mkdir()
    model = project / "models" / "m.sql"
    model.write_text("select 1")
    assert not manifest_is_current(project)
    manifest = project / "target" / "manifest.json"
    manifest.write_text("{}")
    os.utime(model, (1_000, 1_000))
    os.utime(model.parent, (1_000, 1_000))
    assert manifest_is_current(project)
    # dbt's own output and the folder's README do not count; an edited model does.
    (project / "target" / "run_results.json").write_text("{}")
    (project / "README.md").write_text("# notes")
    assert manifest_is_current(project)
    os.utime(model, (time.time() + 60, time.time() + 60))
    assert not manifest_is_current(project)
    # So does a deleted one (its folder changes).
    model.unlink()
    os.utime(model.parent, (time.time() + 60, time.time() + 60))
    assert not manifest_is_current(project)
