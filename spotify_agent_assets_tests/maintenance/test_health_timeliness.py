"""Instance storage, freshness, last good backup and daemon heartbeat checks, each against a
real instance (SQLite, or the local PostgreSQL) or a real backup store, working and broken."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
import pytest

from spotify_agent_assets.defs.maintenance import health
from spotify_agent_assets.environment import AgentSettings
from spotify_agent_assets.maintenance import health_timeliness
from spotify_agent_assets.maintenance.health_results import Severity, run_check
from spotify_agent_assets_tests.services import fresh_postgres_database

HOUR = 3600.0


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        yield instance


# --- Instance storage -----------------------------------------------------------------------


def test_instance_storage_check_counts_runs_on_sqlite(instance: dg.DagsterInstance) -> None:
    @dg.op
    def noop() -> None:
        pass

    @dg.job
    def one_run() -> None:
        noop()

    assert one_run.execute_in_process(instance=instance).success
    result = health_timeliness.check_instance_storage(
        instance.get_runs_count, type(instance.run_storage).__name__
    )
    assert result.ok and result.observed == "1 run(s)"
    assert "SqliteRunStorage" in result.detail


@pytest.mark.postgres
def test_instance_storage_check_fails_when_the_postgres_database_is_dropped(
    tmp_path: Path,
) -> None:
    with fresh_postgres_database("health_test") as (name, admin):
        _instance_storage_check_until_dropped(tmp_path, name, admin)


def _instance_storage_check_until_dropped(tmp_path: Path, name: str, admin: Any) -> None:
    storage = {
        "postgres": {
            "postgres_db": {
                "hostname": "127.0.0.1",
                "port": 5432,
                "username": "postgres",
                "password": "unused-with-trust-auth",
                "db_name": name,
                "scheme": "postgresql+psycopg2",
            }
        }
    }
    with dg.instance_for_test(temp_dir=str(tmp_path), overrides={"storage": storage}) as instance:
        storage_name = type(instance.run_storage).__name__
        assert storage_name == "PostgresRunStorage"
        working = run_check(
            "instance_storage",
            lambda: health_timeliness.check_instance_storage(instance.get_runs_count, storage_name),
        )
        assert working.ok and working.observed == "0 run(s)"
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        broken = run_check(
            "instance_storage",
            lambda: health_timeliness.check_instance_storage(instance.get_runs_count, storage_name),
            secrets=["unused-with-trust-auth"],
        )
        assert not broken.ok
        assert "OperationalError" in broken.detail and name in broken.detail
        assert "unused-with-trust-auth" not in repr(broken)


# --- Freshness ------------------------------------------------------------------------------


def test_freshness_from_the_instance_fresh_then_stale(instance: dg.DagsterInstance) -> None:
    @dg.asset
    def spotify_artists() -> None:
        pass

    assert dg.materialize([spotify_artists], instance=instance).success
    stamp = health.last_materialized(instance, "spotify_artists")
    assert stamp is not None and abs(time.time() - stamp) < 60

    fresh = health_timeliness.check_freshness("spotify_artists", stamp, 26, time.time())
    assert fresh.ok and fresh.asset == "spotify_artists"
    stale = health_timeliness.check_freshness("spotify_artists", stamp, 26, stamp + 27 * HOUR)
    assert not stale.ok
    assert stale.observed == "27h 00m" and "older than allowed" in stale.detail


def test_freshness_of_an_asset_never_materialized_fails(instance: dg.DagsterInstance) -> None:
    stamp = health.last_materialized(instance, "stream_events")
    assert stamp is None
    result = health_timeliness.check_freshness("stream_events", stamp, 26, time.time())
    assert not result.ok and result.detail == "stream_events was never materialized"


def test_freshness_refuses_a_non_positive_max_age() -> None:
    with pytest.raises(ValueError, match="max age of stream_events must be > 0 hours"):
        health_timeliness.check_freshness("stream_events", time.time(), 0, time.time())


# --- Last good backup -----------------------------------------------------------------------


def _backup_settings(settings: AgentSettings) -> AgentSettings:
    from spotify_agent_assets.lake.parquet_lake import ParquetLake

    ParquetLake(settings.lake_root).write(pa.table({"id": [1, 2]}), "spotify", "artist_roster")
    return settings


def test_backup_age_against_real_backups(settings: AgentSettings) -> None:
    from spotify_agent_assets.maintenance.backup import (
        backup_store,
        create_backup,
        list_backups,
        mark_verified,
    )

    settings = _backup_settings(settings)
    now = dt.datetime.now(dt.UTC)
    config = health.HealthCheckConfig()

    def check() -> health_timeliness.CheckResult:
        return health_timeliness.check_backup_age(
            list_backups(settings), config.backup_max_age_hours, now
        )

    none = check()
    assert not none.ok and none.detail == "no backup exists"

    key = secrets.token_bytes(32)
    old = create_backup(settings, key, now=now - dt.timedelta(hours=30))
    unverified = check()
    assert not unverified.ok
    assert unverified.detail == "1 backup(s), none proved by a restore check yet"

    mark_verified(backup_store(settings), old.backup_id, now - dt.timedelta(hours=29))
    stale = check()
    assert not stale.ok and old.backup_id in stale.detail and stale.observed == "30h 00m"

    recent = create_backup(settings, key, now=now - dt.timedelta(hours=1))
    mark_verified(backup_store(settings), recent.backup_id, now)
    good = check()
    assert good.ok and recent.backup_id in good.detail and good.observed == "60m"


# --- Daemon heartbeat -----------------------------------------------------------------------


def _beat(instance: dg.DagsterInstance, daemon_type: str, at: float, error: str = "") -> None:
    from dagster._daemon.types import DaemonHeartbeat
    from dagster._utils.error import SerializableErrorInfo

    errors = [SerializableErrorInfo(error, [], "RuntimeError")] if error else []
    instance.add_daemon_heartbeat(DaemonHeartbeat(at, daemon_type, "daemon-1", errors))


def test_daemon_check_without_any_heartbeat_fails(instance: dg.DagsterInstance) -> None:
    config = health.HealthCheckConfig()
    local = health.daemon_heartbeat(instance, config, time.time(), local=True)
    assert not local.ok and local.severity is Severity.WARN
    assert "no daemon heartbeat was ever recorded" in local.detail and "make run" in local.detail
    prod = health.daemon_heartbeat(instance, config, time.time(), local=False)
    assert not prod.ok and prod.severity is Severity.ERROR and "make run" not in prod.detail


def test_daemon_check_with_old_or_failing_heartbeats(instance: dg.DagsterInstance) -> None:
    config = health.HealthCheckConfig()
    required = list(instance.get_required_daemon_types())
    now = time.time()
    for daemon_type in required:
        _beat(instance, daemon_type, now - 5)
    assert health.daemon_heartbeat(instance, config, now, local=False).ok

    _beat(instance, required[0], now - 2 * HOUR)
    old = health.daemon_heartbeat(instance, config, now, local=False)
    assert not old.ok and f"{required[0]}: last beat 2h 00m ago" in old.detail

    _beat(instance, required[0], now - 1, error="sensor tick failed: boom")
    failing = health.daemon_heartbeat(instance, config, now, local=False)
    assert not failing.ok and "sensor tick failed: boom" in failing.detail


def test_daemon_check_names_a_required_daemon_that_never_beat(
    instance: dg.DagsterInstance,
) -> None:
    required = list(instance.get_required_daemon_types())
    now = time.time()
    for daemon_type in required[1:]:
        _beat(instance, daemon_type, now)
    result = health.daemon_heartbeat(instance, health.HealthCheckConfig(), now, local=False)
    assert not result.ok and result.detail == f"{required[0]}: no heartbeat"
