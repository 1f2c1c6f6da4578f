"""Texts written from the analytics: weekly artist insight posts and playlist descriptions.

Each text starts from its facts (``Facts``: the figures and names it may use, taken from the
tables) and a generator writes it. The local generator fills templates from the facts: offline,
deterministic, no model. An endpoint generator (``content_llm``) may write instead; whatever it
writes passes the guardrails (``content_guardrails``) or is replaced by the local text, and the
reason is kept. The local text must pass them too: a template that breaks a guardrail is a bug
and fails loudly.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from spotify_agent_assets.activation.content_cover import key_of_camelot
from spotify_agent_assets.activation.content_guardrails import TEXT_CHECKS, Facts, text_problems

INSIGHT_POST = "insight_post"
PLAYLIST_DESCRIPTION = "playlist_description"
# A post fits a social network's short format; Spotify caps playlist descriptions at 300.
MAX_CHARS = {INSIGHT_POST: 600, PLAYLIST_DESCRIPTION: 300}
LOCAL = "local"


@dataclass(frozen=True)
class TextRequest:
    """What to write: the kind, about whom, the facts and how each is written."""

    kind: str
    subject_name: str
    facts: Facts
    written: dict[str, str]  # fact name -> the text a generator should copy ("12,345", "+7.9%")

    @property
    def max_chars(self) -> int:
        return MAX_CHARS[self.kind]


class TextGenerator(Protocol):
    name: str

    def write(self, request: TextRequest) -> str: ...


class GeneratorUnavailable(Exception):
    """The generator could not answer after its retries (down, rate limited for too long):
    the local text stands in, and the class of the failure is recorded."""


@dataclass(frozen=True)
class GeneratedText:
    text: str
    generator: str
    fallback_reason: str | None
    checks_passed: tuple[str, ...]


def _count(value: float, decimals: int = 0) -> str:
    return f"{value:,.{decimals}f}"


def _percent(value: float, decimals: int = 1, signed: bool = True) -> str:
    return f"{value * 100:{'+' if signed else ''}.{decimals}f}%"


def artist_post_request(
    report: Mapping[str, Any],
    trend: Mapping[str, Any] | None,
    metrics: Sequence[Mapping[str, Any]],
) -> TextRequest:
    """The facts of one artist's week: its ``weekly_artist_report`` row, its ``artist_trends``
    row on the week's last day and its ``artist_daily_metrics`` rows of the week."""
    counts: dict[str, float] = {"streams": int(report["streams"]), "anomalies": report["anomalies"]}
    ratios: dict[str, float] = {}
    written = {"streams": _count(report["streams"]), "anomalies": str(report["anomalies"])}
    names = {
        "artist_name": report["artist_name"] or report["artist_id"],
        "week": report["week"],
        "week_start": report["week_start"].isoformat(),
        "week_end": report["week_end"].isoformat(),
    }
    if report.get("streams_change") is not None:
        ratios["streams_change"] = report["streams_change"]
        written["streams_change"] = _percent(report["streams_change"])
    week = [m for m in metrics if report["week_start"] <= m["date"] <= report["week_end"]]
    listening_ms = [m["listening_ms"] for m in week if m.get("listening_ms") is not None]
    if listening_ms:
        hours = round(sum(listening_ms) / 3_600_000, 1)
        counts["listening_hours"] = hours
        written["listening_hours"] = _count(hours, 1)
    last = max(week, key=lambda m: m["date"], default=None)
    if last is not None and last.get("popularity") is not None:
        counts["popularity"] = int(last["popularity"])
        written["popularity"] = str(int(last["popularity"]))
    if trend is not None:
        if trend.get("followers") is not None:
            counts["followers"] = int(trend["followers"])
            written["followers"] = _count(trend["followers"])
        if trend.get("follower_growth_7d") is not None:
            ratios["follower_growth_7d"] = trend["follower_growth_7d"]
            written["follower_growth_7d"] = _percent(trend["follower_growth_7d"], 2)
        names["trend_status"] = trend["trend_status"]
        if trend.get("breakout_day") is not None:
            names["breakout_day"] = trend["breakout_day"].isoformat()
    facts = Facts(counts=counts, ratios=ratios, names=names)
    return TextRequest(INSIGHT_POST, names["artist_name"], facts, written)


def playlist_request(name: str, tracks: Sequence[Mapping[str, Any]]) -> TextRequest:
    """The facts of one curated playlist: its tracks' count, minutes, artists, tempo, energy,
    valence and most common key (``activation.curated_playlists``)."""
    counts: dict[str, float] = {"tracks": len(tracks)}
    written = {"tracks": str(len(tracks))}
    ratios: dict[str, float] = {}
    names = {"playlist_name": name}
    minutes = round(sum(t["duration_ms"] or 0 for t in tracks) / 60_000)
    if minutes:
        counts["minutes"] = minutes
        written["minutes"] = str(minutes)
    artists = len({t["primary_artist_id"] for t in tracks if t.get("primary_artist_id")})
    counts["artists"] = artists
    written["artists"] = str(artists)
    tempos = [t["tempo_bpm"] for t in tracks if t.get("tempo_bpm")]
    if tempos:
        counts["tempo_bpm"] = round(statistics.median(tempos))
        written["tempo_bpm"] = str(counts["tempo_bpm"])
    for column in ("energy", "valence"):
        values = [t[column] for t in tracks if t.get(column) is not None]
        if values:
            ratios[column] = round(statistics.fmean(values), 2)
            written[column] = _percent(ratios[column], 0, signed=False)
    key = dominant_camelot(tracks)
    if key is not None:
        names["camelot"] = key
        pitch, mode = key_of_camelot(key)
        if pitch is not None:
            names["key_name"] = f"{pitch} {mode}"
    return TextRequest(PLAYLIST_DESCRIPTION, name, Facts(counts, ratios, names), written)


def dominant_camelot(tracks: Sequence[Mapping[str, Any]]) -> str | None:
    """The most common Camelot code (ties: the first in play order)."""
    codes = [t["camelot"] for t in tracks if t.get("camelot")]
    if not codes:
        return None
    counts = Counter(codes)
    best = max(counts.values())
    return next(code for code in codes if counts[code] == best)


class LocalTextGenerator:
    """Templates filled from the facts: runs offline and writes the same text every time."""

    name = LOCAL

    def write(self, request: TextRequest) -> str:
        if request.kind == INSIGHT_POST:
            return _post(request)
        if request.kind == PLAYLIST_DESCRIPTION:
            return _description(request)
        raise ValueError(f"unknown text kind {request.kind!r}")


def _post(request: TextRequest) -> str:
    f, w, n = request.facts, request.written, request.facts.names
    lines = [f"{n['artist_name']}, week {n['week']} ({n['week_start']} to {n['week_end']}):"]
    streams = f"{w['streams']} streams"
    if "streams_change" in w:
        direction = "up" if f.ratios["streams_change"] >= 0 else "down"
        streams += (
            f", {direction} {w['streams_change'].lstrip('+-')} on the same days of the week before"
        )
    lines.append(streams + ".")
    if "listening_hours" in w:
        lines.append(f"{w['listening_hours']} hours listened.")
    if "followers" in w:
        followers = f"{w['followers']} followers"
        if "follower_growth_7d" in w:
            followers += f" ({w['follower_growth_7d']} over the week)"
        lines.append(followers + ".")
    if "popularity" in w:
        lines.append(f"Popularity {w['popularity']}.")
    if "trend_status" in n:
        lines.append(f"Trend: {n['trend_status'].replace('_', ' ')}.")
    if "breakout_day" in n:
        lines.append(f"Breakout since {n['breakout_day']}.")
    incidents = int(f.counts["anomalies"])
    if incidents:
        lines.append(f"{w['anomalies']} streaming anomal{'y' if incidents == 1 else 'ies'}.")
    return " ".join(lines)


def _description(request: TextRequest) -> str:
    w, n = request.written, request.facts.names
    parts = [f"{w['tracks']} tracks"]
    if "minutes" in w:
        parts[0] += f", {w['minutes']} minutes"
    parts[0] += f" from {w['artists']} artist{'s' if request.facts.counts['artists'] != 1 else ''}"
    if "tempo_bpm" in w:
        parts.append(f"around {w['tempo_bpm']} BPM")
    if "camelot" in n:
        key = f" ({n['key_name']})" if "key_name" in n else ""
        parts.append(f"mostly in {n['camelot']}{key}")
    sound = [
        f"{label} {w[c]}" for c, label in (("energy", "energy"), ("valence", "valence")) if c in w
    ]
    if sound:
        parts.append(" and ".join(sound))
    return f"{n['playlist_name']}: " + ", ".join(parts) + ". Ordered for smooth key and tempo."


def generate_text(request: TextRequest, endpoint: TextGenerator | None) -> GeneratedText:
    """The endpoint's text when it passes every guardrail, else the local text with why."""
    reason = None
    if endpoint is not None:
        try:
            text = endpoint.write(request).strip()
        except GeneratorUnavailable as error:
            reason = f"endpoint_failed: {error}"
        else:
            problems = text_problems(text, request.facts, request.max_chars)
            if not problems:
                return GeneratedText(text, endpoint.name, None, TEXT_CHECKS)
            reason = "; ".join(problems)
    text = LocalTextGenerator().write(request)
    problems = text_problems(text, request.facts, request.max_chars)
    if problems:
        raise ValueError(
            f"the local {request.kind} for {request.subject_name!r} breaks its guardrails: "
            + "; ".join(problems)
        )
    return GeneratedText(text, LOCAL, reason, TEXT_CHECKS)
