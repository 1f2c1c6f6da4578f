"""Cover art and jingles: a 640x640 PNG that is the same bytes for the same sound and differs
with it; a WAV of the expected length and rate whose dominant pitch is the key's tonic (FFT)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile
from PIL import Image

from spotify_agent_assets.activation.content_cover import (
    PITCH_CLASSES,
    PlaylistSound,
    cover_art,
    key_of_camelot,
)
from spotify_agent_assets.activation.content_items import png_checks, wav_checks
from spotify_agent_assets.activation.content_jingle import (
    SAMPLE_RATE,
    JingleSpec,
    jingle_wav,
    tonic_hz,
)

CALM = PlaylistSound("Harbor Lights: Indie Evenings", 0.3, 0.2, 92.0, "A", "minor")
BRIGHT = PlaylistSound("Coastline Drive", 0.85, 0.8, 128.0, "C", "major")


def test_cover_is_a_640x640_png_and_deterministic() -> None:
    first = cover_art(CALM)
    assert first == cover_art(CALM)
    with Image.open(io.BytesIO(first)) as image:
        assert image.format == "PNG" and image.size == (640, 640) and image.mode == "RGB"
        calm_top = image.getpixel((5, 5))
    assert png_checks(first) == ("png_640x640",)
    other = cover_art(BRIGHT)
    assert other != first
    with Image.open(io.BytesIO(other)) as image:
        bright_top = image.getpixel((5, 5))
    # Valence sets the hue: sombre music is bluer, bright music warmer.
    assert calm_top[2] > calm_top[0] and bright_top[0] > bright_top[2]


def test_cover_refuses_out_of_range_features_naming_them() -> None:
    with pytest.raises(ValueError, match=r"energy must be within 0\.\.1"):
        PlaylistSound("x", 1.5, 0.5, 120.0, "C", "major")
    with pytest.raises(ValueError, match="key must be one of"):
        PlaylistSound("x", 0.5, 0.5, 120.0, "H", "major")


def _dominant_pitch_class(wav: bytes) -> str:
    samples, rate = soundfile.read(io.BytesIO(wav))
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    peak = np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)]
    return PITCH_CLASSES[(round(12 * np.log2(peak / tonic_hz("C"))) % 12)]


@pytest.mark.parametrize(
    ("key", "mode", "tempo", "seconds"),
    [("A", "minor", 96.0, 5.0), ("C#", "major", 141.0, 8 * 60 / 141), ("F", "major", 60.0, 6.0),
     ("G#", "minor", 175.0, 8 * 60 / 175)],
)  # fmt: skip
def test_jingle_length_rate_and_key(key: str, mode: str, tempo: float, seconds: float) -> None:
    wav = jingle_wav(JingleSpec(key, mode, tempo))
    info = soundfile.info(io.BytesIO(wav))
    assert info.samplerate == SAMPLE_RATE and info.channels == 1 and info.subtype == "PCM_16"
    assert info.duration == pytest.approx(seconds, abs=1 / SAMPLE_RATE)
    assert _dominant_pitch_class(wav) == key
    assert wav == jingle_wav(JingleSpec(key, mode, tempo))
    assert wav_checks(wav) == ("wav_format",)


def test_jingle_third_follows_the_mode() -> None:
    def energy_at(wav: bytes, hz: float) -> float:
        samples, rate = soundfile.read(io.BytesIO(wav))
        spectrum = np.abs(np.fft.rfft(samples))
        freqs = np.fft.rfftfreq(len(samples), 1 / rate)
        return float(spectrum[np.abs(freqs - hz) < 3].max())

    root = tonic_hz("A")
    minor, major = (
        jingle_wav(JingleSpec("A", "minor", 120)),
        jingle_wav(JingleSpec("A", "major", 120)),
    )
    minor_third, major_third = root * 2 ** (3 / 12), root * 2 ** (4 / 12)
    assert energy_at(minor, minor_third) > 5 * energy_at(minor, major_third)
    assert energy_at(major, major_third) > 5 * energy_at(major, minor_third)


def test_camelot_codes_name_their_keys() -> None:
    assert key_of_camelot("8A") == ("A", "minor")
    assert key_of_camelot("8B") == ("C", "major")
    assert key_of_camelot(None) == (None, None) and key_of_camelot("13C") == (None, None)
