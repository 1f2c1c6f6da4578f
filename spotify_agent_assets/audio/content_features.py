"""What kind of sound a recording is: music, speech, other (animals, nature, noise) or silence.

Features for the content-type head (`classification`), computed by `content_features` from the
series `features` already has (the STFT magnitude, the mel power spectrogram, the log-mel flux
and the frame RMS), so they add no transform of the signal. Each describes *how the sound
behaves over time*, not its timbre, because the head learns from synthetic clips and must carry
over to recordings: a synthesizer's spectrum is not a violin's, but a violin holds its notes and
a voice does not.

All statistics are over *active* frames (frame RMS within `ACTIVE_RANGE_DB` of the loudest
5%); None when fewer than `MIN_ACTIVE_FRAMES` are active or the loudest 5% are under
`SILENT_BELOW_DB`. Rates are per second of active sound, so a recording that is digitally
silent between its sounds (synthesis, gated audio) counts only the seconds that sound.

- Harmonicity, from the autocorrelation of every other active frame (the inverse FFT of its
  power spectrum up to `HARMONIC_TOP_HZ`, tilted up by frequency so that pink noise turns white,
  divided by the Hann window's own autocorrelation as in Boersma's 1993 method): the highest
  normalised peak at a lag for 70-1000 Hz. ``harmonicity_mean`` (0 noise, 1 a steady periodic
  tone) and ``voiced_share`` (frames at `VOICED_HARMONICITY` or more). Stored, not used by the
  classifier: real speech (0.55) sits between the sample world's speech (0.78) and its noise.
- ``syllable_rate``: peaks of the loudness of the 300-3000 Hz mel bands (smoothed over 3 frames)
  that rise and fall by `SYLLABLE_DIP_DB`, per second of active sound: syllable nuclei of
  speech (about 3 a second for a reading), a caller's calls, a drummer's hits; near 0 for
  wind, rain and hum.
- ``high_pitch_share``: the share of active frames whose strongest peak between
  `PEAK_RANGE_HZ` is above `HIGH_PITCH_HZ` (birds call higher than voices and most instruments).
- Pitch over time, from the spectral peaks of blocks of `PITCH_BLOCK_FRAMES` active frames
  (about 0.2 s, one vibrato cycle: a sung or bowed note's vibrato smears into one peak centred on
  the note): up to `TUNING_PEAKS` peaks per block between `TUNING_RANGE_HZ`, within
  `TUNING_FLOOR_DB` of the block's strongest, at the parabolic maximum of the log magnitude.
  ``pitch_stability``: the magnitude-weighted share of them with a peak within `STABLE_CENTS`
  in the next block (held notes, vibrato or not; glides, speech intonation and noise move on).
  ``tuning_concentration``: how tightly they sit on one semitone grid, the length of the
  magnitude-weighted mean of ``exp(2 pi i cents / 100)`` (1: every peak on the same grid,
  whatever the reference tuning; near 0 for glides and noise). Music is played on a scale;
  speech, animals and machines are not.
- ``rhythm_regularity``: the highest autocorrelation of the mean-removed log-mel flux between
  lags of 0.25 and 1.5 s (a beat at 40-240 BPM) over its value at lag 0: drums and a steady
  accompaniment repeat, speech, barks and rain do not.
- Stationarity over `BLOCK_S` blocks of the log-mel spectrum (dB, floored 80 dB below the
  loudest band): ``spectral_change_db``, the median over consecutive blocks of the mean absolute
  change per band (wind, rain and hum barely change; music changes chords, speech phonemes),
  and ``level_variation_db``, the standard deviation of the blocks' loudness (speech and calls
  pause, weather does not).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from spotify_agent_assets.audio.tempo import autocorrelation

CONTENT_FEATURE_NAMES: tuple[str, ...] = (
    "harmonicity_mean",
    "voiced_share",
    "syllable_rate",
    "pitch_stability",
    "high_pitch_share",
    "tuning_concentration",
    "rhythm_regularity",
    "spectral_change_db",
    "level_variation_db",
)

ACTIVE_RANGE_DB = 40.0
SILENT_BELOW_DB = -100.0
MIN_ACTIVE_FRAMES = 8
HARMONIC_TOP_HZ = 4000.0
F0_RANGE_HZ = (70.0, 1000.0)
VOICED_HARMONICITY = 0.5
HARMONICITY_STRIDE = 2
SYLLABLE_BAND_HZ = (300.0, 3000.0)
SYLLABLE_DIP_DB = 6.0
PEAK_RANGE_HZ = (80.0, 8000.0)
HIGH_PITCH_HZ = 1500.0
PITCH_BLOCK_FRAMES = 9
STABLE_CENTS = 30.0
TUNING_RANGE_HZ = (150.0, 4000.0)
TUNING_PEAKS = 5
TUNING_FLOOR_DB = 30.0
BEAT_LAGS_S = (0.25, 1.5)
BLOCK_S = 0.5
BLOCK_FLOOR_DB = 80.0

ContentFeatures = dict[str, float | None]


def content_features(
    magnitude: np.ndarray,
    mel: np.ndarray,
    flux: np.ndarray,
    rms: np.ndarray,
    sr: int,
    n_fft: int,
    hop_length: int,
) -> ContentFeatures:
    """Every name of `CONTENT_FEATURE_NAMES` (see the module doc); None where undefined.

    ``magnitude`` is the STFT magnitude (``1 + n_fft // 2`` bins by frames), ``mel`` the mel
    power spectrogram, ``flux`` the log-mel onset strength and ``rms`` the frame RMS, all on the
    same frames of ``hop_length`` samples at ``sr`` Hz.
    """
    out: ContentFeatures = dict.fromkeys(CONTENT_FEATURE_NAMES)
    frames = min(magnitude.shape[1], len(rms))
    frame_db = 20 * np.log10(np.maximum(rms[:frames].astype(np.float64), 1e-6))
    loud = float(np.percentile(frame_db, 95))
    if loud <= SILENT_BELOW_DB:
        return out  # digital silence: nothing is active
    active = frame_db >= loud - ACTIVE_RANGE_DB
    if int(active.sum()) < MIN_ACTIVE_FRAMES:
        return out
    frame_rate = sr / hop_length
    # Nothing above PEAK_RANGE_HZ is read; slicing first halves the copy.
    top = min(magnitude.shape[0], int(PEAK_RANGE_HZ[1] * n_fft / sr) + 2)
    spectrum = magnitude[:top, :frames][:, active].astype(np.float32)
    active_seconds = float(active.sum()) / frame_rate

    # Every other frame: a mean and a share need no more, and this is the costliest step.
    harmonicity = _harmonicity(spectrum[:, ::HARMONICITY_STRIDE], sr, n_fft)
    voiced = harmonicity >= VOICED_HARMONICITY
    out["harmonicity_mean"] = float(harmonicity.mean())
    out["voiced_share"] = float(voiced.mean())
    out["syllable_rate"] = _syllable_rate(mel[:, :frames], sr) / active_seconds

    out["high_pitch_share"] = _high_pitch_share(spectrum, sr, n_fft)
    cents, magnitude = _block_peaks(spectrum, sr, n_fft)
    out["pitch_stability"] = _pitch_stability(cents, magnitude)
    out["tuning_concentration"] = _tuning_concentration(cents, magnitude)
    out["rhythm_regularity"] = _regularity(flux.astype(np.float64), frame_rate)
    out.update(_stationarity(mel, frame_rate))
    return {
        name: None if value is None or not math.isfinite(value) else float(value)
        for name, value in out.items()
    }


def _harmonicity(spectrum: np.ndarray, sr: int, n_fft: int) -> np.ndarray:
    """Per frame, the highest normalised autocorrelation at a lag within `F0_RANGE_HZ`."""
    bins = int(HARMONIC_TOP_HZ * n_fft / sr) + 1
    size = 2 * (bins - 1)  # the band-limited autocorrelation, at sr * size / n_fft Hz
    step = n_fft / size  # original samples per lag
    power = spectrum[:bins] ** 2
    # Tilted up by f (pink noise turns white): coloured noise (wind, rumble, room tone) is
    # strongly correlated at short lags and would otherwise read as periodic.
    frequency = np.maximum(np.arange(bins) * sr / n_fft, 50.0)
    power *= (frequency / 1000.0).astype(np.float32)[:, None]
    acf = np.fft.irfft(power, n=size, axis=0)
    window = _window_acf(n_fft, size)
    low = max(1, int(sr / F0_RANGE_HZ[1] / step))
    high = min(size // 2 - 1, math.ceil(sr / F0_RANGE_HZ[0] / step) + 1)
    zero = np.maximum(acf[0], 1e-20)
    normalised = acf[low : high + 1] / zero / window[low : high + 1, None]
    return np.clip(normalised.max(axis=0), 0.0, 1.0)


@functools.cache
def _window_acf(n_fft: int, size: int) -> np.ndarray:
    """The Hann window's autocorrelation at the band-limited lags, 1 at lag 0."""
    window = np.hanning(n_fft + 1)[:-1]  # periodic, as librosa's stft uses
    full = np.fft.irfft(np.abs(np.fft.rfft(window, 2 * n_fft)) ** 2)[:n_fft]
    lags = np.arange(size // 2 + 1) * (n_fft / size)
    return np.maximum(np.interp(lags, np.arange(n_fft), full) / full[0], 1e-3)


def _syllable_rate(mel: np.ndarray, sr: int) -> int:
    """Peaks of the speech band's loudness that rise `SYLLABLE_DIP_DB` above the dips around
    them: the syllable nuclei of speech, a caller's calls, a drummer's hits."""
    import librosa

    # The centres of the mel filters (librosa.filters.mel spaces n_mels + 2 edges).
    frequencies = librosa.mel_frequencies(n_mels=mel.shape[0] + 2, fmax=sr / 2)[1:-1]
    band = (frequencies >= SYLLABLE_BAND_HZ[0]) & (frequencies <= SYLLABLE_BAND_HZ[1])
    energy = mel[band].sum(axis=0, dtype=np.float64)
    level = 10 * np.log10(np.maximum(energy, 1e-12))
    # About 70 ms of smoothing: one syllable is 100-300 ms, a tremolo or a roughness is faster.
    level = np.convolve(level, np.ones(3) / 3, mode="same")
    peaks, low, high = 0, level[0], level[0]
    rising = True
    for value in level[1:]:
        if rising:
            if value > high:
                high = value
            elif high - value >= SYLLABLE_DIP_DB:
                if high - low >= SYLLABLE_DIP_DB:
                    peaks += 1
                rising, low = False, value
        elif value < low:
            low = value
        elif value - low >= SYLLABLE_DIP_DB:
            rising, high = True, value
    return peaks


def _peak_frequency(log: np.ndarray, bins: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Interpolated bin (fractional) of the peaks at ``bins`` of ``columns``, from log magnitudes."""
    left, centre, right = log[bins - 1, columns], log[bins, columns], log[bins + 1, columns]
    denominator = left - 2 * centre + right
    offset = np.where(denominator < 0, 0.5 * (left - right) / np.minimum(denominator, -1e-12), 0)
    return bins + np.clip(offset, -0.5, 0.5)


def _high_pitch_share(spectrum: np.ndarray, sr: int, n_fft: int) -> float:
    """The share of frames whose strongest peak within `PEAK_RANGE_HZ` is above `HIGH_PITCH_HZ`."""
    low = max(1, int(PEAK_RANGE_HZ[0] * n_fft / sr))
    high = min(spectrum.shape[0] - 2, int(PEAK_RANGE_HZ[1] * n_fft / sr))
    hz = (low + np.argmax(spectrum[low : high + 1], axis=0)) * sr / n_fft
    return float(np.mean(hz > HIGH_PITCH_HZ))


def _block_peaks(spectrum: np.ndarray, sr: int, n_fft: int) -> tuple[np.ndarray, np.ndarray]:
    """Cents (re A440) and magnitudes of the strongest peaks of each block's mean spectrum.

    Shapes (`TUNING_PEAKS`, blocks); NaN cents and 0 magnitude where a block has fewer peaks.
    Blocks are `PITCH_BLOCK_FRAMES` consecutive active frames: about one vibrato cycle, whose
    smeared peak is centred on the note.
    """
    block = PITCH_BLOCK_FRAMES
    blocks = spectrum.shape[1] // block
    if blocks == 0:
        return np.empty((TUNING_PEAKS, 0)), np.empty((TUNING_PEAKS, 0))
    means = spectrum[:, : blocks * block].reshape(spectrum.shape[0], blocks, block).mean(axis=2)
    low = max(1, int(TUNING_RANGE_HZ[0] * n_fft / sr))
    high = min(means.shape[0] - 2, int(TUNING_RANGE_HZ[1] * n_fft / sr))
    band = means[low - 1 : high + 2]
    centre = band[1:-1]
    is_peak = (centre > band[:-2]) & (centre >= band[2:])
    is_peak &= centre > centre.max(axis=0, keepdims=True) * 10 ** (-TUNING_FLOOR_DB / 20)
    strength = np.where(is_peak, centre, 0.0)
    count = min(TUNING_PEAKS, strength.shape[0])
    top = np.argpartition(strength, -count, axis=0)[-count:]
    magnitude = np.take_along_axis(strength, top, axis=0).astype(np.float64)
    columns = np.broadcast_to(np.arange(blocks), top.shape)
    fractional = _peak_frequency(np.log(np.maximum(means, 1e-10)), top + low, columns)
    cents = 1200 * np.log2(np.maximum(fractional, 1e-3) * sr / n_fft / 440.0)
    return np.where(magnitude > 0, cents, np.nan), magnitude


def _pitch_stability(cents: np.ndarray, magnitude: np.ndarray) -> float | None:
    """Magnitude-weighted share of block peaks with a peak within `STABLE_CENTS` next block."""
    if cents.shape[1] < 2:
        return None
    here, following = cents[:, :-1], cents[:, 1:]
    distance = np.abs(here[:, None, :] - following[None, :, :])
    nearest = np.nanmin(np.where(np.isnan(distance), np.inf, distance), axis=1)
    weight = magnitude[:, :-1]
    if weight.sum() <= 0:
        return None
    return float(np.sum(weight * (nearest < STABLE_CENTS)) / weight.sum())


def _tuning_concentration(cents: np.ndarray, magnitude: np.ndarray) -> float | None:
    keep = magnitude > 0
    if not keep.any():
        return None
    phase = np.exp(2j * np.pi * cents[keep] / 100)
    weight = magnitude[keep]
    return float(abs(np.sum(weight * phase)) / weight.sum())


def _regularity(flux: np.ndarray, frame_rate: float) -> float | None:
    n = len(flux)
    low, high = int(BEAT_LAGS_S[0] * frame_rate), math.ceil(BEAT_LAGS_S[1] * frame_rate)
    if high >= n:
        return None
    correlation = autocorrelation(flux)
    if correlation[0] <= 0:
        return None  # flat flux
    # Unbiased: a lag has n - lag products; without this, long lags always look weaker.
    scaled = correlation[low : high + 1] * n / (n - np.arange(low, high + 1))
    return float(np.clip(scaled.max(), 0.0, 1.0))


def _stationarity(mel: np.ndarray, frame_rate: float) -> ContentFeatures:
    block = max(1, round(BLOCK_S * frame_rate))
    blocks = mel.shape[1] // block
    if blocks < 3:
        return {"spectral_change_db": None, "level_variation_db": None}
    power = mel[:, : blocks * block].astype(np.float64)
    means = power.reshape(mel.shape[0], blocks, block).mean(axis=2)
    db = 10 * np.log10(np.maximum(means, 1e-20))
    db = np.maximum(db, db.max() - BLOCK_FLOOR_DB)
    change = np.abs(np.diff(db, axis=1)).mean(axis=0)
    level = 10 * np.log10(np.maximum(means.sum(axis=0), 1e-20))
    level = np.maximum(level, level.max() - BLOCK_FLOOR_DB)
    return {
        "spectral_change_db": float(np.median(change)),
        "level_variation_db": float(level.std()),
    }
