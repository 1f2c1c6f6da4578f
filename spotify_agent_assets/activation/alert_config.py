"""The artist alert rules' thresholds: the YAML file (``SPOTIFY_AGENT_ALERT_RULES``,
default ``config/alerts.yaml``) read and validated, every error naming the field."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Most specific first: the rule an alert is filed under when several signals are one cause.
RULES = ("breakout", "follower_drop", "popularity_jump", "streaming_anomaly")
SEVERITY = {
    "breakout": "info",
    "follower_drop": "error",
    "popularity_jump": "warning",
    "streaming_anomaly": "warning",
}
ANOMALY_LEVELS = ("artist", "track")
ANOMALY_KINDS = ("spike", "drop", "level_shift")
# What config/alerts.yaml ships: spikes are accepted but opt-in (the file says why).
DEFAULT_ANOMALY_KINDS = ("drop", "level_shift")


class AlertRulesError(ValueError):
    """The alert rules file is missing or a field holds a value the rules cannot use."""


@dataclass(frozen=True)
class AlertRules:
    follower_drop_min_pct: float = 5.0
    follower_drop_min_lost: int = 100
    popularity_min_points: int = 10
    popularity_window_days: int = 7
    breakout_enabled: bool = True
    anomaly_levels: tuple[str, ...] = ("artist",)
    anomaly_kinds: tuple[str, ...] = DEFAULT_ANOMALY_KINDS
    anomaly_max_q: float = 0.01
    merge_days: int = 2
    max_age_days: int = 30


def _number(section: Mapping[str, Any], name: str, where: str, *, low: float, integer: bool):
    value = section.get(name)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (integer and not isinstance(value, int))
    ):
        kind = "a whole number" if integer else "a number"
        raise AlertRulesError(f"{where}.{name} is {value!r}; expected {kind} >= {low}")
    if value < low:
        raise AlertRulesError(f"{where}.{name} is {value}; expected a value >= {low}")
    return value


def _section(raw: Mapping[str, Any], name: str, keys: set[str], where: str) -> Mapping[str, Any]:
    section = raw.get(name)
    if not isinstance(section, Mapping):
        raise AlertRulesError(f"{where}: {name} is missing or not a mapping")
    unknown = sorted(set(section) - keys)
    if unknown:
        raise AlertRulesError(
            f"{where}: {name} has unknown field(s) {unknown}; expected {sorted(keys)}"
        )
    return section


def _choices(section: Mapping[str, Any], name: str, allowed: Sequence[str], where: str):
    value = section.get(name)
    if not isinstance(value, list) or not value or any(v not in allowed for v in value):
        raise AlertRulesError(
            f"{where}.{name} is {value!r}; expected a non-empty list of {', '.join(allowed)}"
        )
    return tuple(value)


def parse_alert_rules(raw: Any, source: str = "alert rules") -> AlertRules:
    """Validated rules from the parsed YAML; errors name the field and what was expected."""
    if not isinstance(raw, Mapping):
        raise AlertRulesError(f"{source} is not a mapping of rule sections")
    known = {*RULES, "merge_days", "max_age_days"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise AlertRulesError(f"{source}: unknown field(s) {unknown}; expected {sorted(known)}")
    drop = _section(raw, "follower_drop", {"min_drop_pct", "min_followers_lost"}, source)
    jump = _section(raw, "popularity_jump", {"min_points", "window_days"}, source)
    breakout = _section(raw, "breakout", {"enabled"}, source)
    anomaly = _section(raw, "streaming_anomaly", {"levels", "kinds", "max_q_value"}, source)
    if not isinstance(breakout.get("enabled"), bool):
        raise AlertRulesError(
            f"breakout.enabled is {breakout.get('enabled')!r}; expected true or false"
        )
    min_pct = _number(drop, "min_drop_pct", "follower_drop", low=0.1, integer=False)
    if min_pct >= 100:
        raise AlertRulesError(f"follower_drop.min_drop_pct is {min_pct}; expected below 100")
    max_q = _number(anomaly, "max_q_value", "streaming_anomaly", low=0, integer=False)
    if not 0 < max_q <= 1:
        raise AlertRulesError(f"streaming_anomaly.max_q_value is {max_q}; expected in (0, 1]")
    return AlertRules(
        follower_drop_min_pct=float(min_pct),
        follower_drop_min_lost=_number(
            drop, "min_followers_lost", "follower_drop", low=1, integer=True
        ),
        popularity_min_points=_number(jump, "min_points", "popularity_jump", low=1, integer=True),
        popularity_window_days=_number(jump, "window_days", "popularity_jump", low=1, integer=True),
        breakout_enabled=breakout["enabled"],
        anomaly_levels=_choices(anomaly, "levels", ANOMALY_LEVELS, "streaming_anomaly"),
        anomaly_kinds=_choices(anomaly, "kinds", ANOMALY_KINDS, "streaming_anomaly"),
        anomaly_max_q=float(max_q),
        merge_days=_number(raw, "merge_days", "rules", low=0, integer=True),
        max_age_days=_number(raw, "max_age_days", "rules", low=1, integer=True),
    )


def load_alert_rules(path: str | Path) -> AlertRules:
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AlertRulesError(
            f"alert rules file {path} does not exist; set SPOTIFY_AGENT_ALERT_RULES to a YAML file"
        ) from None
    except yaml.YAMLError as exc:
        raise AlertRulesError(f"alert rules file {path} is not valid YAML: {exc}") from None
    return parse_alert_rules(raw, str(path))
