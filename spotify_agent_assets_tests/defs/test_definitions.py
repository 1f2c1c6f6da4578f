"""The code location as Dagster loads it: graph, policies, schedule."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from spotify_agent_assets.audio.tables import (
    AUDIO_ANOMALIES,
    AUDIO_CATALOG,
    AUDIO_FEATURES,
    AUDIO_QUARANTINE,
    TRACK_CLASSIFICATION,
)
from spotify_agent_assets.definitions import defs
from spotify_agent_assets.spotify.roster import load_roster
from spotify_agent_assets.spotify.tables import CONTRACTS

NETWORK_ASSETS = {
    "spotify_artists",
    "artist_snapshots",
    "spotify_albums",
    "spotify_tracks",
    "spotify_playlists",
    "playlist_tracks",
}


ANALYTICS_TABLES = {
    "stg_stream_events",
    "stg_tracks",
    "stg_albums",
    "stg_artists",
    "stg_artist_snapshots",
    "fct_streams_daily",
    "dim_track",
    "dim_artist",
    "artist_daily_metrics",
    "track_performance",
    "market_breakdown",
    "artist_trends",
    "streaming_anomalies",
    "weekly_artist_report",
}
AUDIO_CONTRACTS = {
    c.name: c
    for c in (
        AUDIO_CATALOG,
        AUDIO_QUARANTINE,
        AUDIO_FEATURES,
        AUDIO_ANOMALIES,
        TRACK_CLASSIFICATION,
    )
}


def test_graph_has_every_domain_with_lineage() -> None:
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    streams = {"stream_events", "stream_quarantine"}
    assert keys == set(CONTRACTS) | streams | ANALYTICS_TABLES | set(AUDIO_CONTRACTS)
    parents = {
        k.to_user_string(): {p.to_user_string() for p in graph.get(k).parent_keys}
        for k in graph.get_all_asset_keys()
    }
    assert parents["spotify_tracks"] == {"spotify_albums"}
    assert parents["playlist_tracks"] == {"spotify_playlists"}
    assert parents["artist_snapshots"] == {"artist_roster"}
    # Lineage runs from ingestion and the Spotify sync through dbt into the Python analytics.
    assert parents["stg_stream_events"] == {"stream_events"}
    assert "stg_stream_events" in parents["fct_streams_daily"]
    assert "artist_daily_metrics" in parents["artist_trends"]
    assert {"artist_trends", "streaming_anomalies"} <= parents["weekly_artist_report"]
    # Audio: the zone's catalogue feeds the features; anomalies and classification also read
    # what Spotify says about the tracks and their artists.
    assert parents["audio_features"] == {"audio_catalog"}
    assert parents["audio_anomalies"] == {"audio_catalog", "audio_features", "spotify_tracks"}
    assert parents["track_classification"] == {
        "audio_features",
        "spotify_tracks",
        "spotify_artists",
    }


def test_sensors_and_schedules_are_on_by_default() -> None:
    for name in ("stream_landing_sensor", "audio_landing_sensor", "automation_condition_sensor"):
        assert defs.get_sensor_def(name).default_status == dg.DefaultSensorStatus.RUNNING
    hourly = defs.get_schedule_def("hourly_stream_ingestion")
    assert hourly.default_status == dg.DefaultScheduleStatus.RUNNING
    assert hourly.cron_schedule == "5 * * * *"


def test_key_tables_carry_freshness_policies() -> None:
    graph = defs.resolve_asset_graph()
    for name in ("stream_events", "fct_streams_daily", "artist_daily_metrics"):
        assert graph.get(dg.AssetKey(name)).freshness_policy is not None, name


def test_every_network_asset_retries_with_exponential_backoff() -> None:
    for assets_def in defs.resolve_asset_graph().assets_defs:
        if len(assets_def.keys) != 1:  # multi-asset checks have no keys of their own
            continue
        name = assets_def.key.to_user_string()
        policy = assets_def.op.retry_policy
        if name in NETWORK_ASSETS:
            assert policy is not None and policy.backoff == dg.Backoff.EXPONENTIAL, name
            assert policy.jitter == dg.Jitter.PLUS_MINUS, name


def test_every_table_has_key_and_schema_checks() -> None:
    check_keys = defs.resolve_asset_graph().asset_check_keys
    for table in [*CONTRACTS, *AUDIO_CONTRACTS]:
        names = {c.name for c in check_keys if c.asset_key == dg.AssetKey(table)}
        assert {"key_unique_not_null", "schema_matches_contract"} <= names, table
    classification = {
        c.name for c in check_keys if c.asset_key == dg.AssetKey("track_classification")
    }
    assert {"content_type_held_out_accuracy", "genre_held_out_accuracy"} <= classification


def test_every_asset_has_a_docstring_description() -> None:
    for assets_def in defs.resolve_asset_graph().assets_defs:
        for spec in assets_def.specs:
            assert spec.description and len(spec.description) > 40, spec.key


def test_daily_schedule_targets_yesterday_for_both_groups() -> None:
    schedule = defs.get_schedule_def("spotify_daily_sync_schedule")
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    job = defs.resolve_job_def("spotify_daily_sync")
    selected = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
    assert selected == set(CONTRACTS)
    when = dt.datetime(2026, 11, 21, 2, 15, tzinfo=dt.UTC)
    # The context closed too: left open it keeps the instance current for Dagster after the
    # instance is disposed, and later tests' runs then fail on a dead instance reference.
    with (
        dg.instance_for_test() as instance,
        dg.build_schedule_context(instance=instance, scheduled_execution_time=when) as context,
    ):
        result = schedule.evaluate_tick(context)
    assert [r.partition_key for r in result.run_requests] == ["2026-11-20"]


def test_committed_roster_names_sample_world_artists(world) -> None:
    roster = load_roster("config/artists.yaml")
    world_artists = {artist_id for artist_id, _ in world.roster()}
    assert set(roster.artist_ids) == world_artists
    assert set(roster.playlist_ids) == set(world.playlist_ids())
    # The committed file shows all three accepted spellings.
    references = {e.reference.split(":")[0].split("/")[0] for e in roster.artists}
    assert {"spotify", "https"} <= references
