"""``health_check_job``: every health check, performed for real, daily at 06:00 UTC.

One op runs the checks of `maintenance.health_checks` and `maintenance.health_timeliness` in
turn (each failure is recorded, none stops the others), then records them three ways: an
asset check evaluation per asset-related check (freshness, on the asset's own check history),
the results table as the op's output and metadata, and one Sentry alert per failed check. Only
then does it fail the run, naming every failed check.

Without a daemon (``make run``, the CLI) the heartbeat check fails: schedules and sensors do
not run then, and a health report that called that healthy would be lying. Locally it is a
WARN, since a laptop without a daemon is a normal setup: a failed WARN check is recorded,
logged as a warning and alerted like any other, but only failed ERROR checks fail the run.
"""

import time
from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg
from pydantic import Field

from spotify_agent_assets.defs.activation.alert_resources import AlertChannelsResource
from spotify_agent_assets.defs.audio.resources import AudioLandingResource
from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.defs.maintenance.health_records import (
    freshness_evaluation,
    results_table,
)
from spotify_agent_assets.defs.ml.resources import MlflowTrackingResource
from spotify_agent_assets.defs.spotify.resources import RosterResource, SpotifyResource
from spotify_agent_assets.defs.streams.resources import StreamLandingResource
from spotify_agent_assets.environment import AgentEnvironment, AgentSettings, load_settings
from spotify_agent_assets.maintenance import health_checks, health_timeliness
from spotify_agent_assets.maintenance.alerts import send_alerts
from spotify_agent_assets.maintenance.health_results import (
    CheckResult,
    Severity,
    failed_names,
    results_markdown,
    run_check,
)


class HealthCheckConfig(dg.Config):
    """Thresholds of the checks (run config overrides them per run)."""

    min_free_disk_gb: float = 5.0
    freshness_max_age_hours: dict[str, float] = Field(
        default_factory=lambda: dict(health_timeliness.DEFAULT_FRESHNESS_HOURS),
        description="Max hours since the last materialization, per asset (user string key).",
    )
    backup_max_age_hours: float = health_timeliness.DEFAULT_BACKUP_MAX_AGE_HOURS
    heartbeat_max_age_seconds: float = health_timeliness.DEFAULT_HEARTBEAT_MAX_AGE_SECONDS


def perform_health_checks(
    instance: dg.DagsterInstance,
    settings: AgentSettings,
    config: HealthCheckConfig,
    *,
    spotify: SpotifyResource,
    roster: RosterResource,
    lake: LakeResource,
    stream_landing: StreamLandingResource,
    audio_landing: AudioLandingResource,
    mlflow: MlflowTrackingResource,
    secrets: list[str],
) -> list[CheckResult]:
    """Every check, in order; each one's failure is a result, not an exception."""
    now = time.time()

    def check(name: str, body: Callable[[], CheckResult], **kwargs: Any) -> CheckResult:
        return run_check(name, body, secrets=secrets, **kwargs)

    results = [
        check(
            "spotify_api",
            lambda: health_checks.check_spotify(
                spotify.catalog_client,
                roster.load().artist_ids[0],
                sample_world=spotify.use_sample_world,
            ),
        ),
        check(
            "lake_writable",
            lambda: health_checks.check_zone_writable(
                "lake_writable", lake.lake_root, lake.s3_settings()
            ),
        ),
        check(
            "stream_landing_writable",
            lambda: health_checks.check_zone_writable(
                "stream_landing_writable",
                stream_landing.landing_root,
                lake.s3_settings(stream_landing.landing_root),
            ),
        ),
        check(
            "audio_landing_writable",
            lambda: health_checks.check_zone_writable(
                "audio_landing_writable",
                audio_landing.zone_root,
                lake.s3_settings(audio_landing.zone_root),
            ),
        ),
        check("warehouse", lambda: health_checks.check_warehouse(lake.warehouse())),
        check(
            "instance_storage",
            lambda: health_timeliness.check_instance_storage(
                instance.get_runs_count, type(instance.run_storage).__name__
            ),
        ),
        check("mlflow", lambda: health_checks.check_mlflow(mlflow.tracking_uri)),
        check(
            "free_disk",
            lambda: health_checks.check_free_disk(
                settings.data_dir, int(config.min_free_disk_gb * 2**30)
            ),
        ),
    ]
    for asset, max_age_hours in sorted(config.freshness_max_age_hours.items()):
        results.append(
            check(
                f"freshness:{asset}",
                lambda asset=asset, hours=max_age_hours: health_timeliness.check_freshness(
                    asset, last_materialized(instance, asset), hours, now
                ),
                asset=asset,
            )
        )
    results.append(check("backup_age", lambda: backup_age(settings, config, lake)))
    local = settings.env is AgentEnvironment.LOCAL
    results.append(
        check(
            "daemon_heartbeat",
            lambda: daemon_heartbeat(instance, config, now, local=local),
            severity=Severity.WARN if local else Severity.ERROR,
        )
    )
    return results


def last_materialized(instance: dg.DagsterInstance, asset: str) -> float | None:
    event = instance.get_latest_materialization_event(dg.AssetKey.from_user_string(asset))
    return None if event is None else event.timestamp


def backup_age(
    settings: AgentSettings, config: HealthCheckConfig, lake: LakeResource
) -> CheckResult:
    import datetime as dt

    from spotify_agent_assets.maintenance.backup import list_backups

    # No key: ids and times are readable without it, and a health check decrypts nothing.
    return health_timeliness.check_backup_age(
        list_backups(settings, s3=lake.s3_settings(settings.backup_destination)),
        config.backup_max_age_hours,
        dt.datetime.now(dt.UTC),
    )


def daemon_heartbeat(
    instance: dg.DagsterInstance, config: HealthCheckConfig, now: float, *, local: bool
) -> CheckResult:
    beats = {
        daemon_type: health_timeliness.Heartbeat(
            daemon_type,
            beat.timestamp,
            tuple((error.message or "").strip() for error in beat.errors or ()),
        )
        for daemon_type, beat in instance.get_daemon_heartbeats().items()
    }
    return health_timeliness.check_daemon_heartbeats(
        beats,
        list(instance.get_required_daemon_types()),
        config.heartbeat_max_age_seconds,
        now,
        severity=Severity.WARN if local else Severity.ERROR,
        absent_hint=(
            " (make run and the CLI start no daemon; `dagster dev` or `dagster-daemon run` does)"
            if local
            else ""
        ),
    )


@dg.op(
    # Nothing: the results travel as the output's metadata (a table the UI shows), not as a
    # value an IO manager would store in the lake.
    out=dg.Out(dg.Nothing),
    tags={"kind": "maintenance"},
)
def run_health_checks(
    context: dg.OpExecutionContext,
    config: HealthCheckConfig,
    spotify: SpotifyResource,
    roster: RosterResource,
    lake: LakeResource,
    stream_landing: StreamLandingResource,
    audio_landing: AudioLandingResource,
    mlflow: MlflowTrackingResource,
    alert_channels: AlertChannelsResource,
) -> Iterator[dg.Output]:
    """Perform every health check, record each result, alert on failures, then fail the run
    if any ERROR check failed (naming every failed check)."""
    secrets = [
        value
        for value in (
            spotify.client_secret,
            lake.s3_secret_access_key,
            stream_landing.pseudonym_key,
            *alert_channels.channel_settings().secrets(),
        )
        if value
    ]
    results = perform_health_checks(
        context.instance,
        load_settings(),
        config,
        spotify=spotify,
        roster=roster,
        lake=lake,
        stream_landing=stream_landing,
        audio_landing=audio_landing,
        mlflow=mlflow,
        secrets=secrets,
    )
    for result in results:
        if result.asset is not None:
            context.log_event(freshness_evaluation(result))
        log = context.log.info if result.ok else context.log.error
        log(f"{result.name}: {result.status}: {result.detail}")
    failed = failed_names(results)
    try:
        # The one Sentry DSN of the code location, on the alert channels' resource.
        outcome = send_alerts(
            alert_channels.sentry_dsn,
            results,
            secrets=secrets,
            environment=alert_channels.environment,
            run_id=context.run_id,
        )
        alerting = outcome.detail
    except Exception as error:  # the run still reports every check below
        alerting = f"alerting failed: {type(error).__name__}"
        context.log.error(alerting)
    markdown = results_markdown(results)
    yield dg.Output(
        None,
        metadata={
            "results": results_table(results),
            "report": dg.MetadataValue.md(markdown),
            "checks": len(results),
            "failed": len(failed),
            "failed_checks": ", ".join(failed) or "none",
            "alerting": alerting,
        },
    )
    errors = [r.name for r in results if not r.ok and r.severity is Severity.ERROR]
    warnings = [name for name in failed if name not in errors]
    if warnings:
        context.log.warning(f"{len(warnings)} WARN check(s) failed: {', '.join(warnings)}")
    if errors:
        also = f"; and WARN: {', '.join(warnings)}" if warnings else ""
        raise dg.Failure(
            description=(
                f"{len(errors)} health check(s) failed: {', '.join(errors)}{also}. Each "
                "check's cause is in this step's report metadata; fix those, then re-run "
                "health_check_job"
            ),
            metadata={"failed_checks": ", ".join(failed), "alerting": alerting},
        )


@dg.job(
    description=(
        "Check that every store and service answers (Spotify, lake and landing zones, warehouse, "
        "instance, MLflow, disk), that key assets and the last good backup are fresh and the "
        "daemon beats; alert on Sentry and fail naming the failed checks."
    ),
    tags={"maintenance": "health"},
)
def health_check_job() -> None:
    run_health_checks()


health_check_schedule = dg.ScheduleDefinition(
    name="health_check_schedule",
    job=health_check_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

JOBS = [health_check_job]
SCHEDULES = [health_check_schedule]
SENSORS: list = []
