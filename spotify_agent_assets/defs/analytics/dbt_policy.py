"""How the analytics domain maps dbt resources onto Dagster: keys, group, automation, freshness.

One set of rules, read by both sides of the dbt integration: the asset specs built from the
manifest when the code location loads (`dbt_specs`, no dagster-dbt) and the dagster-dbt
translator that maps dbt's events back to assets inside a run (`dbt_translator`). Each function
takes a dbt resource's properties, as ``manifest.json`` holds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import dagster as dg

ANALYTICS_GROUP = "analytics"
DAILY_TAG = "daily"
DAILY_SELECTION = f"tag:{DAILY_TAG}"
# Measured back from the end of the newest partition (today): today and yesterday.
LATE_EVENTS_LOOKBACK = timedelta(days=2)
# Ingestion runs hourly and the daily models follow it; allow for a slow ingestion and dbt run.
DAILY_MODEL_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=8), warn_window=timedelta(hours=3)
)

ResourceProps = Mapping[str, Any]


def is_daily_model(props: ResourceProps) -> bool:
    return props["resource_type"] == "model" and DAILY_TAG in props.get("tags", [])


def asset_key(props: ResourceProps) -> dg.AssetKey:
    """Models by their own name; a source table is the view ``<group>.<asset>``, so its name is
    the key of the asset that writes it (``stream_events``, ``spotify_tracks``, ...)."""
    return dg.AssetKey([props["name"]])


def group_name(props: ResourceProps) -> str | None:
    if props["resource_type"] == "source":
        return None
    # Staging views too: they are the analytics domain's own layer, not another team's.
    return ANALYTICS_GROUP


def freshness_policy(props: ResourceProps) -> dg.FreshnessPolicy | None:
    # The daily models are what analysts and alerts read; stale means broken automation.
    return DAILY_MODEL_FRESHNESS if is_daily_model(props) else None


def automation_condition(props: ResourceProps) -> dg.AutomationCondition | None:
    if props["resource_type"] == "source":
        return None
    condition = dg.AutomationCondition.eager()
    sources = [
        dg.AssetKey([unique_id.rsplit(".", 1)[-1]])
        for unique_id in props.get("depends_on", {}).get("nodes", [])
        if unique_id.startswith("source.")
    ]
    if sources:
        # stream_events and artist_snapshots are daily and always have partitions never
        # written (days before the data starts, gaps): eager's "no dependency missing"
        # would never hold for an unpartitioned view over them. A view needs only its
        # source table to exist, which the update that triggers it implies.
        condition = condition.replace(
            "any_deps_missing",
            dg.AutomationCondition.any_deps_missing().ignore(dg.AssetSelection.assets(*sources)),
        )
    if DAILY_TAG in props.get("tags", []):
        # Events of a day keep landing after midnight (hourly ingestion, late uploads):
        # rebuild yesterday with today, not only the newest partition.
        condition = condition.replace(
            dg.AutomationCondition.in_latest_time_window(),
            dg.AutomationCondition.in_latest_time_window(lookback_delta=LATE_EVENTS_LOOKBACK),
        )
        # A day's partition appearing at midnight is no news: eager() would build it at once,
        # from no events. The day is built when its events land (the staging views update).
        condition = condition.replace("newly_missing", dg.AutomationCondition.any_deps_updated())
    return condition
