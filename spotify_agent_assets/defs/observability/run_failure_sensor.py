"""``run_failure_alert_sensor``: every failed run of the code location alerts Sentry, PagerDuty
and Slack (those configured on ``alert_channels``), one alert per failing step.

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


RUN_FAILURE_SENSORS = [run_failure_alert_sensor]
