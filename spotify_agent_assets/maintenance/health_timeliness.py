"""Health checks on time and on the Dagster instance: does the run storage answer, how old
are the key assets, the last good backup and the daemon's heartbeats.

Pure functions over what the caller read from the instance and the backup store (timestamps,
counts), so each can be tested with a broken target without Dagster in between; the Dagster
wiring (`defs/maintenance/health.py`) does the reading. A missing timestamp is a failure, never
a pass: an asset never materialized is not fresh, no heartbeat is no daemon.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from spotify_agent_assets.maintenance.health_results import CheckResult, Severity, format_age

# Defaults: a daily pipeline is stale after a missed day plus slack, the weekly recommender
# after a missed week, a daily backup after a missed night; a daemon beats every 30 s or so.
DEFAULT_FRESHNESS_HOURS: Mapping[str, float] = {
    "stream_events": 26.0,
    "fct_streams_daily": 26.0,
    "artist_daily_metrics": 26.0,
    "spotify_artists": 26.0,
    "user_recommendations": 8 * 24.0,
}
DEFAULT_BACKUP_MAX_AGE_HOURS = 26.0
DEFAULT_HEARTBEAT_MAX_AGE_SECONDS = 300.0


class BackupRecord(Protocol):
    """What this check reads of a backup (`maintenance.backup.BackupInfo` has it)."""

    backup_id: str
    created_at: dt.datetime
    verified_at: dt.datetime | None


@dataclass(frozen=True)
class Heartbeat:
    """One daemon's last heartbeat as the instance stored it."""

    daemon_type: str
    timestamp: float
    errors: tuple[str, ...] = ()


def check_instance_storage(count_runs: Callable[[], int], storage: str) -> CheckResult:
    """Count the runs in the instance's run storage (a real query on SQLite or PostgreSQL)."""
    runs = count_runs()
    return CheckResult(
        name="instance_storage",
        ok=True,
        severity=Severity.ERROR,
        detail=f"{storage} answered a run count query",
        observed=f"{runs} run(s)",
        threshold="storage answers",
    )


def check_freshness(
    asset: str, last_materialized: float | None, max_age_hours: float, now: float
) -> CheckResult:
    """Seconds since ``asset`` was last materialized (an instance timestamp) against a max."""
    if max_age_hours <= 0:
        raise ValueError(f"max age of {asset} must be > 0 hours, got {max_age_hours}")
    threshold = f"<= {format_age(max_age_hours * 3600)}"
    name = f"freshness:{asset}"
    if last_materialized is None:
        return CheckResult(
            name,
            False,
            Severity.ERROR,
            f"{asset} was never materialized",
            "never",
            threshold,
            asset,
        )
    age = now - last_materialized
    ok = age <= max_age_hours * 3600
    stamp = dt.datetime.fromtimestamp(last_materialized, dt.UTC).isoformat(timespec="seconds")
    detail = f"last materialized at {stamp}" + ("" if ok else ", older than allowed")
    return CheckResult(name, ok, Severity.ERROR, detail, format_age(age), threshold, asset)


def check_backup_age(
    backups: Sequence[BackupRecord], max_age_hours: float, now: dt.datetime
) -> CheckResult:
    """Age of the newest backup a restore check has proved (``verified_at`` set); a backup never
    restored is not known to be good, so it does not count."""
    threshold = f"<= {format_age(max_age_hours * 3600)}"
    verified = [backup for backup in backups if backup.verified_at is not None]
    if not verified:
        detail = (
            "no backup exists"
            if not backups
            else f"{len(backups)} backup(s), none proved by a restore check yet"
        )
        return CheckResult("backup_age", False, Severity.ERROR, detail, "none", threshold)
    latest = max(verified, key=lambda backup: backup.created_at)
    age = (now - latest.created_at).total_seconds()
    ok = age <= max_age_hours * 3600
    verified_at = latest.verified_at
    assert verified_at is not None  # noqa: S101 -- type narrowing: filtered above
    detail = (
        f"latest good backup {latest.backup_id} taken "
        f"{latest.created_at.isoformat(timespec='seconds')}, restore-checked "
        f"{verified_at.isoformat(timespec='seconds')}" + ("" if ok else ", older than allowed")
    )
    return CheckResult("backup_age", ok, Severity.ERROR, detail, format_age(age), threshold)


def check_daemon_heartbeats(
    heartbeats: Mapping[str, Heartbeat],
    required: Sequence[str],
    max_age_seconds: float,
    now: float,
    *,
    severity: Severity = Severity.ERROR,
    absent_hint: str = "",
) -> CheckResult:
    """Every daemon the instance needs (scheduler, sensors, run queue...) beat within
    ``max_age_seconds`` and reported no errors with its last beat."""
    threshold = f"each of {len(required)} beat within {format_age(max_age_seconds)}"
    if not required:
        raise ValueError(
            "the instance requires no daemon (an ephemeral instance?); expected the daemon "
            "types of a persistent instance (scheduler, sensors, backfills...)"
        )
    if not heartbeats:
        detail = "no daemon heartbeat was ever recorded: schedules and sensors are not running"
        return CheckResult(
            "daemon_heartbeat", False, severity, detail + absent_hint, "none", threshold
        )
    problems: list[str] = []
    ages: list[float] = []
    for daemon_type in required:
        beat = heartbeats.get(daemon_type)
        if beat is None:
            problems.append(f"{daemon_type}: no heartbeat")
            continue
        age = now - beat.timestamp
        ages.append(age)
        if age > max_age_seconds:
            problems.append(f"{daemon_type}: last beat {format_age(age)} ago")
        if beat.errors:
            problems.append(f"{daemon_type}: {len(beat.errors)} error(s), first: {beat.errors[0]}")
    observed = f"oldest beat {format_age(max(ages))} ago" if ages else "none of the required"
    if problems:
        return CheckResult(
            "daemon_heartbeat", False, severity, "; ".join(problems), observed, threshold
        )
    return CheckResult(
        "daemon_heartbeat",
        True,
        severity,
        f"{', '.join(required)} beat recently without errors",
        observed,
        threshold,
    )
