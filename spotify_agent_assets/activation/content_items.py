"""Every item ``generated_content`` produces, built from the rows of its input tables.

Per artist of the reported week an insight post; per curated playlist a description, cover
art and a jingle. Each item carries its bytes, the facts it came from and the checks it passed;
media are read back (PNG size, WAV format) before they count as checked. Pure logic: the asset
reads the tables, writes the files and stores the rows.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from spotify_agent_assets.activation.content_cover import SIZE, cover_art, key_of_camelot, sound_of
from spotify_agent_assets.activation.content_guardrails import TEXT_CHECKS
from spotify_agent_assets.activation.content_jingle import (
    MAX_SECONDS,
    SAMPLE_RATE,
    JingleSpec,
    jingle_wav,
)
from spotify_agent_assets.activation.content_text import (
    INSIGHT_POST,
    PLAYLIST_DESCRIPTION,
    TextGenerator,
    artist_post_request,
    dominant_camelot,
    generate_text,
    playlist_request,
)

COVER_ART, JINGLE = "cover_art", "jingle"
PNG_CHECK, WAV_CHECK = "png_640x640", "wav_format"
REQUIRED_CHECKS = {
    INSIGHT_POST: TEXT_CHECKS,
    PLAYLIST_DESCRIPTION: TEXT_CHECKS,
    COVER_ART: (PNG_CHECK,),
    JINGLE: (WAV_CHECK,),
}
POST_SOURCES = [
    "analytics.weekly_artist_report",
    "analytics.artist_trends",
    "analytics.artist_daily_metrics",
]
PLAYLIST_SOURCES = ["activation.curated_playlists"]
ARTIST_SOUND_SOURCES = ["audio.audio_features", "spotify.spotify_tracks"]
# A playlist whose tracks have no key: the jingle is in C major, which the row says.
DEFAULT_KEY = ("C", "major")


@dataclass(frozen=True)
class ContentItem:
    kind: str
    subject_type: str
    subject_id: str
    subject_name: str
    period: str | None
    text: str | None
    file_name: str
    data: bytes
    generator: str
    fallback_reason: str | None
    checks_passed: tuple[str, ...]
    facts: str
    sources: list[str]
    as_of: date | None
    details: str = ""

    @property
    def content_id(self) -> str:
        return f"{self.kind}:{self.subject_type}:{self.subject_id}"

    def row(self, uri: str, sha256: str) -> dict[str, Any]:
        return {
            "content_id": self.content_id,
            "kind": self.kind,
            "subject_type": self.subject_type,
            "subject_id": self.subject_id,
            "subject_name": self.subject_name,
            "period": self.period,
            "text": self.text,
            "uri": uri,
            "sha256": sha256,
            "bytes": len(self.data),
            "generator": self.generator,
            "fallback_reason": self.fallback_reason,
            "checks_passed": list(self.checks_passed),
            "facts": self.facts,
            "sources": self.sources,
            "as_of": self.as_of,
        }


def png_checks(png: bytes) -> tuple[str, ...]:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        return (PNG_CHECK,) if image.format == "PNG" and image.size == (SIZE, SIZE) else ()


def wav_checks(wav: bytes) -> tuple[str, ...]:
    import soundfile

    info = soundfile.info(io.BytesIO(wav))
    ok = (
        info.format == "WAV"
        and info.samplerate == SAMPLE_RATE
        and info.channels == 1
        and 1.0 <= info.duration <= MAX_SECONDS + 0.01
    )
    return (WAV_CHECK,) if ok else ()


def artist_sounds(
    tracks: Sequence[Mapping[str, Any]], features: Sequence[Mapping[str, Any]]
) -> dict[str, JingleSpec]:
    """Each artist's typical sound from the audio features of the tracks they lead: the most
    common key and mode (ties: the first pitch class, major first) among tonal tracks, and
    the median tempo of tracks with a pulse. Artists without both are left out."""
    import statistics
    from collections import Counter

    from spotify_agent_assets.activation.content_cover import PITCH_CLASSES

    # The lead artist: the first of the track's artists, as curation's per-artist cap counts.
    artist_of = {t["track_id"]: t["artist_ids"][0] for t in tracks if t.get("artist_ids")}
    keys: dict[str, Counter[tuple[str, str]]] = {}
    tempos: dict[str, list[float]] = {}
    for row in features:
        artist = artist_of.get(row["track_id"])
        if artist is None or row.get("status") != "ok":
            continue
        if row.get("key_status") == "ok" and row.get("key") and row.get("mode"):
            keys.setdefault(artist, Counter())[(row["key"], row["mode"])] += 1
        if row.get("tempo_status") == "ok" and row.get("tempo_bpm"):
            tempos.setdefault(artist, []).append(row["tempo_bpm"])
    sounds = {}
    for artist in sorted(keys.keys() & tempos.keys()):
        counts = keys[artist]
        best = max(counts.values())
        key, mode = min(
            (k for k, n in counts.items() if n == best),
            key=lambda k: (PITCH_CLASSES.index(k[0]), k[1] != "major"),
        )
        tempo = min(250.0, max(40.0, statistics.median(tempos[artist])))
        sounds[artist] = JingleSpec(key, mode, round(tempo, 1))
    return sounds


def build_items(
    reports: Sequence[Mapping[str, Any]],
    trends: Sequence[Mapping[str, Any]],
    metrics: Sequence[Mapping[str, Any]],
    curated: Sequence[Mapping[str, Any]],
    endpoint: TextGenerator | None,
    sounds: Mapping[str, JingleSpec] | None = None,
) -> list[ContentItem]:
    """Posts (and jingles, for artists in ``sounds``) for ``reports`` (one week's rows), then
    each playlist's description, cover and jingle, in a stable order (artist id, playlist
    key)."""
    items = []
    sounds = sounds or {}
    trend_of = {t["artist_id"]: t for t in trends}
    for report in sorted(reports, key=lambda r: r["artist_id"]):
        artist = report["artist_id"]
        request = artist_post_request(
            report, trend_of.get(artist), [m for m in metrics if m["artist_id"] == artist]
        )
        text = generate_text(request, endpoint)
        items.append(
            ContentItem(
                INSIGHT_POST, "artist", artist, request.subject_name, report["week"],
                text.text, "post.md", text.text.encode() + b"\n", text.generator,
                text.fallback_reason, text.checks_passed, request.facts.to_json(),
                POST_SOURCES, report["week_end"],
            )
        )  # fmt: skip
        if artist in sounds:
            items.append(_artist_jingle(request.subject_name, report, sounds[artist]))
    playlists: dict[str, list[Mapping[str, Any]]] = {}
    for row in sorted(curated, key=lambda r: (r["playlist_key"], r["position"])):
        playlists.setdefault(row["playlist_key"], []).append(row)
    for key, tracks in playlists.items():
        items += _playlist_items(key, tracks, endpoint)
    return items


def _artist_jingle(name: str, report: Mapping[str, Any], spec: JingleSpec) -> ContentItem:
    import json

    wav = jingle_wav(spec)
    facts = json.dumps({"key": spec.key, "mode": spec.mode, "tempo_bpm": spec.tempo_bpm})
    details = f"{spec.key} {spec.mode}, {spec.tempo_bpm:.0f} BPM, {spec.seconds:.1f} s"
    return ContentItem(
        JINGLE, "artist", report["artist_id"], name, None, None, "jingle.wav", wav,
        "local", None, wav_checks(wav), facts, ARTIST_SOUND_SOURCES, None, details,
    )  # fmt: skip


def _playlist_items(
    key: str,
    tracks: list[Mapping[str, Any]],
    endpoint: TextGenerator | None,
) -> list[ContentItem]:
    name = tracks[0]["playlist_name"]
    request = playlist_request(name, tracks)
    text = generate_text(request, endpoint)
    facts = request.facts.to_json()
    sound = sound_of(name, tracks, key_of_camelot(dominant_camelot(tracks)))
    png = cover_art(sound)
    jingle_key, jingle_mode = (sound.key, sound.mode) if sound.key and sound.mode else DEFAULT_KEY
    jingle = JingleSpec(jingle_key, jingle_mode, min(250.0, max(40.0, sound.tempo_bpm)))
    wav = jingle_wav(jingle)
    details = f"{jingle.key} {jingle.mode}, {jingle.tempo_bpm:.0f} BPM, {jingle.seconds:.1f} s"

    def item(
        kind: str,
        text_value: str | None,
        file_name: str,
        data: bytes,
        generator: str,
        reason: str | None,
        checks: tuple[str, ...],
        detail: str = "",
    ) -> ContentItem:
        return ContentItem(kind, "playlist", key, name, None, text_value, file_name, data,
                           generator, reason, checks, facts, PLAYLIST_SOURCES, None, detail)  # fmt: skip

    return [
        item(PLAYLIST_DESCRIPTION, text.text, "description.txt", text.text.encode() + b"\n",
             text.generator, text.fallback_reason, text.checks_passed),
        item(COVER_ART, None, "cover.png", png, "local", None, png_checks(png)),
        item(JINGLE, None, "jingle.wav", wav, "local", None, wav_checks(wav), details),
    ]  # fmt: skip
