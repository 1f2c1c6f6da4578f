"""How the analytics domain maps dbt resources onto Dagster: keys, group, automation, freshness.

One set of rules, read by both sides of the dbt integration: the asset specs built from the
manifest when the code location loads (`dbt_specs`, no dagster-dbt) and the dagster-dbt
translator that maps dbt's events back to assets inside a run (`dbt_translator`). Each function
takes a dbt resource's properties, as ``manifest.json`` holds them.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import dagster as dg

ANALYTICS_GROUP = "analytics"
DAILY_TAG = "daily"
DAILY_SELECTION = f"tag:{DAILY_TAG}"
# Measured back from the end of the newest partition (today): today and yesterday. Only a
# change outside the day's own data (the catalogue, the dimensions) is limited to these days.
RECENT_DAYS_LOOKBACK = timedelta(days=2)
# Daily-partitioned inputs that a daily model reads for its own day (declared in the model with
# ``-- depends_on: {{ source(...) }}``, so each model partition depends on that day's partition).
DAY_SOURCES = ("stream_events", "artist_snapshots")
# Day sources whose newest partition is older than the daily models' own: artist_snapshots ends
# with yesterday (a finished day), the models include today (stream_events does). Today's model
# partition reads no snapshot yet; without this mapping Dagster refuses any run or backfill
# that includes today ("depends on non-existent partitions").
SHORTER_DAY_SOURCES = ("artist_snapshots",)
# dbt's layer prefixes for models that restate their inputs (views and intermediate models):
# they are rebuilt whenever a source table is written, which says nothing about which day moved.
RESTATING_LAYER_PREFIXES = ("stg_", "int_")
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


def partition_mapping(props: ResourceProps, upstream_unique_id: str) -> dg.PartitionMapping | None:
    """How a daily model's day maps onto ``upstream_unique_id``'s days: the same day, allowed to be
    missing where the upstream's partitions end before the model's (``SHORTER_DAY_SOURCES``)."""
    name = upstream_unique_id.rsplit(".", 1)[-1]
    if not (is_daily_model(props) and name in SHORTER_DAY_SOURCES):
        return None
    with warnings.catch_warnings():
        # Beta in Dagster 1.13; it would warn on every load of the code location.
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)


def automation_condition(props: ResourceProps) -> dg.AutomationCondition | None:
    if props["resource_type"] == "source":
        return None
    if DAILY_TAG in props.get("tags", []):
        return _daily_model_condition(props)
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
    return condition


def _daily_model_condition(props: ResourceProps) -> dg.AutomationCondition:
    """eager(), with the day-by-day trigger below in place of "the latest partition only".

    A day whose own events (or artist snapshots) were written again is rebuilt, however old it
    is: a late file for last month reaches the marts, and only that day is rebuilt. Any other
    change (a catalogue sync, a dimension) rebuilds the newest days only: plays keep the artist
    their track had when played (the ``track_artist_history`` snapshot), so a sync moves no
    older play, and what it can add to older days (a new roster artist's zero rows) waits for a
    backfill launched on purpose rather than every sync rebuilding all history. The restating layers (staging views,
    ``int_`` models) are rebuilt after every ingestion and would otherwise pull the newest days
    along with every late day, so their updates count for neither rule. A day's partition
    appearing at midnight is no news either (eager() would build it at once, from no events):
    the day is built when its events land.
    """
    parents = [
        unique_id.rsplit(".", 1)[-1] for unique_id in props.get("depends_on", {}).get("nodes", [])
    ]
    sources = [name for name in parents if name in DAY_SOURCES]
    own_day = dg.AssetSelection.assets(*sources)
    restating = dg.AssetSelection.assets(
        *(name for name in parents if name.startswith(RESTATING_LAYER_PREFIXES))
    )
    updated = dg.AutomationCondition.any_deps_updated()
    own_day_updated = updated.allow(own_day).with_label("own day's data updated")
    recent_other_change = (
        dg.AutomationCondition.in_latest_time_window(lookback_delta=RECENT_DAYS_LOOKBACK)
        & updated.ignore(own_day | restating)
    ).with_label("recent day, catalogue updated")
    # since_last_handled keeps a trigger until the partition is requested or updated, so an
    # update seen while a dependency was missing or running is not forgotten.
    return (
        (own_day_updated | recent_other_change).since_last_handled()
        & ~dg.AutomationCondition.any_deps_missing().ignore(dg.AssetSelection.assets(*sources))
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("eager, day by day")
