"""Tempo on clips the extractor was not built on: `tempo_clips` (no sample-world code) and the
shared recordings. ``pytest -s`` prints the figures per tempo band; the assertion messages carry
them too."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
import soundfile as sf

from spotify_agent_assets.audio.decoding import load_audio
from spotify_agent_assets.audio.feature_names import Features
from spotify_agent_assets.audio.features import extract_features
from spotify_agent_assets_tests.audio.tempo_clips import (
    TEMPO_BANDS,
    ClipSpec,
    clip_specs,
    pulse_free_specs,
    render,
    tempo_change_specs,
)

SHARED_AUDIO = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "audio"
TOLERANCE = 0.04
# Issue 11's bar: within 4% on 90% of the clips and on 80% of every band.
OVERALL_BAR, BAND_BAR = 0.90, 0.80
# What the estimator measured when this test was written (55 of 64, every band 13/16 or
# better): a floor under the bar above (met since: 62 of 64, see docs/ARCHITECTURE.md).
OVERALL_FLOOR, BAND_FLOOR = 0.85, 0.80
FORMATS = ("wav", "flac", "ogg")
NO_TEMPO = ("no_pulse",)


def _within(found: float | None, truth: float) -> bool:
    return isinstance(found, float) and abs(found / truth - 1) <= TOLERANCE


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[ClipSpec, Features]]:
    """Every clip written in a rotating format and read back as the asset reads files."""
    folder = tmp_path_factory.mktemp("tempo_clips")
    results = {}
    specs = clip_specs() + tempo_change_specs() + pulse_free_specs()
    for index, spec in enumerate(specs):
        # Pulse-free clips lossless: `test_an_ogg_pad_reads_as_a_pulse` is the lossy case.
        fmt = FORMATS[index % (len(FORMATS) if spec.tempo_bpm is not None else 2)]
        path = folder / f"{spec.name}.{fmt}"
        sf.write(path, render(spec), spec.sample_rate)
        results[spec.name] = (spec, extract_features(*load_audio(path)))
    return results


def _band_figures(analysed: dict[str, tuple[ClipSpec, Features]]) -> tuple[dict, str]:
    per_band: dict[str, list[bool]] = defaultdict(list)
    misses = []
    for spec, features in analysed.values():
        if spec.tempo_bpm is None or spec.second_tempo_bpm is not None:
            continue
        right = _within(features["tempo_bpm"], spec.tempo_bpm)
        per_band[spec.band].append(right)
        if not right:
            misses.append(f"{spec.name}->{features['tempo_bpm'] or 0:.1f}")
    lines = [
        f"{band}: {sum(hits)}/{len(hits)} ({sum(hits) / len(hits):.0%})"
        for band, hits in sorted(per_band.items(), key=lambda item: float(item[0].split("-")[0]))
    ]
    every = [hit for hits in per_band.values() for hit in hits]
    lines.append(f"overall: {sum(every)}/{len(every)} ({sum(every) / len(every):.0%})")
    report = "tempo within 4% per band, " + "; ".join(lines) + "; misses " + ", ".join(misses)
    return per_band, report


@pytest.mark.slow
def test_the_independent_set_spans_60_to_200_bpm(analysed: dict) -> None:
    per_band, _ = _band_figures(analysed)
    assert sorted(per_band) == sorted(f"{low:.0f}-{high:.0f}" for low, high in TEMPO_BANDS)
    assert sum(len(hits) for hits in per_band.values()) >= 60
    assert all(len(hits) >= 15 for hits in per_band.values())


@pytest.mark.slow
def test_tempo_holds_at_least_its_measured_level_in_every_band(analysed: dict) -> None:
    per_band, report = _band_figures(analysed)
    print("\n" + report)
    every = [hit for hits in per_band.values() for hit in hits]
    assert sum(every) >= OVERALL_FLOOR * len(every), report
    assert all(sum(hits) >= BAND_FLOOR * len(hits) for hits in per_band.values()), report


@pytest.mark.slow
def test_tempo_meets_the_bar_of_issue_11(analysed: dict) -> None:
    per_band, report = _band_figures(analysed)
    every = [hit for hits in per_band.values() for hit in hits]
    assert sum(every) >= OVERALL_BAR * len(every), report
    assert all(sum(hits) >= BAND_BAR * len(hits) for hits in per_band.values()), report


@pytest.mark.slow
def test_a_tempo_change_reports_both_tempi(analysed: dict) -> None:
    changes = [(s, f) for s, f in analysed.values() if s.second_tempo_bpm is not None]
    report = ", ".join(
        f"{s.name}: {f['tempo_bpm'] or 0:.1f} then {f['tempo_second_bpm'] or 0:.1f}"
        for s, f in changes
    )
    print("\ntempo changes: " + report)
    assert len(changes) >= 3
    for spec, features in changes:
        assert _within(features["tempo_second_bpm"], spec.second_tempo_bpm), report
        assert _within(features["tempo_bpm"], spec.tempo_bpm), report
    steady = [f for s, f in analysed.values() if s.tempo_bpm and s.second_tempo_bpm is None]
    # A steady groove reports no second tempo (swing and fills are not a change).
    assert sum(f["tempo_second_bpm"] is not None for f in steady) <= 1


@pytest.mark.slow
def test_speech_and_noise_get_no_tempo_and_say_why(analysed: dict) -> None:
    pulse_free = [(s, f) for s, f in analysed.values() if s.tempo_bpm is None]
    report = ", ".join(
        f"{s.name}: {f['tempo_bpm']} {f['tempo_status']} ({f['tempo_confidence']:.2f})"
        for s, f in pulse_free
    )
    print("\nno pulse: " + report)
    for _, features in pulse_free:
        assert features["status"] == "ok", report
        assert features["tempo_bpm"] is None and features["tempo_status"] in NO_TEMPO, report
        assert isinstance(features["tempo_confidence"], float), report
    drummed = [f for s, f in analysed.values() if s.tempo_bpm is not None]
    assert all(f["tempo_bpm"] is not None for f in drummed)
    # The noises have no tonal centre either; the synthetic voices hold steady vowels, so
    # their key is not asserted.
    noises = [f for s, f in pulse_free if s.pattern in ("brown_noise", "band_noise", "wind")]
    assert all(f["key"] is None and f["key_status"] == "atonal" for f in noises), report


@pytest.mark.slow
def test_shared_recordings_speech_and_birdsong_get_no_tempo() -> None:
    if not SHARED_AUDIO.is_dir():
        pytest.skip(f"the shared recordings are not available at {SHARED_AUDIO}")
    found = {path.stem: extract_features(*load_audio(path)) for path in SHARED_AUDIO.glob("*.ogg")}
    report = "; ".join(
        f"{stem[:28]}: tempo {f['tempo_bpm'] and round(f['tempo_bpm'], 1)} {f['tempo_status']} "
        f"({f['tempo_confidence']:.2f}), key {f['key']} {f['mode']} {f['key_status']} "
        f"({f['key_confidence']:.2f})"
        for stem, f in sorted(found.items())
    )
    print("\nshared recordings: " + report)
    for stem in ("5703-47212-0000", "456440__inspectorj__bird-whistling-robin-single-13"):
        assert found[stem]["tempo_bpm"] is None, report
        assert found[stem]["tempo_status"] == "no_pulse", report
    assert found["Kevin_MacLeod_-_Vibe_Ace"]["tempo_status"] == "ok", report


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="known limitation: a pad without attacks encoded as Ogg Vorbis leaves codec "
    "residue in the percussive part that reads as a steady pulse (164 BPM, confidence 0.47); "
    "neither the percussive energy share nor its peak level separates it from kick-only or "
    "hats-only grooves over a loud bass and pad",
)
def test_an_ogg_pad_reads_as_no_pulse(tmp_path: Path) -> None:
    spec = next(s for s in pulse_free_specs() if s.pattern == "ambient_pad")
    path = tmp_path / "pad.ogg"
    sf.write(path, render(spec), spec.sample_rate)
    features = extract_features(*load_audio(path))
    assert (features["tempo_bpm"], features["tempo_status"]) == (None, "no_pulse")
