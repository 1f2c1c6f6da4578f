"""The artist alert channels as a resource: rules file, channel secrets, delivery retries."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from spotify_agent_assets.environment import DEFAULT_ALERT_RULES

if TYPE_CHECKING:
    from spotify_agent_assets.activation.alert_channels import ChannelSettings, DeliveryPolicy
    from spotify_agent_assets.activation.alert_config import AlertRules

_PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"


class AlertChannelsResource(dg.ConfigurableResource):
    """Where artist alerts go. Each secret is bound as ``dg.EnvVar`` (``SENTRY_DSN``,
    ``PAGERDUTY_ROUTING_KEY``, ``SLACK_WEBHOOK_URL``: a webhook URL is its own credential);
    a channel left unset is off, and the delivery metadata says so."""

    rules_path: str = Field(
        default=str(DEFAULT_ALERT_RULES), description="YAML thresholds (SPOTIFY_AGENT_ALERT_RULES)."
    )
    sentry_dsn: str | None = Field(default=None, description="dg.EnvVar('SENTRY_DSN').")
    pagerduty_routing_key: str | None = Field(
        default=None, description="dg.EnvVar('PAGERDUTY_ROUTING_KEY'): the Events API v2 key."
    )
    pagerduty_events_url: str = Field(
        default=_PAGERDUTY_EVENTS_URL, description="Events API v2 enqueue URL."
    )
    slack_webhook_url: str | None = Field(
        default=None, description="dg.EnvVar('SLACK_WEBHOOK_URL'): a Slack-compatible webhook."
    )
    environment: str = Field(default="local", description="Sentry environment of the events.")
    max_attempts: int = Field(default=3, description="HTTP attempts per delivery and run.")
    base_delay_s: float = Field(default=1.0, description="First backoff sleep (doubles).")
    max_retry_after_s: float = Field(
        default=60.0, description="A longer Retry-After leaves the delivery for the next run."
    )
    timeout_s: float = Field(default=10.0, description="Per-request timeout.")

    def rules(self) -> AlertRules:
        from spotify_agent_assets.activation.alert_config import load_alert_rules

        return load_alert_rules(self.rules_path)

    def channel_settings(self) -> ChannelSettings:
        from spotify_agent_assets.activation.alert_channels import ChannelSettings

        return ChannelSettings(
            sentry_dsn=self.sentry_dsn or None,
            pagerduty_routing_key=self.pagerduty_routing_key or None,
            pagerduty_events_url=self.pagerduty_events_url,
            slack_webhook_url=self.slack_webhook_url or None,
            environment=self.environment,
        )

    def policy(self) -> DeliveryPolicy:
        from spotify_agent_assets.activation.alert_channels import DeliveryPolicy

        return DeliveryPolicy(
            max_attempts=self.max_attempts,
            base_delay_s=self.base_delay_s,
            max_retry_after_s=self.max_retry_after_s,
            timeout_s=self.timeout_s,
        )
