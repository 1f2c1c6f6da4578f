"""The code location as Dagster loads it: graph, policies, schedule."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pytest

from spotify_agent_assets.analytics_dbt.project import find_project_dir, manifest_path
from spotify_agent_assets.audio.tables import (
    AUDIO_ANOMALIES,
    AUDIO_CATALOG,
    AUDIO_FEATURES,
    AUDIO_QUARANTINE,
    TRACK_CLASSIFICATION,
)
from spotify_agent_assets.definitions import defs
from spotify_agent_assets.defs.lake import LakeIOManager
from spotify_agent_assets.defs.table_checks import KEY_CHECK, SCHEMA_CHECK
from spotify_agent_assets.spotify.roster import load_roster
from spotify_agent_assets.spotify.tables import CONTRACTS

NETWORK_ASSETS = {
    "spotify_artists",
    "artist_snapshots",
    "spotify_albums",
    "spotify_tracks",
    "spotify_playlists",
    "playlist_tracks",
    "social_media_metrics",
}


ANALYTICS_TABLES = {
    "stg_stream_events",
    "stg_tracks",
    "stg_albums",
    "stg_artists",
    "stg_artist_snapshots",
    "int_stream_events_attributed",
    "int_track_completions_daily",
    "int_track_listener_first_seen",
    "track_artist_history",
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
    ml = {
        "interaction_matrix",
        "recommender_model",
        "user_recommendations",
        "track_embedding_index",
        "similar_tracks",
    }
    activation = {"artist_alerts", "alert_deliveries", "curated_playlists", "playlist_write_plan"}
    activation |= {"generated_content"}
    activation |= {"social_media_metrics"}
    assert keys == (
        set(CONTRACTS) | streams | ANALYTICS_TABLES | set(AUDIO_CONTRACTS) | ml | activation
    )
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
    # Models learn from the pseudonymous events and the tracks' durations.
    assert parents["interaction_matrix"] == {"stream_events", "spotify_tracks"}
    assert parents["recommender_model"] == {"interaction_matrix"}
    assert parents["user_recommendations"] == {
        "recommender_model",
        "interaction_matrix",
        "spotify_tracks",
    }
    assert parents["track_embedding_index"] == {
        "recommender_model",
        "audio_features",
        "spotify_tracks",
        "spotify_artists",
    }
    assert parents["similar_tracks"] == {"track_embedding_index"}
    # Alerts read the snapshots, trends and incidents; the outbox sends the alerts.
    assert parents["artist_alerts"] == {
        "artist_snapshots",
        "artist_trends",
        "streaming_anomalies",
    }
    assert parents["alert_deliveries"] == {"artist_alerts"}
    assert parents["social_media_metrics"] == {"artist_roster"}
    # Generated content is written from the weekly report's analytics and the curated playlists.
    assert parents["generated_content"] == {
        "curated_playlists",
        "weekly_artist_report",
        "artist_trends",
        "artist_daily_metrics",
        "audio_features",
        "spotify_tracks",
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
        # A step writing several tables counts when any of them is a network asset; checks
        # defined apart from their assets have no keys and no step of their own here.
        names = {key.to_user_string() for key in assets_def.keys}
        if not names & NETWORK_ASSETS:
            continue
        policy = assets_def.op.retry_policy
        assert policy is not None and policy.backoff == dg.Backoff.EXPONENTIAL, names
        assert policy.jitter == dg.Jitter.PLUS_MINUS, names


LAKE, WAREHOUSE, REGISTRY = "lake", "warehouse", "registry"
# Models are not tables: they are versions in the MLflow registry, with their own checks.
REGISTERED_MODELS = {"recommender_model"}


def _stored_tables() -> Iterator[tuple[dg.AssetSpec, str | None]]:
    """Every materializable asset with where it is stored: the lake (written by the lake IO
    manager), the warehouse (a dbt model), or None when it is neither."""
    lake_io_managers = {
        key for key, resource in defs.resources.items() if isinstance(resource, LakeIOManager)
    }
    for assets_def in defs.resolve_asset_graph().assets_defs:
        if not assets_def.is_materializable:
            continue
        for spec in assets_def.specs:
            output = assets_def.op.outs[assets_def.get_output_name_for_asset_key(spec.key)]
            if spec.key.to_user_string() in REGISTERED_MODELS:
                yield spec, REGISTRY
            elif output.dagster_type.is_nothing:
                # No value reaches an IO manager: the step itself stores the table.
                yield spec, WAREHOUSE if "dbt" in spec.kinds else None
            elif assets_def.get_io_manager_key_for_asset_key(spec.key) in lake_io_managers:
                yield spec, LAKE
            else:
                yield spec, None


def _column_schema(spec: dg.AssetSpec) -> dg.TableSchema:
    value = spec.metadata.get("dagster/column_schema")
    schema = value.schema if isinstance(value, dg.TableSchemaMetadataValue) else value
    assert isinstance(schema, dg.TableSchema) and schema.columns, (
        f"{spec.key.to_user_string()} declares no column schema"
    )
    return schema


# Sorted: the asset graph's order differs between processes, and xdist workers must collect alike.
STORED = sorted(_stored_tables(), key=lambda stored: stored[0].key.to_user_string())


def test_every_table_is_stored_in_the_lake_or_the_warehouse() -> None:
    """Both have a contract the tests below hold them to; a third place would have none."""
    elsewhere = [spec.key.to_user_string() for spec, storage in STORED if storage is None]
    assert not elsewhere


TABLES = [(spec, storage) for spec, storage in STORED if storage != REGISTRY]


@pytest.mark.parametrize(
    ("spec", "storage"), TABLES, ids=[s.key.to_user_string() for s, _ in TABLES]
)
def test_every_stored_table_documents_every_column(spec: dg.AssetSpec, storage: str | None) -> None:
    undocumented = [
        c.name for c in _column_schema(spec).columns if not (c.description or "").strip()
    ]
    where = "its TableContract" if storage == LAKE else "its dbt schema yml"
    assert not undocumented, f"{spec.key.to_user_string()}: describe {undocumented} in {where}"


def _checks_of(key: dg.AssetKey) -> dict[str, dg.AssetCheckSpec]:
    graph = defs.resolve_asset_graph()
    specs = [spec for a in graph.assets_defs for spec in a.check_specs]
    return {spec.name: spec for spec in specs if spec.asset_key == key}


def test_every_lake_table_has_a_blocking_key_check_and_a_schema_check() -> None:
    lake_tables = [spec for spec, storage in STORED if storage == LAKE]
    assert len(lake_tables) >= 21  # spotify, streams, Python analytics, audio and ml
    for spec in lake_tables:
        checks = _checks_of(spec.key)
        name = spec.key.to_user_string()
        assert KEY_CHECK in checks and checks[KEY_CHECK].blocking, name
        assert SCHEMA_CHECK in checks, name


def _dbt_tests() -> dict[str, dict[str, Any]]:
    manifest = json.loads(manifest_path(find_project_dir()).read_text())
    return {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "test"}


def _key_columns(test: dict[str, Any]) -> list[str] | None:
    """The columns a uniqueness test makes a key, or None for any other test."""
    meta = test.get("test_metadata") or {}
    kwargs = meta.get("kwargs", {})
    if meta.get("name") == "unique":
        return [kwargs["column_name"]]
    if meta.get("name") == "unique_combination_of_columns":
        return list(kwargs["combination_of_columns"])
    return None


# Views over every listening event: a dbt test on them reads all events of all days on each
# (hourly) run, so their key is the one of the lake table they pass through, checked by that
# table's blocking key check on each day ingestion writes.
KEYED_BY_LAKE_TABLE = {
    "stg_stream_events": "stream_events",
    "int_stream_events_attributed": "stream_events",
}


def test_every_warehouse_table_has_an_erroring_unique_and_not_null_key() -> None:
    """dbt models: a unique (or unique_combination_of_columns) test and not_null on each key
    column, at severity error so ``dbt build`` stops what reads a broken table."""
    tests = _dbt_tests()
    warehouse_tables = [spec for spec, storage in STORED if storage == WAREHOUSE]
    assert len(warehouse_tables) >= 11  # five staging views and six models
    for spec in warehouse_tables:
        name = spec.key.to_user_string()
        if name in KEYED_BY_LAKE_TABLE:
            upstream = _checks_of(dg.AssetKey(KEYED_BY_LAKE_TABLE[name]))
            assert KEY_CHECK in upstream and upstream[KEY_CHECK].blocking, name
            continue
        attached = [
            tests[check.metadata["dagster_dbt/unique_id"]]
            for check in _checks_of(spec.key).values()
            if "dagster_dbt/unique_id" in check.metadata
        ]
        erroring = [t for t in attached if t["config"]["severity"].lower() == "error"]
        not_null = {
            t["test_metadata"]["kwargs"]["column_name"]
            for t in erroring
            if (t.get("test_metadata") or {}).get("name") == "not_null"
        }
        keys = [key for t in erroring if (key := _key_columns(t)) is not None]
        assert keys, f"{name} has no erroring unique test on its key"
        assert any(set(key) <= not_null for key in keys), (
            f"{name}: key {keys} needs a not_null test on every column (has {sorted(not_null)})"
        )


def test_the_classifier_carries_its_accuracy_checks() -> None:
    assert {"content_type_held_out_accuracy", "genre_held_out_accuracy"} <= set(
        _checks_of(dg.AssetKey("track_classification"))
    )


def test_every_asset_has_a_docstring_description() -> None:
    for assets_def in defs.resolve_asset_graph().assets_defs:
        for spec in assets_def.specs:
            assert spec.description and len(spec.description) > 40, spec.key


def test_daily_schedule_targets_yesterday_for_both_groups() -> None:
    schedule = defs.get_schedule_def("spotify_daily_sync_schedule")
    # Off while the frozen sample world stands in for Spotify (as here, without credentials).
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
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


def test_daily_sync_is_on_by_default_with_spotify_credentials() -> None:
    import subprocess
    import sys

    probe = (
        "from spotify_agent_assets.defs.spotify.schedules import spotify_daily_sync_schedule as s;"
        "print(s.default_status.value)"
    )
    env = {
        **os.environ,
        "SPOTIFY_CLIENT_ID": "an-app",
        "SPOTIFY_CLIENT_SECRET": "a-secret",
    }
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == dg.DefaultScheduleStatus.RUNNING.value


def test_committed_roster_names_sample_world_artists(world) -> None:
    roster = load_roster("config/artists.yaml")
    world_artists = {artist_id for artist_id, _ in world.roster()}
    assert set(roster.artist_ids) == world_artists
    assert set(roster.playlist_ids) == set(world.playlist_ids())
    # The committed file shows all three accepted spellings.
    references = {e.reference.split(":")[0].split("/")[0] for e in roster.artists}
    assert {"spotify", "https"} <= references


MAINTENANCE_JOBS = {
    "backup_job",
    "restore_check_job",
    "health_check_job",
    "gdpr_erasure_job",
    "retention_job",
    "log_and_run_rotation_job",
}


def test_the_six_maintenance_jobs_are_op_jobs_and_all_but_erasure_are_scheduled() -> None:
    repository = defs.get_repository_def()
    jobs = {job.name: job for job in repository.get_all_jobs()}
    assert set(jobs) >= MAINTENANCE_JOBS
    for name in MAINTENANCE_JOBS:
        # Op jobs: none of their nodes is an asset.
        assert not jobs[name].asset_layer.executable_asset_keys, name
    scheduled = {
        schedule.job_name: schedule.default_status for schedule in repository.schedule_defs
    }
    assert MAINTENANCE_JOBS - set(scheduled) == {"gdpr_erasure_job"}
    for name in MAINTENANCE_JOBS - {"gdpr_erasure_job"}:
        assert scheduled[name] == dg.DefaultScheduleStatus.RUNNING, name


def test_every_daily_model_partition_today_included_has_only_existing_parents() -> None:
    """artist_snapshots ends yesterday while the daily models include today: a run or backfill
    that includes today must not depend on a snapshot day that does not exist (Dagster refuses
    it, and the automation sensor requests today's partitions)."""
    graph = defs.resolve_asset_graph()
    daily_models = [
        key
        for key in graph.get_all_asset_keys()
        if "daily" in graph.get(key).tags and graph.get(key).is_partitioned
    ]
    assert dg.AssetKey("artist_daily_metrics") in daily_models
    today = dt.datetime.now(dt.UTC).date()
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    for key in daily_models:
        for day in (today.isoformat(), yesterday):
            parents = graph.get_parents_partitions(key, day)
            assert not parents.required_but_nonexistent_parents_partitions, (key, day)
    # The mapping still reads the model's own day where the snapshot exists.
    parents = graph.get_parents_partitions(dg.AssetKey("artist_daily_metrics"), yesterday)
    assert any(
        parent.asset_key == dg.AssetKey("artist_snapshots") and parent.partition_key == yesterday
        for parent in parents.parent_partitions
    )
