"""Column contracts of the artist alert tables (``<lake>/activation/<table>/``)."""

from __future__ import annotations

from spotify_agent_assets.lake.table_contract import Column, TableContract

S, INT, F, D, TS, LS = "string", "int64", "float64", "date", "timestamp", "list<string>"

ACTIVATION_GROUP = "activation"

ARTIST_ALERTS = TableContract(
    name="artist_alerts",
    key=("alert_id",),
    columns=(
        Column(
            "alert_id",
            S,
            "<rule>:<artist_id>:<cause day>: stable, so a cause is alerted once (the PagerDuty "
            "dedup_key and the Sentry fingerprint)",
            nullable=False,
        ),
        Column(
            "rule",
            S,
            "breakout, follower_drop, popularity_jump or streaming_anomaly: the most specific "
            "of the cause's signals",
            nullable=False,
        ),
        Column("severity", S, "info, warning or error (by rule)", nullable=False),
        Column("artist_id", S, "Spotify artist id", nullable=False),
        Column("artist_name", S, "Artist name as the inputs had it", nullable=False),
        Column("cause_day", D, "Day the rule's signal fired", nullable=False),
        Column("metric", S, "What the rule measured (followers, popularity, ...)", nullable=False),
        Column("value", F, "The metric on cause_day", nullable=False),
        Column(
            "baseline",
            F,
            "What it was compared with (previous followers, popularity within the window, "
            "expected streams; 0 for a breakout's z-score)",
            nullable=False,
        ),
        Column("threshold", F, "The rule's threshold from the alert rules file", nullable=False),
        Column("summary", S, "One line for people, numbers included", nullable=False),
        Column(
            "signals",
            LS,
            "Every signal of the cause as rule@day (a breakout also jumps in popularity)",
            nullable=False,
        ),
        Column("evidence", S, "JSON: each signal's summary and numbers", nullable=False),
        Column("as_of", D, "Last day of the inputs when the alert was raised", nullable=False),
        Column("raised_at", TS, "When the run that raised it ran (UTC)", nullable=False),
    ),
)

ALERT_DELIVERIES = TableContract(
    name="alert_deliveries",
    key=("alert_id", "channel"),
    columns=(
        Column("alert_id", S, "The alert (activation.artist_alerts)", nullable=False),
        Column("channel", S, "sentry, pagerduty or slack", nullable=False),
        Column(
            "status",
            S,
            "pending (not delivered yet: the next run tries again), delivered, or "
            "failed_permanently (the receiver refused it, e.g. HTTP 400)",
            nullable=False,
        ),
        Column("attempts", INT, "HTTP attempts made over all runs", nullable=False),
        Column(
            "last_error_class",
            S,
            "Class of the last failure (HttpStatus503, ConnectionError, ...); never its text, "
            "which may carry the webhook URL",
        ),
        Column("queued_at", TS, "When the delivery was queued (UTC)", nullable=False),
        Column("delivered_at", TS, "When the receiver accepted it (UTC)"),
    ),
)
