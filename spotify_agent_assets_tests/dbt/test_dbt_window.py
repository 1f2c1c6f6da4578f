"""The unpartitioned dbt step's window: the days the daily sources wrote since it last ran."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from spotify_agent_assets.analytics_dbt.run_window import RunWindow
from spotify_agent_assets.defs.analytics.dbt_window import days_written_since_last_run

STEP = [dg.AssetKey("stg_stream_events"), dg.AssetKey("dim_track")]


def written(instance: dg.DagsterInstance, asset: str, day: str | None = None) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(asset, partition=day))


def test_the_days_written_since_the_step_last_ran() -> None:
    instance = dg.DagsterInstance.ephemeral()
    written(instance, "stream_events", "2026-10-01")
    # Never built: every day.
    assert days_written_since_last_run(instance, STEP) is None
    written(instance, "stg_stream_events")
    # One of the step's assets never built: every day.
    assert days_written_since_last_run(instance, STEP) is None
    written(instance, "dim_track")
    # Built, and nothing written by day since (a catalogue sync, say): every day.
    assert days_written_since_last_run(instance, STEP) is None

    written(instance, "stream_events", "2026-10-04")
    written(instance, "artist_snapshots", "2026-10-02")
    written(instance, "spotify_tracks")
    assert days_written_since_last_run(instance, STEP) == RunWindow(
        dt.date(2026, 10, 2), dt.date(2026, 10, 4)
    )
    # The step's oldest last build counts: dim_track rebuilt alone does not hide those days.
    written(instance, "dim_track")
    assert days_written_since_last_run(instance, STEP) == RunWindow(
        dt.date(2026, 10, 2), dt.date(2026, 10, 4)
    )
    written(instance, "stg_stream_events")
    written(instance, "stream_events", "2026-10-05")
    assert days_written_since_last_run(instance, STEP) == RunWindow(
        dt.date(2026, 10, 5), dt.date(2026, 10, 5)
    )
