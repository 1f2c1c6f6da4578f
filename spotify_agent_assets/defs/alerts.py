"""Where alerts go: Sentry, through the DSN in ``SENTRY_DSN``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

if TYPE_CHECKING:
    from spotify_agent_assets.maintenance.alerts import AlertOutcome
    from spotify_agent_assets.maintenance.health_results import CheckResult


class SentryAlertsResource(dg.ConfigurableResource):
    """Sends failed health checks to Sentry, one event per check.

    The DSN carries the project's key, so it is bound as ``dg.EnvVar("SENTRY_DSN")`` and never
    appears in run config or metadata; unset, alerting is off and the run says so.
    """

    dsn: str | None = Field(default=None, description="Sentry DSN; pass dg.EnvVar('SENTRY_DSN').")
    environment: str = Field(default="local", description="Sentry environment of the events.")

    @property
    def enabled(self) -> bool:
        return bool(self.dsn)

    def secret_values(self) -> list[str]:
        return [self.dsn] if self.dsn else []

    def send(
        self,
        results: Sequence[CheckResult],
        *,
        secrets: Sequence[str] = (),
        run_id: str | None = None,
    ) -> AlertOutcome:
        from spotify_agent_assets.maintenance.alerts import send_alerts

        return send_alerts(
            self.dsn,
            results,
            secrets=[*secrets, *self.secret_values()],
            environment=self.environment,
            run_id=run_id,
        )
