"""The alert outbox: one row per alert and channel, so nothing is sent twice or dropped.

An alert enters the outbox once, the run after it is raised: a ``pending`` row for every
configured channel and a ``channel_off`` row for the others (it was never meant to go there;
turning a channel on later does not flood it with old alerts). A run sends every pending row of
a configured channel (``alert_channels.deliver``, bounded retries) and records the outcome:
``delivered`` with its time, ``failed_permanently`` when the receiver refused it, or still
``pending`` with the attempts and the last error's class, for the next run.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from spotify_agent_assets.activation.alert_channels import (
    CHANNELS,
    ChannelSettings,
    DeliveryPolicy,
    DeliveryResult,
    HttpRequest,
    build_request,
    deliver,
)
from spotify_agent_assets.observability.audit_log import record_action

PENDING, DELIVERED, FAILED, OFF = "pending", "delivered", "failed_permanently", "channel_off"
STATUSES = (PENDING, DELIVERED, FAILED, OFF)


def queue_alerts(
    alerts: Sequence[Mapping[str, Any]],
    deliveries: Sequence[Mapping[str, Any]],
    enabled: Mapping[str, bool],
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """The stored delivery rows plus rows for every alert the outbox has not seen."""
    rows = [dict(row) for row in deliveries]
    queued = {row["alert_id"] for row in rows}
    for alert in sorted(alerts, key=lambda a: a["alert_id"]):
        if alert["alert_id"] in queued:
            continue
        for channel in CHANNELS:
            rows.append(
                {
                    "alert_id": alert["alert_id"],
                    "channel": channel,
                    "status": PENDING if enabled.get(channel) else OFF,
                    "attempts": 0,
                    "last_error_class": None,
                    "queued_at": now,
                    "delivered_at": None,
                }
            )
    return rows


def send_pending(
    rows: Sequence[Mapping[str, Any]],
    alerts: Sequence[Mapping[str, Any]],
    settings: ChannelSettings,
    policy: DeliveryPolicy,
    *,
    send: Callable[[HttpRequest, DeliveryPolicy], DeliveryResult] = deliver,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    checkpoint: Callable[[list[dict[str, Any]]], None] | None = None,
) -> tuple[list[dict[str, Any]], Counter[str]]:
    """Rows after one try at every pending delivery of a configured channel, and counts of
    what this run did (``sent``, ``still_pending``, ``failed_permanently``, ``channel_now_off``).

    ``checkpoint`` gets every row after each delivered one, so a run killed mid-way has
    stored what it sent and the next run does not send it again."""
    by_id = {alert["alert_id"]: alert for alert in alerts}
    enabled = settings.enabled()
    done: Counter[str] = Counter()
    updated = [dict(row) for row in sorted(rows, key=lambda r: (r["alert_id"], r["channel"]))]
    for row in updated:
        if row["status"] == PENDING:
            alert = by_id.get(row["alert_id"])
            if alert is None:
                raise ValueError(
                    f"alert_deliveries holds a pending delivery of alert {row['alert_id']!r}, "
                    "which activation.artist_alerts does not have"
                )
            if not enabled.get(row["channel"]):
                # Left pending (not dropped): it goes once the channel is configured again.
                done["channel_now_off"] += 1
            else:
                result = send(build_request(row["channel"], alert, settings), policy)
                row["attempts"] += result.attempts
                row["status"] = result.status
                row["last_error_class"] = result.error_class
                record_action(
                    "alert_delivery",
                    f"alert {row['alert_id']} to {row['channel']}: {result.status} after "
                    f"{result.attempts} attempt(s)",
                    alert_id=row["alert_id"],
                    channel=row["channel"],
                    status=result.status,
                    attempts=result.attempts,
                    error_class=result.error_class,
                )
                if result.status == DELIVERED:
                    row["delivered_at"] = clock()
                    done["sent"] += 1
                    if checkpoint is not None:
                        checkpoint(updated)
                elif result.status == FAILED:
                    done["failed_permanently"] += 1
                else:
                    done["still_pending"] += 1
    return updated, done
