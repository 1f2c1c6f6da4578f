"""The alerts follow their inputs by declarative automation: new snapshots, trends or incidents
raise alerts, new alerts are delivered, and nothing runs while nothing changed."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from spotify_agent_assets.defs.activation.alert_resources import AlertChannelsResource
from spotify_agent_assets.defs.activation.alerts import alert_deliveries, artist_alerts
from spotify_agent_assets.defs.lake.resources import LakeResource

# Like the snapshots' daily partitions, with fewer years before the data (a faster test).
DAYS = dg.DailyPartitionsDefinition(start_date="2026-01-01", end_offset=0)


def test_alerts_run_when_an_input_updates_and_only_then(tmp_path: Path) -> None:
    inputs = [
        dg.AssetSpec("artist_snapshots", partitions_def=DAYS),
        dg.AssetSpec("artist_trends"),
        dg.AssetSpec("streaming_anomalies"),
    ]
    lake = LakeResource(lake_root=str(tmp_path / "lake"), warehouse_path=str(tmp_path / "w.db"))
    defs = dg.Definitions(
        assets=[*inputs, artist_alerts, alert_deliveries],
        resources={"lake": lake, "alert_channels": AlertChannelsResource()},
    )

    def updated(key: str, partition: str | None = None) -> None:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=key, partition=partition)
        )

    with dg.instance_for_test() as instance:
        empty = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert empty.total_requested == 0  # nothing to judge yet
        # Only the last days exist (the days before the data starts never will).
        for day in ("2026-10-30", "2026-10-31"):
            updated("artist_snapshots", day)
        updated("artist_trends")
        updated("streaming_anomalies")
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=empty.cursor)
        # The alerts and, in the same run, their delivery.
        assert _requested(first) == {"artist_alerts", "alert_deliveries"}
        updated("artist_alerts")
        updated("alert_deliveries")
        quiet = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
        assert _requested(quiet) == set()  # inputs already judged: no work redone
        updated("artist_snapshots", "2026-11-01")
        again = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=quiet.cursor)
        assert _requested(again) == {"artist_alerts", "alert_deliveries"}


def _requested(result: dg.EvaluateAutomationConditionsResult) -> set[str]:
    return {
        name
        for name in ("artist_alerts", "alert_deliveries")
        if result.get_num_requested(dg.AssetKey(name))
    }
