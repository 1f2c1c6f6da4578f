"""A code location for the failed-tick test: a sensor whose every tick fails (its error quotes a
secret and a listener id), the tick reporter, and alert channels from the environment."""

import os

import dagster as dg

from spotify_agent_assets.defs.activation.alert_resources import AlertChannelsResource
from spotify_agent_assets.defs.observability.run_failure_sensor import failed_tick_alert_sensor


@dg.sensor(name="broken_landing_sensor", default_status=dg.DefaultSensorStatus.RUNNING)
def broken_landing_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    key = os.environ["AWS_SECRET_ACCESS_KEY"]
    raise OSError(f'cannot list the zone with key {key}: listener_id="raw-listener-77"')


defs = dg.Definitions(
    sensors=[broken_landing_sensor, failed_tick_alert_sensor],
    resources={
        "alert_channels": AlertChannelsResource(
            sentry_dsn=dg.EnvVar("SENTRY_DSN"),
            pagerduty_routing_key=dg.EnvVar("PAGERDUTY_ROUTING_KEY"),
            pagerduty_events_url=dg.EnvVar("PAGERDUTY_EVENTS_URL"),
            slack_webhook_url=dg.EnvVar("SLACK_WEBHOOK_URL"),
            base_delay_s=0.0,
        )
    },
)
