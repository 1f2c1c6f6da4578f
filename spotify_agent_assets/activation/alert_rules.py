"""Artist monitoring rules: signals from the stored tables, alerts once per cause (thresholds:
``alert_config``).

Pure (no Dagster): rows in, rows out. A *signal* is one rule firing for one artist on one day;
signals of an artist no more than ``merge_days`` apart are one *cause* (a breakout also jumps
in popularity and shifts the streams' level), alerted once under the most specific rule. An
alert's id is ``<rule>:<artist_id>:<cause day>``, stable across re-runs; a cause already
alerted (any stored alert of the artist within ``merge_days`` of one of its signals) raises
nothing again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from spotify_agent_assets.activation.alert_config import RULES, SEVERITY, AlertRules


@dataclass(frozen=True)
class Signal:
    """One rule firing for one artist on one day, with the numbers behind it."""

    rule: str
    artist_id: str
    artist_name: str
    day: dt.date
    metric: str
    value: float
    baseline: float
    threshold: float
    summary: str
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.rule}@{self.day.isoformat()}"


def follower_drops(snapshots: Iterable[Mapping[str, Any]], rules: AlertRules) -> list[Signal]:
    """A day whose followers fell by ``min_drop_pct`` % and ``min_followers_lost`` from the
    artist's previous snapshot."""
    signals = []
    for artist_id, rows in _by_artist(snapshots).items():
        previous = None
        for row in rows:
            followers = row.get("followers")
            if followers is None:
                continue
            if previous is not None and previous["followers"] > 0:
                lost = previous["followers"] - followers
                pct = 100.0 * lost / previous["followers"]
                if pct >= rules.follower_drop_min_pct and lost >= rules.follower_drop_min_lost:
                    signals.append(
                        Signal(
                            "follower_drop",
                            artist_id,
                            row.get("name") or artist_id,
                            row["date"],
                            "followers",
                            float(followers),
                            float(previous["followers"]),
                            rules.follower_drop_min_pct,
                            f"{row.get('name') or artist_id} lost {lost:,} followers "
                            f"({pct:.1f}%) on {row['date']}: {previous['followers']:,} on "
                            f"{previous['date']}, {followers:,} now",
                            {"followers_lost": lost, "drop_pct": round(pct, 2)},
                        )
                    )
            previous = row
    return signals


def popularity_jumps(snapshots: Iterable[Mapping[str, Any]], rules: AlertRules) -> list[Signal]:
    """A day whose popularity is ``min_points`` above the lowest (or below the highest) of the
    ``window_days`` days before it."""
    signals = []
    window = dt.timedelta(days=rules.popularity_window_days)
    for artist_id, rows in _by_artist(snapshots).items():
        known = [row for row in rows if row.get("popularity") is not None]
        for i, row in enumerate(known):
            before = [r["popularity"] for r in known[:i] if r["date"] >= row["date"] - window]
            if not before:
                continue
            up, down = row["popularity"] - min(before), row["popularity"] - max(before)
            change = up if abs(up) >= abs(down) else down
            if abs(change) < rules.popularity_min_points:
                continue
            baseline = row["popularity"] - change
            signals.append(
                Signal(
                    "popularity_jump",
                    artist_id,
                    row.get("name") or artist_id,
                    row["date"],
                    "popularity",
                    float(row["popularity"]),
                    float(baseline),
                    float(rules.popularity_min_points),
                    f"{row.get('name') or artist_id}'s popularity moved {change:+d} points to "
                    f"{row['popularity']} on {row['date']} (from {baseline} within "
                    f"{rules.popularity_window_days} days)",
                    {"change_points": change},
                )
            )
    return signals


def breakouts(trends: Iterable[Mapping[str, Any]], rules: AlertRules) -> list[Signal]:
    """One signal per artist and ``breakout_day`` that ``artist_trends`` confirmed."""
    if not rules.breakout_enabled:
        return []
    first: dict[tuple[str, dt.date], Mapping[str, Any]] = {}
    for row in trends:
        day = row.get("breakout_day")
        if not row.get("is_breakout") or day is None:
            continue
        key = (row["artist_id"], day)
        # The breakout day's own row carries the numbers of the day it began.
        if key not in first or abs((row["date"] - day).days) < abs((first[key]["date"] - day).days):
            first[key] = row
    signals = []
    for (artist_id, day), row in sorted(first.items()):
        name = row.get("artist_name") or artist_id
        evidence = {
            k: row.get(k)
            for k in ("streams", "growth_7d", "follower_growth_1d", "streams_z", "follower_z")
        }
        signals.append(
            Signal(
                "breakout",
                artist_id,
                name,
                day,
                "streams_z",
                float(row.get("streams_z") or 0.0),
                0.0,
                4.0,
                f"{name} broke out on {day}: streams and followers far above their baselines "
                f"(streams z {_fmt(row.get('streams_z'))}, follower z "
                f"{_fmt(row.get('follower_z'))})",
                {"trend_row_date": row["date"].isoformat(), **evidence},
            )
        )
    return signals


def streaming_incidents(anomalies: Iterable[Mapping[str, Any]], rules: AlertRules) -> list[Signal]:
    """Incidents of ``streaming_anomalies`` at the configured levels, kinds and q-value."""
    signals = []
    for row in anomalies:
        if (
            row.get("level") not in rules.anomaly_levels
            or row.get("kind") not in rules.anomaly_kinds
            or row.get("q_value") is None
            or row["q_value"] > rules.anomaly_max_q
            or not row.get("artist_id")
        ):
            continue
        name = row.get("entity_name") or row["entity_id"]
        what = name if row["level"] == "artist" else f"track {name}"
        signals.append(
            Signal(
                "streaming_anomaly",
                row["artist_id"],
                name if row["level"] == "artist" else row["artist_id"],
                row["date"],
                row.get("metric") or "streams",
                float(row["value"]),
                float(row["expected"]),
                rules.anomaly_max_q,
                f"{what}: streaming {row['kind']} ({row['direction']}) on {row['date']}, "
                f"{row['value']:,.0f} streams where {row['expected']:,.0f} were expected "
                f"(q = {row['q_value']:.2g})",
                {"level": row["level"], "kind": row["kind"], "q_value": row["q_value"]},
            )
        )
    return signals


def detect_signals(
    snapshots: Sequence[Mapping[str, Any]],
    trends: Sequence[Mapping[str, Any]],
    anomalies: Sequence[Mapping[str, Any]],
    rules: AlertRules,
) -> list[Signal]:
    return [
        *breakouts(trends, rules),
        *follower_drops(snapshots, rules),
        *popularity_jumps(snapshots, rules),
        *streaming_incidents(anomalies, rules),
    ]


def causes(signals: Iterable[Signal], merge_days: int) -> list[list[Signal]]:
    """Signals grouped per artist: a signal within ``merge_days`` of the group's last one
    joins it."""
    groups: list[list[Signal]] = []
    per_artist: dict[str, list[Signal]] = defaultdict(list)
    for signal in signals:
        per_artist[signal.artist_id].append(signal)
    for artist_id in sorted(per_artist):
        ordered = sorted(per_artist[artist_id], key=lambda s: (s.day, RULES.index(s.rule)))
        for signal in ordered:
            if (
                groups
                and groups[-1][0].artist_id == artist_id
                and ((signal.day - groups[-1][-1].day).days <= merge_days)
            ):
                groups[-1].append(signal)
            else:
                groups.append([signal])
    return groups


def alert_id(rule: str, artist_id: str, day: dt.date) -> str:
    return f"{rule}:{artist_id}:{day.isoformat()}"


def new_alerts(
    signals: Iterable[Signal],
    stored: Sequence[Mapping[str, Any]],
    rules: AlertRules,
    *,
    as_of: dt.date,
    raised_at: dt.datetime,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Alert rows for causes not alerted before, and counts of what was left out and why."""
    seen_days: dict[str, list[dt.date]] = defaultdict(list)
    stored_ids = {row["alert_id"] for row in stored}
    for row in stored:
        seen_days[row["artist_id"]].append(row["cause_day"])
        for label in row.get("signals") or []:
            seen_days[row["artist_id"]].append(dt.date.fromisoformat(label.rsplit("@", 1)[1]))
    oldest = as_of - dt.timedelta(days=rules.max_age_days)
    counts = {"causes": 0, "already_alerted": 0, "too_old": 0}
    rows = []
    for group in causes(signals, rules.merge_days):
        counts["causes"] += 1
        primary = min(group, key=lambda s: (RULES.index(s.rule), s.day))
        identifier = alert_id(primary.rule, primary.artist_id, primary.day)
        known = seen_days.get(primary.artist_id, [])
        if identifier in stored_ids or any(
            abs((day - signal.day).days) <= rules.merge_days for day in known for signal in group
        ):
            counts["already_alerted"] += 1
            continue
        if primary.day < oldest:
            counts["too_old"] += 1
            continue
        names = [s.artist_name for s in group if s.artist_name != s.artist_id]
        rows.append(
            {
                "alert_id": identifier,
                "rule": primary.rule,
                "severity": SEVERITY[primary.rule],
                "artist_id": primary.artist_id,
                "artist_name": names[0] if names else primary.artist_id,
                "cause_day": primary.day,
                "metric": primary.metric,
                "value": primary.value,
                "baseline": primary.baseline,
                "threshold": primary.threshold,
                "summary": primary.summary,
                "signals": sorted({s.label for s in group}),
                "evidence": json.dumps(
                    {s.label: {"summary": s.summary, **s.evidence} for s in group},
                    sort_keys=True,
                    default=str,
                ),
                "as_of": as_of,
                "raised_at": raised_at,
            }
        )
    return rows, counts


def _by_artist(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    grouped: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row["artist_id"]].append(row)
    return {k: sorted(v, key=lambda r: r["date"]) for k, v in sorted(grouped.items())}


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.1f}"
