"""One recording, decoded once: its features and the statistics of its samples.

`analyse_recording(path)` is what the ``audio_features`` asset runs per file in the worker pool:
the file is decoded once at its own rate and channel count; `signal_stats` reads those raw
samples (clipping, DC offset and silent channels are facts of the delivered file, and
resampling or downmixing would blur them), then the features read the mono 22,050 Hz signal.
The statistics travel with the features as ``signal_*`` columns (`signal_columns`).
"""

from __future__ import annotations

from spotify_agent_assets.audio.anomalies import signal_stats
from spotify_agent_assets.audio.decoding import SAMPLE_RATE, analysis_signal, decode_audio
from spotify_agent_assets.audio.features import extract_features
from spotify_agent_assets.audio.parallel import AnalysisResult, PathLike, analysis_failure
from spotify_agent_assets.audio.signal_columns import signal_columns


def analyse_recording(path: PathLike) -> AnalysisResult:
    """Features and ``signal_*`` statistics of one file; an error becomes an `AnalysisFailure`."""
    try:
        data, sr = decode_audio(path)
        stats = signal_stats(data, sr=sr)
        features = extract_features(analysis_signal(data, sr), SAMPLE_RATE)
    except Exception as exc:  # reported per file, so one bad file does not stop the batch
        return analysis_failure(path, exc)
    return {**features, **signal_columns(stats)}
