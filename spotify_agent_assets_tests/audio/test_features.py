"""The feature extractor on signals with a known answer, on the shared recordings, at the edges."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from spotify_agent_assets.audio.decoding import SAMPLE_RATE, AudioDecodeError, load_audio
from spotify_agent_assets.audio.feature_names import DESCRIPTORS, FEATURE_NAMES, PITCH_CLASSES
from spotify_agent_assets.audio.features import extract_features, naive_features
from spotify_agent_assets.audio.intermediates import _hpss

SR = SAMPLE_RATE
SHARED_AUDIO = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "audio"
SPEECH = "5703-47212-0000"
TEMPO_TOLERANCE = 0.04
# naive_features repeats every librosa call from the samples; the shared path must give the
# same numbers up to float32 rounding (in practice they are identical).
NAIVE_RTOL, NAIVE_ATOL = 1e-5, 1e-6


def click_track(bpm: float, seconds: float = 12.0) -> np.ndarray:
    """A 1 kHz click on every beat (accented downbeats), nothing between beats."""
    n = int(seconds * SR)
    y = np.zeros(n, dtype=np.float32)
    index = np.arange(256)
    click = (np.sin(2 * np.pi * 1000 * index / SR) * np.exp(-index / 40)).astype(np.float32)
    period = 60 * SR / bpm
    beat = 0
    while (start := round(beat * period)) + len(click) < n:
        y[start : start + len(click)] += click * (1.0 if beat % 4 == 0 else 0.6)
        beat += 1
    return 0.5 * y


def harmonic_tone(midi: int, n: int) -> np.ndarray:
    t = np.arange(n) / SR
    freq = 440.0 * 2 ** ((midi - 69) / 12)
    return sum(a * np.sin(2 * np.pi * freq * h * t) for h, a in enumerate((1, 0.5, 0.25), 1))


def triad_progression(tonic: int, mode: str, seconds: float = 8.0) -> np.ndarray:
    """I-IV-V-I in major, i-iv-V-i in minor (harmonic minor's major V), with a bass root."""
    third = 4 if mode == "major" else 3
    chords = [(0, third), (5, third), (7, 4), (0, third)]
    n = int(seconds * SR / len(chords))
    ramp = np.minimum(1.0, np.minimum(np.arange(n), n - np.arange(n)) / 400)
    parts = []
    for root, chord_third in chords:
        pc = (tonic + root) % 12
        notes = (60 + pc, 60 + pc + chord_third, 60 + pc + 7, 48 + pc)
        parts.append(sum(harmonic_tone(note, n) for note in notes) * ramp)
    y = np.concatenate(parts)
    return (0.2 * y / np.abs(y).max()).astype(np.float32)


def white_noise(seconds: float = 8.0, level: float = 0.1) -> np.ndarray:
    return (level * np.random.default_rng(3).standard_normal(int(seconds * SR))).astype(np.float32)


def assert_well_formed(features: dict[str, object]) -> None:
    assert list(features) == list(FEATURE_NAMES)
    for name, value in features.items():
        assert value is None or isinstance(value, float | str), (name, value)
        if isinstance(value, float):
            assert math.isfinite(value), name
    for name in DESCRIPTORS:
        value = features[name]
        assert value is None or 0.0 <= value <= 1.0, (name, value)


@pytest.mark.parametrize("bpm", [72, 96, 120, 140, 174])
def test_click_track_tempo(bpm: float) -> None:
    features = extract_features(click_track(bpm), SR)
    assert_well_formed(features)
    assert features["status"] == "ok"
    assert abs(features["tempo_bpm"] / bpm - 1) <= TEMPO_TOLERANCE, features["tempo_bpm"]
    # Every attack is on a beat and the pulse is regular.
    assert features["beat_strength"] > 0.9
    assert features["pulse_clarity"] > 0.6


@pytest.mark.parametrize("bpm", [180, 200])
def test_fast_click_track_is_not_halved(bpm: float) -> None:
    # No prior around 120 BPM: a click on every beat and nothing between is that tempo.
    features = extract_features(click_track(bpm), SR)
    assert abs(features["tempo_bpm"] / bpm - 1) <= TEMPO_TOLERANCE, features["tempo_bpm"]
    assert features["tempo_status"] == "ok" and features["tempo_second_bpm"] is None
    assert 0.45 <= features["tempo_confidence"] <= 1.0


@pytest.mark.parametrize(
    ("tonic", "mode"),
    [("C", "major"), ("A", "minor"), ("F#", "major"), ("D#", "minor"), ("G", "major")],
)
def test_key_and_mode_of_a_triad_progression(tonic: str, mode: str) -> None:
    features = extract_features(triad_progression(PITCH_CLASSES.index(tonic), mode), SR)
    assert_well_formed(features)
    assert (features["key"], features["mode"]) == (tonic, mode)
    assert features["key_confidence"] > 0.6
    # Sustained chords: mostly harmonic, and no speech cues.
    assert features["harmonic_ratio"] > 0.8
    assert features["speechiness"] < 0.33


def test_white_noise() -> None:
    features = extract_features(white_noise(), SR)
    assert_well_formed(features)
    tonal = extract_features(triad_progression(0, "major"), SR)
    assert features["spectral_flatness_mean"] > 0.3 > tonal["spectral_flatness_mean"]
    assert features["key_confidence"] < 0.5 < tonal["key_confidence"]
    assert features["harmonic_ratio"] < tonal["harmonic_ratio"]
    assert features["speechiness"] < 0.1  # broadband noise is not speech
    # No tonal centre and no pulse: no key and no tempo, with the reason and the confidence.
    assert (features["key"], features["mode"], features["key_status"]) == (None, None, "atonal")
    assert (features["tempo_bpm"], features["tempo_status"]) == (None, "no_pulse")
    assert isinstance(features["key_confidence"], float)
    assert isinstance(features["tempo_confidence"], float)
    assert abs(features["loudness_db"] - 20 * math.log10(0.1)) < 0.1


def test_loudness_is_integrated_rms_in_dbfs() -> None:
    t = np.arange(4 * SR) / SR
    sine = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    expected = 20 * math.log10(0.5 / math.sqrt(2))
    assert extract_features(sine, SR)["loudness_db"] == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize("level", [0.0, 1e-5])
def test_silence_is_flagged_without_nan(level: float) -> None:
    features = extract_features(white_noise(5.0, level), SR)
    assert_well_formed(features)
    assert features["status"] == "silent"
    assert features["duration_s"] == pytest.approx(5.0)
    for name in ("tempo_bpm", "key", "mode", "beat_strength", *DESCRIPTORS):
        assert features[name] is None, name
    assert features["tempo_status"] == features["key_status"] == "silent"
    if level == 0.0:
        assert features["loudness_db"] == -120.0


@pytest.mark.parametrize("n", [0, 1, 100, 2048, int(0.5 * SR)])
def test_very_short_input_is_flagged(n: int) -> None:
    y = (0.3 * np.sin(np.arange(n) * 0.2)).astype(np.float32)
    features = extract_features(y, SR)
    assert_well_formed(features)
    assert features["status"] == "too_short"
    assert features["tempo_bpm"] is None and features["key"] is None
    assert features["tempo_status"] == features["key_status"] == "too_short"
    assert features["duration_s"] == pytest.approx(n / SR)


@pytest.mark.parametrize(
    ("y", "sr", "problem"),
    [
        (np.zeros((2, 100), dtype=np.float32), SR, "mono 1-D"),
        (np.array([0.0, np.nan, 0.0], dtype=np.float32), SR, "NaN"),
        (np.zeros(100, dtype=np.int16), SR, "float samples"),
        (np.zeros(100, dtype=np.float32), 0, "positive integer"),
    ],
)
def test_invalid_input_is_refused_with_the_reason(y: np.ndarray, sr: int, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        extract_features(y, sr)


def test_other_sample_rates_are_resampled() -> None:
    y = triad_progression(7, "minor")
    t = np.arange(len(y) * 2) / (2 * SR)
    # The same progression rendered at 44.1 kHz via interpolation is close enough for the key.
    y44 = np.interp(t, np.arange(len(y)) / SR, y).astype(np.float32)
    features = extract_features(y44, 2 * SR)
    assert features["duration_s"] == pytest.approx(len(y) / SR, abs=1e-3)
    assert (features["key"], features["mode"]) == ("G", "minor")


def test_hpss_matches_librosa_exactly() -> None:
    import librosa

    rng = np.random.default_rng(0)
    for frames in (5, 40, 300):
        mel = rng.random((128, frames), dtype=np.float32) ** 4
        for ours, theirs in zip(
            _hpss(mel), librosa.decompose.hpss(mel, kernel_size=31), strict=True
        ):
            np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize(
    ("name", "rate", "channels"), [("stereo.flac", 44_100, 2), ("mono.mp3", SR, 1)]
)
def test_load_audio_matches_librosa_load(
    tmp_path: Path, name: str, rate: int, channels: int
) -> None:
    import librosa

    t = np.arange(rate * 2) / rate
    y = 0.4 * np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)], axis=1)
    path = tmp_path / name
    sf.write(path, y[:, :channels], rate)
    samples, sr = load_audio(path)
    expected, _ = librosa.load(path, sr=SR)
    assert sr == SR and samples.dtype == np.float32
    np.testing.assert_array_equal(samples, expected)
    with path.open("rb") as handle:  # a file object reads the same
        np.testing.assert_array_equal(load_audio(handle)[0], expected)


def test_load_audio_names_the_file_it_cannot_read(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF this is not a wave file")
    with pytest.raises(AudioDecodeError, match=r"corrupt\.wav"):
        load_audio(corrupt)
    with pytest.raises(FileNotFoundError, match=r"missing\.ogg"):
        load_audio(tmp_path / "missing.ogg")


def shared_recordings() -> list[Path]:
    if not SHARED_AUDIO.is_dir():
        pytest.skip(f"the shared recordings are not available at {SHARED_AUDIO}")
    return sorted(SHARED_AUDIO.glob("*.ogg"))


@pytest.mark.slow
def test_every_shared_recording_is_analysed_and_speech_is_the_speechiest() -> None:
    recordings = shared_recordings()
    assert len(recordings) == 5
    features = {path.stem: extract_features(*load_audio(path)) for path in recordings}
    for stem, values in features.items():
        assert_well_formed(values)
        assert values["status"] == "ok", stem
    # A reading and a robin's call have no steady pulse; the music keeps a key.
    robin = "456440__inspectorj__bird-whistling-robin-single-13"
    for stem in (SPEECH, robin):
        assert (features[stem]["tempo_bpm"], features[stem]["tempo_status"]) == (None, "no_pulse")
    assert features[SPEECH]["key_status"] == "atonal"
    for stem in features:
        if stem.startswith(("Kevin", "Hungarian", "sorohanro")):
            assert features[stem]["key"] is not None, stem
    speechiness = {stem: values["speechiness"] for stem, values in features.items()}
    assert max(speechiness, key=speechiness.get) == SPEECH, speechiness
    assert speechiness[SPEECH] > 0.66  # Spotify's "probably only spoken words" band
    music = [stem for stem in features if stem.startswith(("Kevin", "Hungarian"))]
    assert all(speechiness[stem] < 0.5 for stem in music), speechiness


@pytest.mark.parametrize("stem", ["sorohanro_-_solo-trumpet-06", SPEECH])
def test_naive_features_agree_with_the_shared_path(stem: str) -> None:
    path = SHARED_AUDIO / f"{stem}.ogg"
    if not path.is_file():
        pytest.skip(f"the shared recording {path} is not available")
    ours = extract_features(*load_audio(path))
    naive = naive_features(path)
    assert list(naive) == list(ours)
    for name, value in ours.items():
        if isinstance(value, float):
            assert naive[name] == pytest.approx(value, rel=NAIVE_RTOL, abs=NAIVE_ATOL), name
        else:
            assert naive[name] == value, name


@pytest.mark.slow
def test_sample_world_clips_tempo_key_and_speech() -> None:
    """Every 6th sample-world clip: tempo within 4% (octave errors counted apart) and key on
    the instrumental music, speechiness of plain speech above it."""
    from spotify_agent_assets.sample_world.audio import audio_ground_truth, render_clip
    from spotify_agent_assets.sample_world.world import SampleWorld

    world = SampleWorld(seed=7)
    truths = audio_ground_truth(world)[::6]
    tempo_ok = octave = key_ok = music = 0
    speech, not_speech = [], []
    for truth in truths:
        features = extract_features(render_clip(truth, world.seed), truth.sample_rate)
        assert_well_formed(features)
        if truth.character == "near_silent":
            assert features["status"] == "silent"
            continue
        if truth.character == "speech_like":
            speech.append(features["speechiness"])
        if truth.character not in ("percussive", "tonal"):
            continue  # drums alone, a cappella, speech over music, animals, weather
        not_speech.append(features["speechiness"])
        music += 1
        ratio = features["tempo_bpm"] / truth.tempo_bpm
        tempo_ok += abs(ratio - 1) <= TEMPO_TOLERANCE
        octave += any(abs(ratio * factor - 1) <= TEMPO_TOLERANCE for factor in (2, 0.5))
        key_ok += (features["key"], features["mode"]) == (truth.key, truth.mode)
    assert music >= 55 and speech
    assert tempo_ok >= 0.9 * music, (tempo_ok, octave, music)
    assert tempo_ok + octave == music
    assert key_ok >= 0.8 * music, (key_ok, music)
    assert min(speech) > max(not_speech)
