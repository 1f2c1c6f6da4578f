"""``run_failure_alert_sensor``: every failed run of the code location alerts Sentry, PagerDuty
and Slack (those configured on ``alert_channels``), one alert per failing step; and
``failed_tick_alert_sensor``: so does every failed tick of its sensors and schedules (errors
there never reach an SDK: Dagster keeps them as failed ticks, read here from the instance).

It watches every job of this code location, the maintenance op jobs included, so a crash of
the health check op (which sends its own per-check alerts only when it gets that far) still
alerts. A delivery not accepted after the sender's retries fails the sensor's tick with the
run, channel and error class: the UI's tick history and the daemon log show it. Dagster has
moved the sensor's cursor past the run by then, so that alert is not retried by a later tick;
the failed tick is the record to act on.
"""

import os

import dagster as dg
from dagster._utils.error import SerializableErrorInfo

from spotify_agent_assets.defs.activation.alert_resources import AlertChannelsResource
from spotify_agent_assets.observability.run_failure_alerts import (
    FailedStep,
    RunFailure,
    raise_if_undelivered,
    send_failure_alerts,
)
from spotify_agent_assets.observability.sentry_setup import secret_values

# Dagster wraps the user's error in these; the alert names the user's own error class.
_WRAPPERS = frozenset(
    {
        "DagsterExecutionStepExecutionError",
        "DagsterUserCodeExecutionError",
        "DagsterExecutionInterruptedError",
        "RetryRequestedFromPolicy",
        "DagsterUserCodeProcessError",
        "SensorExecutionError",
        "ScheduleExecutionError",
        "RunStatusSensorExecutionError",
    }
)


def _user_error(error: SerializableErrorInfo | None) -> tuple[str, str]:
    """``(class, message)`` of the innermost error Dagster wrapped, or of ``error`` itself."""
    if error is None:
        return "UnknownError", "no error recorded"
    while error.cls_name in _WRAPPERS and error.cause is not None:
        error = error.cause
    error_class = error.cls_name or "UnknownError"
    # The message is Python's one-line rendering, "Class: text"; the class travels apart.
    return error_class, error.message.removeprefix(f"{error_class}: ")


def run_failure_from_context(context: dg.RunFailureSensorContext) -> RunFailure:
    """The failed run as the plain module's record: job, run id, failing steps and errors."""
    steps = []
    for event in context.get_step_failure_events():
        data = event.step_failure_data
        error_class, message = _user_error(data.error if data is not None else None)
        steps.append(FailedStep(str(event.step_key), error_class, message))
    run = context.dagster_run
    return RunFailure(
        run_id=run.run_id,
        job_name=run.job_name,
        message=context.failure_event.message or "run failed",
        steps=tuple(steps),
        partition=run.tags.get("dagster/partition"),
    )


@dg.run_failure_sensor(
    name="run_failure_alert_sensor",
    description=(
        "Alerts every failed run of this code location on the configured channels (Sentry, "
        "PagerDuty, Slack): one alert per failing step, fingerprinted by job and step."
    ),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def run_failure_alert_sensor(
    context: dg.RunFailureSensorContext, alert_channels: AlertChannelsResource
) -> None:
    settings = alert_channels.channel_settings()
    failure = run_failure_from_context(context)
    if not any(settings.enabled().values()):
        context.log.warning(
            f"run {failure.run_id} of {failure.job_name} failed; no alert channel is "
            f"configured ({', '.join(settings.off_reasons().values())})"
        )
        return
    outcomes = send_failure_alerts(
        failure, settings, alert_channels.policy(), secrets=secret_values(os.environ)
    )
    for outcome in outcomes:
        context.log.info(
            f"run {failure.run_id}: {outcome.channel} alert for {outcome.step_key}: "
            f"{outcome.result.status} after {outcome.result.attempts} attempt(s)"
        )
    raise_if_undelivered(failure, outcomes)


# A reporter started for the first time alerts the failures of the last hour, not all history.
FIRST_LOOKBACK_S = 3600.0
TICK_STEP = "(tick)"


def failed_ticks(
    context: dg.SensorEvaluationContext, since: float, own_name: str
) -> list[tuple[float, RunFailure]]:
    """``(timestamp, failure)`` of every failed tick after ``since`` of this code location's
    sensors and schedules (but ``own_name``'s), oldest first."""
    from dagster._core.scheduler.instigation import InstigatorType, TickStatus

    repository = context.repository_def
    if repository is None:
        raise ValueError(
            "failed_tick_alert_sensor needs its repository (evaluated in a code location)"
        )
    names = {d.name for d in repository.sensor_defs} | {d.name for d in repository.schedule_defs}
    location = context.code_location_origin.location_name if context.code_location_origin else None
    found = []
    for state in context.instance.all_instigator_state():
        selector = state.repository_selector
        if (
            state.name not in names
            or state.name == own_name
            or selector.repository_name != repository.name
            or (location is not None and selector.location_name != location)
        ):
            continue
        kind = "schedule" if state.instigator_type == InstigatorType.SCHEDULE else "sensor"
        for tick in context.instance.get_ticks(
            state.instigator_origin_id,
            state.selector_id,
            after=since,
            statuses=[TickStatus.FAILURE],
        ):
            error_class, message = _user_error(tick.error)
            step = FailedStep(TICK_STEP, error_class, message)
            failure = RunFailure(str(tick.tick_id), state.name, message, (step,), kind=kind)
            found.append((tick.timestamp, failure))
    return sorted(found, key=lambda item: item[0])


@dg.sensor(
    name="failed_tick_alert_sensor",
    description=(
        "Alerts every failed tick of this code location's sensors and schedules on the "
        "configured channels (Sentry, PagerDuty, Slack), one issue per sensor or schedule."
    ),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
)
def failed_tick_alert_sensor(
    context: dg.SensorEvaluationContext, alert_channels: AlertChannelsResource
) -> dg.SkipReason:
    """Errors in sensors and schedules are kept by Dagster as failed ticks, never raised where
    an SDK could see them; this reads them from the instance. The cursor (the newest alerted
    tick's time) moves only once every alert of the evaluation was delivered: a delivery that
    fails fails this tick, and the next one sends them again."""
    import time

    since = float(context.cursor) if context.cursor else time.time() - FIRST_LOOKBACK_S
    ticks = failed_ticks(context, since, failed_tick_alert_sensor.name)
    settings = alert_channels.channel_settings()
    if ticks and any(settings.enabled().values()):
        policy, secrets = alert_channels.policy(), secret_values(os.environ)
        for _, failure in ticks:
            outcomes = send_failure_alerts(failure, settings, policy, secrets=secrets)
            raise_if_undelivered(failure, outcomes)
    elif ticks:
        context.log.warning(
            f"{len(ticks)} failed tick(s), no alert channel is configured "
            f"({', '.join(settings.off_reasons().values())})"
        )
    context.update_cursor(str(max([since, *(timestamp for timestamp, _ in ticks)])))
    return dg.SkipReason(f"{len(ticks)} failed tick(s) alerted since {since:.0f}")


RUN_FAILURE_SENSORS = [run_failure_alert_sensor, failed_tick_alert_sensor]
