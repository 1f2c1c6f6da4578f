"""Playlist cover art drawn from the playlist's sound: a 640x640 PNG, the same bytes every time.

Valence sets the colours (dark blue for sombre music through to warm orange for bright), energy
their saturation and how many shapes there are, tempo the rhythm (rings per beat: faster music,
tighter rings), the key the rotation of the shapes (30 degrees per semitone round the circle of
pitch classes) and the mode their form (major: circles, minor: polygons). The name is drawn with
Pillow's bundled font. No randomness, clock or text chunk with a version: re-running a playlist
gives identical files.
"""

from __future__ import annotations

import colorsys
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

SIZE = 640
PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


@dataclass(frozen=True)
class PlaylistSound:
    """What the cover is drawn from: means and the most common key of the tracks."""

    name: str
    energy: float  # 0..1
    valence: float  # 0..1
    tempo_bpm: float
    key: str | None  # pitch class, e.g. "A"
    mode: str | None  # major | minor

    def __post_init__(self) -> None:
        for field_name in ("energy", "valence"):
            value = getattr(self, field_name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{field_name} must be within 0..1, got {value!r}")
        if not 20.0 <= self.tempo_bpm <= 300.0:
            raise ValueError(f"tempo_bpm must be within 20..300, got {self.tempo_bpm!r}")
        if self.key is not None and self.key not in PITCH_CLASSES:
            raise ValueError(f"key must be one of {', '.join(PITCH_CLASSES)}, got {self.key!r}")


def key_of_camelot(code: str | None) -> tuple[str | None, str | None]:
    """Pitch class and mode of a Camelot code (``8A``: A minor); (None, None) when unknown."""
    from spotify_agent_assets.activation.harmonic_order import camelot

    for mode in ("major", "minor"):
        for key in PITCH_CLASSES:
            if camelot(key, mode) == code:
                return key, mode
    return None, None


def _colour(hue: float, saturation: float, value: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return round(r * 255), round(g * 255), round(b * 255)


def cover_art(sound: PlaylistSound) -> bytes:
    """The cover as PNG bytes (640x640, RGB)."""
    from PIL import Image, ImageDraw, ImageFont

    # Hue from blue (0.62, sombre) down to orange (0.08, bright).
    hue = 0.62 - 0.54 * sound.valence
    saturation = 0.35 + 0.6 * sound.energy
    top, bottom = _colour(hue, saturation, 0.95), _colour(hue + 0.12, saturation, 0.35)
    image = Image.new("RGB", (SIZE, SIZE))
    draw = ImageDraw.Draw(image)
    for y in range(SIZE):
        t = y / (SIZE - 1)
        draw.line(
            [(0, y), (SIZE, y)],
            fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    centre = SIZE / 2
    # Rhythm: one ring per beat of a 4-second bar at this tempo (60 BPM: 4 rings, 180: 12).
    rings = max(3, min(16, round(sound.tempo_bpm / 15)))
    accent = _colour(hue + 0.5, min(1.0, saturation + 0.1), 1.0)
    for ring in range(rings, 0, -1):
        radius = ring * (SIZE * 0.45) / rings
        width = 2 + round(4 * sound.energy) if ring % 2 else 1
        draw.ellipse(
            [centre - radius, centre - radius, centre + radius, centre + radius],
            outline=accent,
            width=width,
        )
    pitch = PITCH_CLASSES.index(sound.key) if sound.key is not None else 0
    angle0 = math.radians(30 * pitch)
    shapes = 3 + round(9 * sound.energy)
    fill = _colour(hue + 0.25, saturation, 0.9)
    for index in range(shapes):
        angle = angle0 + 2 * math.pi * index / shapes
        distance = SIZE * 0.3
        x, y = centre + distance * math.cos(angle), centre + distance * math.sin(angle)
        size = 18 + 30 * sound.valence
        if sound.mode == "minor":
            draw.regular_polygon(
                (x, y, size), n_sides=3 + pitch % 4, rotation=30 * pitch, fill=fill
            )
        else:
            draw.ellipse([x - size, y - size, x + size, y + size], fill=fill)
    _title(draw, sound.name, ImageFont.load_default(size=34))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def _title(draw: object, name: str, font: object) -> None:
    """The name on a dark band at the bottom, cut to fit the width."""
    text = name
    while text and draw.textlength(text, font=font) > SIZE - 40:  # type: ignore[attr-defined]
        text = text[:-2] + "…"
    draw.rectangle([0, SIZE - 80, SIZE, SIZE], fill=(0, 0, 0))  # type: ignore[attr-defined]
    draw.text((20, SIZE - 60), text, font=font, fill=(255, 255, 255))  # type: ignore[attr-defined]


def sound_of(
    name: str, tracks: Sequence[dict], key_mode: tuple[str | None, str | None]
) -> PlaylistSound:
    """A ``PlaylistSound`` from curated tracks (means of energy, valence; median tempo)."""
    import statistics

    energy = [t["energy"] for t in tracks if t.get("energy") is not None]
    valence = [t["valence"] for t in tracks if t.get("valence") is not None]
    tempo = [t["tempo_bpm"] for t in tracks if t.get("tempo_bpm")]
    return PlaylistSound(
        name=name,
        energy=statistics.fmean(energy) if energy else 0.5,
        valence=statistics.fmean(valence) if valence else 0.5,
        tempo_bpm=statistics.median(tempo) if tempo else 120.0,
        key=key_mode[0],
        mode=key_mode[1],
    )
