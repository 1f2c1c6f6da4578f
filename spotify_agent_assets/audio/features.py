"""Audio features of one recording, computed with librosa from shared intermediates.

`extract_features(y, sr)` returns one flat dict: every name of `FEATURE_NAMES`, always, with
``float``, ``str`` or ``None`` values, never NaN. Audio is analysed at `SAMPLE_RATE` mono;
`load_audio` decodes with soundfile and resamples with soxr, giving exactly the samples of
``librosa.load``. `EXTRACTOR_VERSION` names the definitions below: change it whenever a value
could change, and every file is analysed again.

Shared intermediates, computed once per file (`naive_features` recomputes them per feature, as a
plain script would): one STFT magnitude ``S`` (n_fft 2048, hop 512, Hann, centred); one
128-band mel power spectrogram ``M`` from it (MFCC, flux, onsets, modulation); one
harmonic/percussive separation of ``M`` (librosa's median-filter HPSS, kernel 31, on the mel
bands rather than the 1025 linear bins: its two uses, the energy balance and a drum-led onset
envelope, do not need linear resolution; `_hpss` gives librosa's exact values 10x faster); one
percussive onset envelope (tempo, beats, pulse) and one raw chromagram (key and chroma).

Features (``_mean`` / ``_std`` over frames):

- ``status``: ``"ok"``, ``"silent"`` (the loudest 5% of frames under `SILENCE_DBFS`) or
  ``"too_short"`` (under `MIN_DURATION_S`). Tempo, beats, onsets, key, modulation and the six
  descriptors are ``None`` unless ``"ok"`` (``tempo_status`` and ``key_status`` then repeat
  the status); frame statistics are still computed (input shorter than one FFT frame is
  zero-padded), except for empty input.
- ``loudness_db``: integrated RMS, ``10 log10(mean(y^2))`` dBFS (full-scale square 0, sine
  -3.01), floored at -120. ``dynamic_range_db``: 95th minus 10th percentile of frame RMS in dB.
- ``tempo_bpm``, ``tempo_confidence``, ``tempo_second_bpm``, ``tempo_status``: `audio.tempo` on
  the *percussive* part (sustained chords and pads go to the harmonic part). No prior around 120
  BPM: the metrical level is read from the drums (the finest steady pulse of the envelope's
  autocorrelation, tracked with ``librosa.beat.beat_track`` and grouped in twos or threes while
  the off positions hold only subdivisions; a snare-against-kick backbeat marks the beat), and the
  tempo is the mean interval of the beats tracked at that level (sub-frame, not quantised to 23 ms
  lags). ``tempo_confidence`` in [0, 1] is always set when the status is ok; ``tempo_status`` is
  ``"ok"``, ``"low_confidence"`` (reported, flagged) or ``"no_pulse"`` (``tempo_bpm`` None:
  speech, noise, a pad without attacks; the beat descriptors below are None too). When the first
  and second halves of a clip of 16 s or more hold different steady tempi, ``tempo_bpm`` is the
  first and ``tempo_second_bpm`` the second (None otherwise). ``beat_strength`` in [0, 1]:
  ``(b - o) / (b + o)``, ``b`` the mean percussive onset strength at the beats (max within +-1
  frame), ``o`` its mean 3+ frames from any beat: 0 when beats are no stronger than the rest, 1
  when every attack is on a beat. ``pulse_clarity`` in [0, 1]: autocorrelation of the
  mean-removed percussive envelope at the beat period (best lag within +-4%) over lag 0.
  ``onset_rate``: ``librosa.onset.onset_detect`` onsets per second.
- ``key``, ``mode``, ``key_confidence``, ``key_status``: Temperley's (Kostka-Payne) major and
  minor key profiles, rotated to the 12 tonics, correlated (Pearson) with the energy-weighted mean
  chroma (``chroma_stft`` of the power spectrogram, ``norm=None``, A440); the best of 24 gives
  tonic and mode, its correlation (floored at 0) the confidence. Under `ATONAL_BELOW` (0.35) key
  and mode are None and ``key_status`` is ``"atonal"`` (noise, drums alone, a speaking voice: the
  keyed music of the sample world scores 0.6 or more); otherwise ``"ok"``. Broadband noise and
  drums add about the same energy to every pitch class, which a correlation ignores. Measured on
  the 449 music clips of the seed-7 sample world: ``chroma_stft`` with these profiles 100% right,
  Krumhansl-Kessler profiles 89% (major keys read as their mediant's minor); ``chroma_cqt`` is no
  better (100% with either profile) and costs about 150 ms more per 30 s, as much as the whole
  rest of the extraction, so it is not used.
- ``spectral_centroid`` / ``bandwidth`` / ``rolloff`` (85%) in Hz, ``spectral_flatness``,
  ``spectral_contrast_01..07`` (dB; librosa's 6 octave bands from 200 Hz and the top band),
  ``spectral_flux`` (librosa's onset strength of the log-mel), ``zero_crossing_rate``,
  ``mfcc_01..13`` (DCT of the log-mel), ``chroma_<pc>`` (per-frame max-normalised chroma; pitch
  classes ``C Cs D Ds E F Fs G Gs A As B``, ``s`` for sharp).
- ``harmonic_ratio``: the harmonic part's share of the mel energy (0: drums or noise only, 1:
  sustained tones only). Over *active* frames (within 40 dB of the loudest 5%):
  ``zcr_active_cv``, the coefficient of variation of the zero-crossing rate (voiced / unvoiced
  alternation), and ``spectral_flatness_active``, the median flatness (noisiness; digital
  silence between phrases would read as perfectly flat). ``modulation_4hz``: syllabic-rate
  modulation depth, the energy of the 3-6 Hz band-pass (Butterworth order 2, zero phase) of the
  amplitude envelopes of 16 mel band groups over their total energy.

Spotify-style descriptors, from the features above only (`descriptors`), ``c(x)`` clipping to
[0, 1]:

- ``energy = c(0.45 L + 0.25 O + 0.15 F + 0.15 P)``: loudness ``L = c((loudness_db + 40) / 34)``,
  onsets ``O = c(onset_rate / 6)``, noisiness
  ``F = c((log10(spectral_flatness_active) + 5) / 4)``, percussion
  ``P = c((1 - harmonic_ratio) / 0.5)``.
- ``danceability = c(0.4 pulse_clarity + 0.3 beat_strength + 0.3 T)``, tempo fit
  ``T = exp(-0.5 (log2(tempo_bpm / 118) / 0.4)^2)``.
- ``acousticness = c(0.4 c((harmonic_ratio - 0.5) / 0.45) + 0.3 (1 - c(centroid / 4000))
  + 0.3 c(dynamic_range_db / 30))`` (``centroid`` = ``spectral_centroid_mean``, Hz).
- ``speechiness = (1 - c(spectral_flatness_active / 0.2)) V`` (white noise is not speech), with
  the voice score ``V = c(0.15 I + 0.15 A + 0.35 Z + 0.2 Y + 0.15 (1 - c(pulse_clarity / 0.5)))``:
  inharmonicity ``I = c((0.9 - harmonic_ratio) / 0.4)``, atonality
  ``A = c(1 - key_confidence / 0.8)``, alternation ``Z = c(zcr_active_cv)``, syllabic modulation
  ``Y = c((modulation_4hz - 0.04) / 0.06)`` and the absence of a steady pulse.
- ``instrumentalness = c((0.75 - V) / 0.5)``: 1 below a voice score of 0.25, 0 above 0.75.
- ``valence = c(0.35 (0.5 + 0.5 s key_confidence) + 0.25 c((tempo_bpm - 60) / 120)
  + 0.2 c(centroid / 3000) + 0.2 energy)``, ``s`` = +1 major, -1 minor.

The weights are set by hand, not trained: on the seed-7 sample world speechiness is 0.68-0.90
for every speech-like clip and at most 0.46 for music; on ``../shared/data/audio`` the LibriSpeech
reading scores 0.82, a robin's call 0.53 and the music 0.28-0.46.

Content features (`content_features.CONTENT_FEATURE_NAMES`, status ``ok`` only): harmonicity,
syllable rate, pitch stability, high-pitch share, tuning concentration, rhythm regularity and
stationarity, from ``S``, the mel spectrogram, the flux and the frame RMS; definitions in
`spotify_agent_assets.audio.content_features`.
"""

from __future__ import annotations

import math
import os
from os import PathLike
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from spotify_agent_assets.audio.content_features import CONTENT_FEATURE_NAMES, content_features
from spotify_agent_assets.audio.tempo import TempoEstimate, autocorrelation, estimate_tempo

if TYPE_CHECKING:
    from collections.abc import Callable

EXTRACTOR_VERSION = "4"

SAMPLE_RATE = 22_050
N_FFT = 2048
HOP_LENGTH = 512
N_MELS = 128
N_MFCC = 13
HPSS_KERNEL = 31
MIN_DURATION_S = 1.0
SILENCE_DBFS = -50.0
LOUDNESS_FLOOR_DB = -120.0
ACTIVE_RANGE_DB = 40.0
MODULATION_BAND_HZ = (3.0, 6.0)
MODULATION_GROUPS = 16
PULSE_LAG_TOLERANCE = 0.04
ATONAL_BELOW = 0.35

PITCH_CLASSES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_COLUMN_PITCH = tuple(name.replace("#", "s") for name in PITCH_CLASSES)
# Temperley's (2001, Kostka-Payne corpus) key profiles, tonic first.
MAJOR_PROFILE = (0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400)
MINOR_PROFILE = (0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330)

FeatureValue = float | str | None
Features = dict[str, FeatureValue]

_STAT_SERIES = (
    ["spectral_centroid", "spectral_bandwidth", "spectral_rolloff", "spectral_flatness"]
    + [f"spectral_contrast_{band:02d}" for band in range(1, 8)]
    + ["spectral_flux", "zero_crossing_rate"]
    + [f"mfcc_{index:02d}" for index in range(1, N_MFCC + 1)]
    + [f"chroma_{name}" for name in _COLUMN_PITCH]
)
DESCRIPTORS = (
    "energy",
    "danceability",
    "acousticness",
    "speechiness",
    "instrumentalness",
    "valence",
)
FEATURE_NAMES: tuple[str, ...] = (
    "extractor_version",
    "status",
    "duration_s",
    "loudness_db",
    "dynamic_range_db",
    "tempo_bpm",
    "tempo_confidence",
    "tempo_second_bpm",
    "tempo_status",
    "beat_strength",
    "pulse_clarity",
    "onset_rate",
    "key",
    "mode",
    "key_confidence",
    "key_status",
    "harmonic_ratio",
    "zcr_active_cv",
    "spectral_flatness_active",
    "modulation_4hz",
    *(f"{series}_{stat}" for series in _STAT_SERIES for stat in ("mean", "std")),
    *DESCRIPTORS,
    *CONTENT_FEATURE_NAMES,
)


class AudioDecodeError(ValueError):
    """A file libsndfile cannot open or decode (not audio, an unknown format, damaged)."""


def load_audio(source: str | PathLike[str] | BinaryIO) -> tuple[np.ndarray, int]:
    """Decode a file to float32 mono at `SAMPLE_RATE`: channel mean, then soxr (``soxr_hq``).

    The same samples as ``librosa.load(source, sr=SAMPLE_RATE)``; formats are libsndfile's
    (WAV, FLAC, Ogg Vorbis/Opus, MP3, AIFF, ...).
    """
    return analysis_signal(*decode_audio(source)), SAMPLE_RATE


def decode_audio(source: str | PathLike[str] | BinaryIO) -> tuple[np.ndarray, int]:
    """Every frame of a file as float32 ``(frames, channels)`` at its own rate, and the rate.

    Raises `AudioDecodeError` naming the file when libsndfile cannot decode it.
    """
    import soundfile as sf

    if isinstance(source, str | PathLike) and not os.path.isfile(source):
        raise FileNotFoundError(f"{source}: no such audio file")
    try:
        # One read to the end, as librosa.load does: libsndfile's MP3 decoder gives samples
        # 1 ulp apart when sf.read asks for the header's exact frame count instead.
        with sf.SoundFile(source) as audio:
            data = audio.read(frames=-1, dtype="float32", always_2d=True)
            sr = audio.samplerate
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioDecodeError(
            f"{_describe(source)}: not audio libsndfile can decode "
            f"(WAV, FLAC, Ogg Vorbis/Opus, MP3, AIFF expected): {exc}"
        ) from exc
    return data, int(sr)


def analysis_signal(data: np.ndarray, sr: int) -> np.ndarray:
    """`decode_audio`'s frames as the signal the features read: channel mean at `SAMPLE_RATE`."""
    y = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    return _resample(np.ascontiguousarray(y, dtype=np.float32), int(sr))


def _describe(source: object) -> str:
    name = getattr(source, "name", source)
    return str(name) if isinstance(name, str | PathLike) else repr(source)


def _resample(y: np.ndarray, sr: int) -> np.ndarray:
    if sr == SAMPLE_RATE:
        return y
    import soxr

    size = math.ceil(len(y) * SAMPLE_RATE / sr)
    resampled = soxr.resample(y, sr, SAMPLE_RATE, quality="soxr_hq")
    # librosa.resample's fix_length: exactly ceil(n * ratio) samples.
    if len(resampled) >= size:
        return np.asarray(resampled[:size], dtype=np.float32)
    return np.pad(resampled, (0, size - len(resampled))).astype(np.float32)


def extract_features(y: np.ndarray, sr: int) -> Features:
    """Every feature of `FEATURE_NAMES` for the mono signal `y` at `sr` Hz (see the module doc).

    ``y`` holds float samples in [-1, 1]. Raises ``ValueError`` for a signal that is not 1-D
    float or holds NaN/inf, or a rate that is not a positive integer.
    """
    y = _validated(y, sr)
    if sr != SAMPLE_RATE:
        y = _resample(y, sr)
    return _finish(_Intermediates.shared(y), len(y))


def naive_features(path: str | PathLike[str]) -> Features:
    """`extract_features` the straightforward way: one librosa call per feature, from ``y``.

    The benchmark's baseline. Every call recomputes its own STFT (and mel spectrogram, HPSS,
    onset envelope, tempo) as a plain script would, with the same parameters, so values agree
    with ``extract_features(*load_audio(path))`` to float32 rounding (the tests use 1e-5
    relative, 1e-6 absolute; key, mode and status exactly).
    """
    import librosa

    y, _ = librosa.load(path, sr=SAMPLE_RATE)
    return _finish(_Intermediates.naive(y), len(y))


def _validated(y: np.ndarray, sr: int) -> np.ndarray:
    array = np.asarray(y)
    if array.ndim != 1:
        raise ValueError(f"y must be a mono 1-D signal, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"y must hold float samples in [-1, 1], got dtype {array.dtype}")
    if not (isinstance(sr, int | np.integer) and sr > 0):
        raise ValueError(f"sr must be a positive integer sample rate, got {sr!r}")
    array = np.ascontiguousarray(array, dtype=np.float32)
    if not np.isfinite(array).all():
        raise ValueError("y holds NaN or infinite samples; expected finite audio samples")
    return array


class _Intermediates:
    """The per-frame series every feature is read from, built once (or, naively, per call)."""

    def __init__(self, **series: Any) -> None:
        self.__dict__.update(series)

    @classmethod
    def shared(cls, y: np.ndarray) -> _Intermediates:
        import librosa

        padded = _padded(y)
        sr = SAMPLE_RATE
        S = np.abs(librosa.stft(padded, n_fft=N_FFT, hop_length=HOP_LENGTH))
        power = S**2
        mel = librosa.feature.melspectrogram(S=power, sr=sr, n_mels=N_MELS)
        log_mel = librosa.power_to_db(mel)
        flux = librosa.onset.onset_strength(S=log_mel, sr=sr)
        harmonic, percussive = _hpss(mel)
        percussive_db = librosa.power_to_db(percussive)
        percussive_envelope = librosa.onset.onset_strength(S=percussive_db, sr=sr)
        centroid = librosa.feature.spectral_centroid(S=S, sr=sr)
        return cls(
            y=padded,
            rms=librosa.feature.rms(S=S, frame_length=N_FFT)[0],
            centroid=centroid[0],
            bandwidth=librosa.feature.spectral_bandwidth(S=S, sr=sr, centroid=centroid)[0],
            rolloff=librosa.feature.spectral_rolloff(S=S, sr=sr)[0],
            flatness=librosa.feature.spectral_flatness(S=S)[0],
            contrast=librosa.feature.spectral_contrast(S=S, sr=sr),
            zcr=librosa.feature.zero_crossing_rate(padded, frame_length=N_FFT)[0],
            mfcc=librosa.feature.mfcc(S=log_mel, n_mfcc=N_MFCC),
            chroma=librosa.feature.chroma_stft(S=power, sr=sr, tuning=0.0, norm=None),
            flux=flux,
            onsets=librosa.onset.onset_detect(onset_envelope=flux, sr=sr),
            mel=mel,
            harmonic_energy=float(harmonic.sum(dtype=np.float64)),
            percussive_energy=float(percussive.sum(dtype=np.float64)),
            percussive_envelope=percussive_envelope,
            tempo=estimate_tempo(percussive_db, percussive_envelope),
            magnitude=S,
        )

    @classmethod
    def naive(cls, y: np.ndarray) -> _Intermediates:
        import librosa

        padded = _padded(y)
        sr = SAMPLE_RATE
        mel = librosa.feature.melspectrogram(y=padded, sr=sr, n_mels=N_MELS)
        harmonic, percussive = librosa.decompose.hpss(mel, kernel_size=HPSS_KERNEL)
        percussive_db = librosa.power_to_db(percussive)
        percussive_envelope = librosa.onset.onset_strength(S=percussive_db, sr=sr)
        return cls(
            y=padded,
            rms=librosa.feature.rms(S=np.abs(librosa.stft(padded)), frame_length=N_FFT)[0],
            centroid=librosa.feature.spectral_centroid(y=padded, sr=sr)[0],
            bandwidth=librosa.feature.spectral_bandwidth(y=padded, sr=sr)[0],
            rolloff=librosa.feature.spectral_rolloff(y=padded, sr=sr)[0],
            flatness=librosa.feature.spectral_flatness(y=padded)[0],
            contrast=librosa.feature.spectral_contrast(y=padded, sr=sr),
            zcr=librosa.feature.zero_crossing_rate(padded, frame_length=N_FFT)[0],
            mfcc=librosa.feature.mfcc(y=padded, sr=sr, n_mfcc=N_MFCC),
            chroma=librosa.feature.chroma_stft(y=padded, sr=sr, tuning=0.0, norm=None),
            flux=librosa.onset.onset_strength(y=padded, sr=sr),
            onsets=librosa.onset.onset_detect(y=padded, sr=sr),
            mel=librosa.feature.melspectrogram(y=padded, sr=sr, n_mels=N_MELS),
            harmonic_energy=float(harmonic.sum(dtype=np.float64)),
            percussive_energy=float(percussive.sum(dtype=np.float64)),
            percussive_envelope=percussive_envelope,
            tempo=estimate_tempo(percussive_db, percussive_envelope),
            magnitude=np.abs(librosa.stft(padded, n_fft=N_FFT, hop_length=HOP_LENGTH)),
        )


def _hpss(mel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``librosa.decompose.hpss(mel, kernel_size=HPSS_KERNEL)``: the same values, 10x faster.

    librosa median-filters the 2-D array with a (1, k) and a (k, 1) footprint, which scipy
    does element by element; scipy's ``median_filter`` has a far faster path for 1-D input.
    The medians are exact, so the masks and parts are bit-identical to librosa's.
    """
    import librosa

    harmonic = _median_along_rows(mel)
    percussive = _median_along_rows(np.ascontiguousarray(mel.T)).T
    harmonic_mask = librosa.util.softmask(harmonic, percussive, power=2.0, split_zeros=True)
    percussive_mask = librosa.util.softmask(percussive, harmonic, power=2.0, split_zeros=True)
    return mel * harmonic_mask, mel * percussive_mask


def _median_along_rows(x: np.ndarray) -> np.ndarray:
    """Each row median-filtered (``HPSS_KERNEL``, scipy's ``reflect`` boundary) in one 1-D pass.

    Every row is padded with its own reflection (numpy's ``symmetric`` is scipy's ``reflect``)
    and the rows are laid end to end, so no window ever reaches into a neighbouring row.
    """
    from scipy.ndimage import median_filter

    half = HPSS_KERNEL // 2
    padded = np.pad(x, [(0, 0), (half, half)], mode="symmetric")
    filtered = median_filter(padded.ravel(), size=HPSS_KERNEL, mode="reflect")
    return filtered.reshape(padded.shape)[:, half:-half]


def _padded(y: np.ndarray) -> np.ndarray:
    # Shorter than one FFT frame: zero-pad so framing works (the status says "too_short").
    return np.pad(y, (0, N_FFT - len(y))) if len(y) < N_FFT else y


def _finish(series: _Intermediates, n_samples: int) -> Features:
    """Statistics, key, rhythm and descriptors from the intermediates (shared by both paths)."""
    features: Features = dict.fromkeys(FEATURE_NAMES)
    features["extractor_version"] = EXTRACTOR_VERSION
    duration = n_samples / SAMPLE_RATE
    features["duration_s"] = duration
    if n_samples == 0:
        features["status"] = features["tempo_status"] = features["key_status"] = "too_short"
        return features

    y = series.y[:n_samples].astype(np.float64)
    mean_square = float(np.mean(y * y))
    features["loudness_db"] = _db(mean_square)
    frame_db = 20 * np.log10(np.maximum(series.rms.astype(np.float64), 1e-6))
    loud_db = float(np.percentile(frame_db, 95))
    features["dynamic_range_db"] = loud_db - float(np.percentile(frame_db, 10))

    chroma = series.chroma
    chroma_norm = chroma / np.maximum(chroma.max(axis=0, keepdims=True), np.finfo(np.float32).tiny)
    stats = {
        "spectral_centroid": series.centroid,
        "spectral_bandwidth": series.bandwidth,
        "spectral_rolloff": series.rolloff,
        "spectral_flatness": series.flatness,
        **{f"spectral_contrast_{i + 1:02d}": row for i, row in enumerate(series.contrast)},
        "spectral_flux": series.flux,
        "zero_crossing_rate": series.zcr,
        **{f"mfcc_{i + 1:02d}": row for i, row in enumerate(series.mfcc)},
        **{f"chroma_{name}": row for name, row in zip(_COLUMN_PITCH, chroma_norm, strict=True)},
    }
    for name, values in stats.items():
        values64 = values.astype(np.float64)
        features[f"{name}_mean"] = float(values64.mean())
        features[f"{name}_std"] = float(values64.std())

    total = series.harmonic_energy + series.percussive_energy
    features["harmonic_ratio"] = series.harmonic_energy / total if total > 0 else None
    active = frame_db >= max(loud_db - ACTIVE_RANGE_DB, SILENCE_DBFS - ACTIVE_RANGE_DB)
    zcr_active = series.zcr[active].astype(np.float64)
    if zcr_active.size and zcr_active.mean() > 0:
        features["zcr_active_cv"] = float(zcr_active.std() / zcr_active.mean())
    if active.any():
        features["spectral_flatness_active"] = float(np.median(series.flatness[active]))

    if duration < MIN_DURATION_S:
        features["status"] = "too_short"
    elif loud_db < SILENCE_DBFS:
        features["status"] = "silent"
    else:
        features["status"] = "ok"
        features.update(_tonal(chroma))
        features.update(_rhythm(series, duration))
        features["modulation_4hz"] = _modulation_depth(series.mel)
        features.update(descriptors(features))
        # What kind of sound this is (content type); see audio.content_features.
        features.update(
            content_features(
                series.magnitude,
                series.mel,
                series.flux,
                series.rms,
                SAMPLE_RATE,
                N_FFT,
                HOP_LENGTH,
            )
        )
    if features["status"] != "ok":
        features["tempo_status"] = features["key_status"] = features["status"]
    return _finite(features)


def _db(mean_square: float) -> float:
    if mean_square <= 0:
        return LOUDNESS_FLOOR_DB
    return max(10 * math.log10(mean_square), LOUDNESS_FLOOR_DB)


def _tonal(chroma: np.ndarray) -> Features:
    """Key and mode: the rotation of the Temperley profiles that best fits the mean chroma.

    Under `ATONAL_BELOW` no key profile fits better than noise does: key and mode are None
    and ``key_status`` says ``"atonal"``; the confidence is kept.
    """
    profile = chroma.sum(axis=1, dtype=np.float64)
    if not np.ptp(profile) > 0:
        return {"key": None, "mode": None, "key_confidence": 0.0, "key_status": "atonal"}
    best = (-2.0, 0, "major")
    for mode, template in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
        for tonic in range(12):
            r = float(np.corrcoef(profile, np.roll(template, tonic))[0, 1])
            if r > best[0]:
                best = (r, tonic, mode)
    r, tonic, mode = best
    confidence = max(r, 0.0)
    if confidence < ATONAL_BELOW:
        return {"key": None, "mode": None, "key_confidence": confidence, "key_status": "atonal"}
    return {
        "key": PITCH_CLASSES[tonic],
        "mode": mode,
        "key_confidence": confidence,
        "key_status": "ok",
    }


def _rhythm(series: _Intermediates, duration: float) -> Features:
    envelope = series.percussive_envelope.astype(np.float64)
    estimate: TempoEstimate = series.tempo
    beats = estimate.beats
    tempo = estimate.tempo_bpm
    out: Features = {
        "tempo_bpm": tempo,
        "tempo_confidence": estimate.confidence,
        "tempo_second_bpm": estimate.second_bpm,
        "tempo_status": estimate.status,
        "onset_rate": len(series.onsets) / duration,
        "beat_strength": None,
        "pulse_clarity": None,
    }
    if len(beats) >= 2:
        on_beat = np.array([envelope[max(b - 1, 0) : b + 2].max() for b in beats])
        near = np.zeros(len(envelope), dtype=bool)
        for b in beats:
            near[max(b - 2, 0) : b + 3] = True
        between = ~near
        between[: beats[0]] = between[beats[-1] :] = False
        b_mean = float(on_beat.mean())
        o_mean = float(envelope[between].mean()) if between.any() else 0.0
        if b_mean + o_mean > 0:
            out["beat_strength"] = _clip((b_mean - o_mean) / (b_mean + o_mean))
    if tempo is not None:
        out["pulse_clarity"] = _pulse_clarity(envelope, 60 * SAMPLE_RATE / HOP_LENGTH / tempo)
    return out


def _pulse_clarity(envelope: np.ndarray, period_frames: float) -> float | None:
    low = max(1, math.floor(period_frames * (1 - PULSE_LAG_TOLERANCE)))
    high = math.ceil(period_frames * (1 + PULSE_LAG_TOLERANCE))
    if high >= len(envelope):
        return None
    correlation = autocorrelation(envelope)
    if correlation[0] <= 0:
        return None  # a flat envelope
    return _clip(float(correlation[low : high + 1].max()))


def _modulation_depth(mel: np.ndarray) -> float | None:
    """Energy of the 3-6 Hz modulation of mel band-group amplitude envelopes, over their total."""
    from scipy.signal import butter, sosfiltfilt

    frame_rate = SAMPLE_RATE / HOP_LENGTH
    groups = mel.astype(np.float64).reshape(MODULATION_GROUPS, -1, mel.shape[1]).sum(axis=1)
    envelopes = np.sqrt(groups)
    sos = butter(2, MODULATION_BAND_HZ, btype="bandpass", fs=frame_rate, output="sos")
    if envelopes.shape[1] <= 3 * (2 * len(sos) + 1):  # sosfiltfilt's default padding
        return None
    total = float((envelopes**2).sum())
    if total <= 0:
        return None
    band = sosfiltfilt(sos, envelopes, axis=1)
    return float((band**2).sum() / total)


def descriptors(features: Features) -> Features:
    """The six Spotify-style descriptors (formulas in the module docstring) from the features."""
    loudness = _num(features["loudness_db"])
    harmonic = _num(features["harmonic_ratio"], 0.5)
    centroid = _num(features["spectral_centroid_mean"])
    key_confidence = _num(features["key_confidence"])
    flatness = _num(features["spectral_flatness_active"])
    pulse = _num(features["pulse_clarity"])
    tempo = features["tempo_bpm"]

    energy = _clip(
        0.45 * _clip((loudness + 40) / 34)
        + 0.25 * _clip(_num(features["onset_rate"]) / 6)
        + 0.15 * _clip((math.log10(max(flatness, 1e-10)) + 5) / 4)
        + 0.15 * _clip((1 - harmonic) / 0.5)
    )
    tempo_fit = (
        math.exp(-0.5 * (math.log2(tempo / 118) / 0.4) ** 2)
        if isinstance(tempo, float) and tempo > 0
        else 0.0
    )
    voice = (
        0.15 * _clip((0.9 - harmonic) / 0.4)
        + 0.15 * _clip(1 - key_confidence / 0.8)
        + 0.35 * _clip(_num(features["zcr_active_cv"]))
        + 0.2 * _clip((_num(features["modulation_4hz"]) - 0.04) / 0.06)
        + 0.15 * (1 - _clip(pulse / 0.5))
    )
    sign = {"major": 1.0, "minor": -1.0}.get(str(features["mode"]), 0.0)
    return {
        "energy": energy,
        "danceability": _clip(
            0.4 * pulse + 0.3 * _num(features["beat_strength"]) + 0.3 * tempo_fit
        ),
        "acousticness": _clip(
            0.4 * _clip((harmonic - 0.5) / 0.45)
            + 0.3 * (1 - _clip(centroid / 4000))
            + 0.3 * _clip(_num(features["dynamic_range_db"]) / 30)
        ),
        "speechiness": (1 - _clip(flatness / 0.2)) * _clip(voice),
        "instrumentalness": _clip((0.75 - voice) / 0.5),
        "valence": _clip(
            0.35 * (0.5 + 0.5 * sign * key_confidence)
            + 0.25 * (_clip((tempo - 60) / 120) if isinstance(tempo, float) else 0.0)
            + 0.2 * _clip(centroid / 3000)
            + 0.2 * energy
        ),
    }


def _num(value: FeatureValue, default: float = 0.0) -> float:
    return value if isinstance(value, float) and math.isfinite(value) else default


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))


def _finite(features: Features) -> Features:
    return {
        name: None if isinstance(value, float) and not math.isfinite(value) else value
        for name, value in features.items()
    }


def warm_up(extract: Callable[[np.ndarray, int], Features] = extract_features) -> None:
    """Run the extractor once on 3 s of synthetic music so numba's JIT is compiled (or loaded)."""
    sr = SAMPLE_RATE
    t = np.arange(3 * sr) / sr
    y = 0.2 * np.sin(2 * np.pi * 220.0 * t) + 0.1 * np.sin(2 * np.pi * 330.0 * t)
    clicks = (np.arange(len(t)) % (sr // 2)) < 64
    extract((y + 0.5 * clicks).astype(np.float32), sr)
