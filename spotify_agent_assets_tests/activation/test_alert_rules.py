"""The alert rules without Dagster: thresholds, causes, once per cause across daily runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from spotify_agent_assets.activation.alert_config import (
    AlertRules,
    AlertRulesError,
    load_alert_rules,
    parse_alert_rules,
)
from spotify_agent_assets.activation.alert_rules import detect_signals, follower_drops, new_alerts
from spotify_agent_assets.lake.parquet_lake import ParquetLake
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.activation.alert_inputs import days, planted, write_inputs

RULES_FILE = Path(__file__).resolve().parents[2] / "config" / "alerts.yaml"
NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def _raw() -> dict:
    return yaml.safe_load(RULES_FILE.read_text())


def test_the_shipped_rules_load() -> None:
    rules = load_alert_rules(RULES_FILE)
    assert rules.follower_drop_min_pct == 5.0 and rules.anomaly_levels == ("artist",)
    # Spikes are opt-in; the code's defaults are the shipped file's.
    assert rules.anomaly_kinds == ("drop", "level_shift") == AlertRules().anomaly_kinds


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"follower_drop": {"min_drop_pct": -1, "min_followers_lost": 100}}, "min_drop_pct"),
        ({"follower_drop": {"min_drop_pct": 120, "min_followers_lost": 100}}, "min_drop_pct"),
        ({"popularity_jump": {"min_points": 2.5, "window_days": 7}}, "popularity_jump.min_points"),
        ({"breakout": {"enabled": "yes"}}, "breakout.enabled"),
        (
            {"streaming_anomaly": {"levels": ["artist"], "kinds": ["dip"], "max_q_value": 0.01}},
            "streaming_anomaly.kinds",
        ),
        ({"merge_days": None}, "merge_days"),
        ({"silence": 3}, "silence"),
    ],
)
def test_a_bad_field_is_named(change: dict, field: str) -> None:
    raw = {**_raw(), **change}
    with pytest.raises(AlertRulesError, match=field):
        parse_alert_rules(raw)


def test_a_missing_section_and_file_are_named(tmp_path: Path) -> None:
    raw = _raw()
    del raw["popularity_jump"]
    with pytest.raises(AlertRulesError, match="popularity_jump is missing"):
        parse_alert_rules(raw)
    with pytest.raises(AlertRulesError, match="SPOTIFY_AGENT_ALERT_RULES"):
        load_alert_rules(tmp_path / "nope.yaml")


def _snapshots(followers: list[int]) -> list[dict]:
    start = dt.date(2026, 10, 1)
    return [
        {
            "date": start + dt.timedelta(days=i),
            "artist_id": "a1",
            "name": "A",
            "followers": f,
            "popularity": 50,
        }
        for i, f in enumerate(followers)
    ]


def test_follower_drop_threshold_is_the_configured_share_and_count() -> None:
    rules = AlertRules()
    assert not follower_drops(_snapshots([100_000, 95_100]), rules)  # 4.9%
    (signal,) = follower_drops(_snapshots([100_000, 95_000]), rules)  # 5.0%
    assert signal.day == dt.date(2026, 10, 2) and signal.evidence["followers_lost"] == 5000
    assert not follower_drops(_snapshots([1_000, 910]), rules)  # 9% but only 90 followers


def test_daily_runs_alert_each_planted_event_once(tmp_path: Path, world: SampleWorld) -> None:
    """As the sensor would: one run a day, each on the inputs stored so far, alerts kept."""
    rules = load_alert_rules(RULES_FILE)
    stored: list[dict] = []
    for day in days():
        root = tmp_path / day.isoformat()
        write_inputs(root, world, until=day)
        lake = ParquetLake(str(root))
        signals = detect_signals(
            lake.read("spotify_history", "artist_snapshots").to_pylist(),
            lake.read("analytics", "artist_trends").to_pylist(),
            lake.read("analytics", "streaming_anomalies").to_pylist(),
            rules,
        )
        raised, _counts = new_alerts(signals, stored, rules, as_of=day, raised_at=NOW)
        stored += raised
    events = planted(world)
    by_artist = {a["artist_id"]: a for a in stored}
    # The planted streaming spike is an incident but not alerted: spike is opt-in.
    assert len(stored) == len(by_artist) == 2
    # Seen day by day, the breakout shows first as its popularity jump, before artist_trends
    # confirms it on its second day; the confirmation joins that alert instead of a new one.
    breakout_id, breakout_day = events["breakout"]
    assert by_artist[breakout_id]["alert_id"] == f"popularity_jump:{breakout_id}:{breakout_day}"
    drop_id, drop_day = events["follower_drop"]
    assert by_artist[drop_id]["alert_id"] == f"follower_drop:{drop_id}:{drop_day}"
