"""Decoding a file to the signal the features read: float32 mono at `SAMPLE_RATE`.

`load_audio` decodes with soundfile and resamples with soxr, giving exactly the samples of
``librosa.load``. `decode_audio` and `analysis_signal` are its two halves, kept apart so that
`recording` can read the delivered samples (rate and channels as they are) before the downmix.
Apart from `features` because decoding is I/O and format handling, not analysis, and the rate is
the one thing both sides share.
"""

from __future__ import annotations

import math
import os
from os import PathLike
from typing import BinaryIO

import numpy as np

SAMPLE_RATE = 22_050


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
    return resample(np.ascontiguousarray(y, dtype=np.float32), int(sr))


def _describe(source: object) -> str:
    name = getattr(source, "name", source)
    return str(name) if isinstance(name, str | PathLike) else repr(source)


def resample(y: np.ndarray, sr: int) -> np.ndarray:
    """``y`` at ``sr`` Hz as `SAMPLE_RATE` samples: soxr ``soxr_hq``, librosa's length."""
    if sr == SAMPLE_RATE:
        return y
    import soxr

    size = math.ceil(len(y) * SAMPLE_RATE / sr)
    resampled = soxr.resample(y, sr, SAMPLE_RATE, quality="soxr_hq")
    # librosa.resample's fix_length: exactly ceil(n * ratio) samples.
    if len(resampled) >= size:
        return np.asarray(resampled[:size], dtype=np.float32)
    return np.pad(resampled, (0, size - len(resampled))).astype(np.float32)
