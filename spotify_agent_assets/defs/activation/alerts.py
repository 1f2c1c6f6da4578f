"""Artist monitoring: ``artist_alerts`` (rules over the snapshots, trends and anomalies) and
``alert_deliveries`` (the outbox that sends them to Sentry, PagerDuty and Slack).

Both follow their inputs by declarative automation (the code location's automation sensor):
new snapshots, trends or incidents raise alerts, new alerts are delivered. What a run could not
deliver stays pending; ``alert_delivery_sensor`` runs the delivery again while any is pending
on a configured channel.
"""

import datetime as dt
import hashlib
from typing import Any

import dagster as dg
import pyarrow as pa

from spotify_agent_assets.activation.alert_tables import (
    ACTIVATION_GROUP,
    ALERT_DELIVERIES,
    ARTIST_ALERTS,
)
from spotify_agent_assets.defs.activation.alert_resources import AlertChannelsResource
from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.defs.table_checks import build_table_checks
from spotify_agent_assets.defs.table_metadata import contract_metadata, markdown_table

ARTIST_SNAPSHOTS = dg.AssetKey(["artist_snapshots"])
ARTIST_TRENDS = dg.AssetKey(["artist_trends"])
STREAMING_ANOMALIES = dg.AssetKey(["streaming_anomalies"])
ALERT_KINDS = {"python", "parquet"}
NOTHING_UNDELIVERED = "nothing_undelivered"

# eager(), except that the daily snapshots' missing days (every day before the data starts)
# do not hold the alerts back: the rules read the days that exist.
ALERTS_AUTOMATION = (
    dg.AutomationCondition.eager()
    .replace(
        "any_deps_missing",
        dg.AutomationCondition.any_deps_missing().ignore(
            dg.AssetSelection.assets(ARTIST_SNAPSHOTS)
        ),
    )
    .with_label("eager (snapshot gaps allowed)")
)


def _rows(lake: LakeResource, group: str, asset: str, since: dt.date | None = None) -> list[Any]:
    """A stored input's rows (from ``since`` on, for a daily-partitioned one); a clear failure
    naming it when it was never materialized."""
    parquet_lake = lake.lake()
    if not parquet_lake.exists(group, asset):
        raise dg.Failure(
            f"{group}.{asset} is not stored: materialize it before artist_alerts",
            allow_retries=False,
        )
    if since is None:
        return parquet_lake.read(group, asset).to_pylist()
    keys = [k for k in parquet_lake.partitions(group, asset) if k >= since.isoformat()]
    return parquet_lake.read(group, asset, partition_keys=keys).to_pylist() if keys else []


@dg.asset(
    group_name=ACTIVATION_GROUP,
    kinds=ALERT_KINDS,
    deps=[ARTIST_SNAPSHOTS, ARTIST_TRENDS, STREAMING_ANOMALIES],
    automation_condition=ALERTS_AUTOMATION,
    metadata=contract_metadata(ARTIST_ALERTS),
)
def artist_alerts(
    context: dg.AssetExecutionContext, lake: LakeResource, alert_channels: AlertChannelsResource
) -> dg.Output:
    """Every artist alert ever raised, one row per cause: a follower drop or a popularity
    jump in ``spotify_history.artist_snapshots``, a breakout of ``analytics.artist_trends``,
    an artist incident of ``analytics.streaming_anomalies``; thresholds from the alert rules
    YAML. Signals of one artist within ``merge_days`` are one cause under the most specific
    rule; a cause alerted before raises nothing (the stored rows are kept as they were)."""
    from spotify_agent_assets.activation.alert_config import AlertRulesError
    from spotify_agent_assets.activation.alert_rules import detect_signals, new_alerts
    from spotify_agent_assets.lake.table_contract import to_arrow

    try:
        rules = alert_channels.rules()
    except AlertRulesError as error:
        raise dg.Failure(str(error), allow_retries=False) from None
    parquet_lake = lake.lake()
    partitions = (
        parquet_lake.partitions("spotify_history", "artist_snapshots")
        if parquet_lake.exists("spotify_history", "artist_snapshots")
        else []
    )
    last = dt.date.fromisoformat(max(partitions)) if partitions else dt.date.min
    # The days a rule can still alert on, and the popularity window before the first of them.
    since = last - dt.timedelta(days=rules.max_age_days + rules.popularity_window_days + 1)
    snapshots = _rows(lake, "spotify_history", "artist_snapshots", since)
    trends = [r for r in _rows(lake, "analytics", "artist_trends") if r["date"] >= since]
    anomalies = _rows(lake, "analytics", "streaming_anomalies")
    days = [r["date"] for r in (*snapshots, *trends)]
    if not days:
        raise dg.Failure(
            "spotify_history.artist_snapshots and analytics.artist_trends hold no day to judge: "
            "materialize an artist_snapshots partition (today or yesterday) or artist_trends, "
            "then artist_alerts again",
            allow_retries=False,
        )
    as_of = max(days)
    stored = lake.previous_rows(ACTIVATION_GROUP, ARTIST_ALERTS.name)
    signals = detect_signals(snapshots, trends, anomalies, rules)
    raised, counts = new_alerts(
        signals, stored, rules, as_of=as_of, raised_at=dt.datetime.now(dt.UTC)
    )
    table = to_arrow(ARTIST_ALERTS, sorted([*stored, *raised], key=lambda r: r["alert_id"]))
    for alert in raised:
        context.log.info(f"alert {alert['alert_id']}: {alert['summary']}")
    columns = ["alert_id", "artist_name", "cause_day", "summary"]
    return dg.Output(
        table,
        metadata={
            "as_of": dg.MetadataValue.text(as_of.isoformat()),
            "signals": dg.MetadataValue.int(len(signals)),
            "causes": dg.MetadataValue.int(counts["causes"]),
            "raised": dg.MetadataValue.int(len(raised)),
            "already_alerted": dg.MetadataValue.int(counts["already_alerted"]),
            "too_old": dg.MetadataValue.int(counts["too_old"]),
            "raised_alerts": dg.MetadataValue.md(
                markdown_table(columns, [[a[c] for c in columns] for a in raised], "_no new alert_")
            ),
        },
    )


@dg.asset(
    group_name=ACTIVATION_GROUP,
    kinds=ALERT_KINDS,
    automation_condition=dg.AutomationCondition.eager(),
    # For the lake (object storage) only: deliveries retry within the step and are stored as
    # they succeed, so a retried step sends nothing twice; bad configuration is not retried.
    retry_policy=dg.RetryPolicy(
        max_retries=3, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
    ),
    metadata=contract_metadata(ALERT_DELIVERIES),
    check_specs=[
        dg.AssetCheckSpec(
            NOTHING_UNDELIVERED,
            asset="alert_deliveries",
            description="No delivery is pending or refused on a configured channel.",
        )
    ],
)
def alert_deliveries(
    context: dg.AssetExecutionContext,
    lake: LakeResource,
    alert_channels: AlertChannelsResource,
    artist_alerts: pa.Table,
):
    """The alert outbox: one row per alert and channel (Sentry, PagerDuty Events API v2, a
    Slack-compatible webhook) with its status, attempts and last error class. Every pending
    delivery of a configured channel is sent (bounded retries with backoff; 429 Retry-After
    respected); what still fails stays pending for the next run, so nothing is sent twice or
    dropped. A channel without configuration is off: its rows say ``channel_off``."""
    from collections import Counter

    from spotify_agent_assets.activation.alert_outbox import (
        DELIVERED,
        FAILED,
        PENDING,
        queue_alerts,
        send_pending,
    )
    from spotify_agent_assets.lake.table_contract import to_arrow

    try:
        settings = alert_channels.channel_settings()
        settings.validate()
    except ValueError as error:
        raise dg.Failure(str(error), allow_retries=False) from None
    alerts = artist_alerts.to_pylist()
    stored = lake.previous_rows(ACTIVATION_GROUP, ALERT_DELIVERIES.name)
    rows = queue_alerts(alerts, stored, settings.enabled(), dt.datetime.now(dt.UTC))
    parquet_lake = lake.lake()

    def checkpoint(current: list[dict[str, Any]]) -> None:
        # What was sent is stored at once (an atomic write), not only when the step ends.
        parquet_lake.write(
            to_arrow(ALERT_DELIVERIES, current), ACTIVATION_GROUP, "alert_deliveries"
        )

    rows, done = send_pending(
        rows, alerts, settings, alert_channels.policy(), checkpoint=checkpoint
    )
    table = to_arrow(ALERT_DELIVERIES, rows)
    status = Counter((row["channel"], row["status"]) for row in rows)
    enabled = settings.enabled()
    undelivered = sum(
        n for (channel, s), n in status.items() if s in (PENDING, FAILED) and enabled[channel]
    )
    context.log.info(
        f"{done['sent']} sent, {done['still_pending']} still pending, "
        f"{done['failed_permanently']} refused; channels: "
        + ", ".join(f"{c} {'on' if on else 'off'}" for c, on in enabled.items())
    )
    yield dg.Output(
        table,
        metadata={
            "channels": dg.MetadataValue.json(
                {c: "on" if on else settings.off_reasons()[c] for c, on in enabled.items()}
            ),
            "sent": dg.MetadataValue.int(done["sent"]),
            "still_pending": dg.MetadataValue.int(done["still_pending"]),
            "failed_permanently": dg.MetadataValue.int(done["failed_permanently"]),
            "pending_on_channels_off": dg.MetadataValue.int(done["channel_now_off"]),
            "by_channel_and_status": dg.MetadataValue.json(
                {f"{c}/{s}": n for (c, s), n in sorted(status.items())}
            ),
            "delivered_total": dg.MetadataValue.int(
                sum(n for (_c, s), n in status.items() if s == DELIVERED)
            ),
        },
    )
    yield dg.AssetCheckResult(
        check_name=NOTHING_UNDELIVERED,
        passed=undelivered == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"undelivered": undelivered},
        description=None
        if undelivered == 0
        else f"{undelivered} deliveries pending or refused on configured channels",
    )


alert_delivery_job = dg.define_asset_job(
    "alert_delivery_job",
    selection=dg.AssetSelection.assets(alert_deliveries),
    description="Send pending artist alerts again (the outbox keeps what was delivered).",
)


@dg.sensor(
    job=alert_delivery_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def alert_delivery_sensor(
    context: dg.SensorEvaluationContext, lake: LakeResource, alert_channels: AlertChannelsResource
):
    """Runs ``alert_delivery_job`` while a delivery is pending on a configured channel; one
    request per pending set and quarter hour, so a receiver that stays down is retried
    every 15 minutes, not on every tick."""
    from spotify_agent_assets.activation.alert_outbox import PENDING

    enabled = alert_channels.channel_settings().enabled()
    pending = sorted(
        f"{row['alert_id']}|{row['channel']}"
        for row in lake.previous_rows(ACTIVATION_GROUP, ALERT_DELIVERIES.name)
        if row["status"] == PENDING and enabled.get(row["channel"])
    )
    if not pending:
        return dg.SkipReason("no delivery is pending on a configured channel")
    digest = hashlib.sha256("\n".join(pending).encode()).hexdigest()[:16]
    quarter = int(dt.datetime.now(dt.UTC).timestamp() // 900)
    return dg.RunRequest(run_key=f"pending-{digest}-{quarter}", tags={"pending": str(len(pending))})


ASSETS: list = [artist_alerts, alert_deliveries]
CHECKS: list = [
    build_table_checks(ACTIVATION_GROUP, contract) for contract in (ARTIST_ALERTS, ALERT_DELIVERIES)
]
JOBS: list = [alert_delivery_job]
SCHEDULES: list = []
SENSORS: list = [alert_delivery_sensor]
