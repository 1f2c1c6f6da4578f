"""Content features on signals whose answer is known: notes, a glide, noise, a beat, silence."""

from __future__ import annotations

import numpy as np
import pytest

from spotify_agent_assets.audio.content_features import CONTENT_FEATURE_NAMES, content_features

SR, N_FFT, HOP = 22_050, 2048, 512


def features_of(y: np.ndarray) -> dict[str, float | None]:
    import librosa

    y = y.astype(np.float32)
    magnitude = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP))
    mel = librosa.feature.melspectrogram(S=magnitude**2, sr=SR)
    flux = librosa.onset.onset_strength(S=librosa.power_to_db(mel), sr=SR)
    rms = librosa.feature.rms(S=magnitude, frame_length=N_FFT)[0]
    return content_features(magnitude, mel, flux, rms, SR, N_FFT, HOP)


def tone(hz: np.ndarray, harmonics: int = 4) -> np.ndarray:
    phase = 2 * np.pi * np.cumsum(hz) / SR
    return sum(np.sin(h * phase) / h for h in range(1, harmonics + 1))


def notes(midi: list[int], seconds: float = 0.5) -> np.ndarray:
    n = int(seconds * SR)
    return np.concatenate([tone(np.full(n, 440 * 2 ** ((m - 69) / 12))) for m in midi])


def test_every_name_is_returned_and_silence_gives_none() -> None:
    found = features_of(np.zeros(5 * SR))
    assert list(found) == list(CONTENT_FEATURE_NAMES)
    assert set(found.values()) == {None}


def test_a_melody_on_a_scale_is_tuned_and_stable_a_glide_and_noise_are_not() -> None:
    # A few cents off A440: the grid is the melody's own, not the reference's.
    melody = 0.3 * notes([60, 62, 64, 65, 67, 69, 71, 72] * 2) * 2 ** (17 / 1200)
    t = np.arange(8 * SR) / SR
    glide = 0.3 * tone(200 * 2 ** (2 * np.sin(2 * np.pi * 0.2 * t)))
    noise = 0.1 * np.random.default_rng(0).standard_normal(8 * SR)
    on_scale, gliding, noisy = (features_of(y) for y in (melody, glide, noise))
    assert on_scale["tuning_concentration"] > 0.8
    assert on_scale["pitch_stability"] > 0.6  # each note change breaks one 0.2 s block
    assert on_scale["harmonicity_mean"] > 0.8 and on_scale["voiced_share"] > 0.9
    assert gliding["tuning_concentration"] < 0.4
    assert gliding["pitch_stability"] < on_scale["pitch_stability"] - 0.3
    assert noisy["tuning_concentration"] < 0.3 and noisy["pitch_stability"] < 0.3
    assert noisy["harmonicity_mean"] < 0.3 and noisy["voiced_share"] < 0.05
    # Steady noise barely changes between blocks; notes do.
    assert noisy["spectral_change_db"] < on_scale["spectral_change_db"]


def test_a_steady_beat_is_regular_and_syllables_are_counted() -> None:
    n = 8 * SR
    clicks = np.zeros(n)
    clicks[:: SR // 2] = 1.0  # 120 BPM
    burst = np.random.default_rng(1).standard_normal(int(0.03 * SR)) * np.hanning(int(0.03 * SR))
    # A room's noise floor 50 dB down keeps the whole clip active: rates are per active second.
    floor = 10 ** (-50 / 20) * np.random.default_rng(3).standard_normal(n)
    beat = np.convolve(clicks, burst)[:n]
    found = features_of(0.5 * beat + floor)
    assert found["rhythm_regularity"] > 0.8
    assert found["syllable_rate"] == pytest.approx(2.0, abs=0.3)
    irregular = np.zeros(n)
    irregular[np.random.default_rng(2).integers(0, n, 16)] = 1.0
    assert features_of(0.5 * np.convolve(irregular, burst)[:n])["rhythm_regularity"] < 0.5


def test_a_high_whistle_is_high_pitched() -> None:
    t = np.arange(4 * SR) / SR
    whistle = 0.3 * np.sin(2 * np.pi * (3000 * t + 200 * np.sin(2 * np.pi * 6 * t) / 6))
    assert features_of(whistle)["high_pitch_share"] > 0.9
    assert features_of(0.3 * notes([48, 52, 55] * 3))["high_pitch_share"] < 0.1
