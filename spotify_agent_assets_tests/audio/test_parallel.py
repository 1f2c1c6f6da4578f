"""The process pool: same features on 1 or 2 workers, per-file errors, crashes, progress."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from spotify_agent_assets.audio.decoding import SAMPLE_RATE, load_audio
from spotify_agent_assets.audio.features import extract_features
from spotify_agent_assets.audio.parallel import (
    AnalysisFailure,
    AnalysisProgress,
    AudioAnalysisPool,
    analyse_file,
    analyse_files,
)

SR = SAMPLE_RATE


def write_clips(folder: Path, count: int = 4) -> list[Path]:
    """Short clips of different kinds and formats: chords with clicks, noise, a stereo FLAC."""
    rng = np.random.default_rng(11)
    t = np.arange(3 * SR) / SR
    paths = []
    for index in range(count):
        freq = 220.0 * 2 ** (index / 12)
        y = 0.2 * np.sin(2 * np.pi * freq * t) + 0.1 * np.sin(2 * np.pi * 1.5 * freq * t)
        y[:: SR // (2 + index)] += 0.8  # clicks at a tempo of its own
        y += 0.01 * rng.standard_normal(len(t))
        if index % 2:
            path = folder / f"clip{index}.flac"
            sf.write(path, np.stack([y, 0.5 * y], axis=1), 44_100)  # stereo, another rate
        else:
            path = folder / f"clip{index}.wav"
            sf.write(path, y.astype(np.float32), SR)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("clips")
    paths = write_clips(folder)
    corrupt = folder / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage")
    return [paths[0], corrupt, *paths[1:]]


def features_by_path(results: list[tuple[object, object]]) -> dict[str, object]:
    return {str(path): value for path, value in results}


def assert_close(actual: object, expected: object) -> None:
    """Equal up to float rounding: BLAS sums in another order with more threads (in process)."""
    if isinstance(expected, AnalysisFailure):
        assert actual == expected
        return
    assert isinstance(actual, dict) and isinstance(expected, dict)
    assert actual.keys() == expected.keys()
    for name, value in expected.items():
        if isinstance(value, float):
            assert actual[name] == pytest.approx(value, rel=1e-6, abs=1e-9), name
        else:
            assert actual[name] == value, name


def test_two_workers_give_the_same_features_as_one(clips: list[Path]) -> None:
    one = list(analyse_files(clips, workers=1))
    two = list(analyse_files(clips, workers=2, chunk_size=2))
    assert [path for path, _ in one] == clips == [path for path, _ in two]  # input order
    assert one == two  # bit-identical: same code, one BLAS thread per worker
    corrupt = features_by_path(one)[str(clips[1])]
    assert isinstance(corrupt, AnalysisFailure)
    assert corrupt.error == "AudioDecodeError" and "corrupt.wav" in corrupt.message
    # The files after the bad one were analysed, and as extract_features does in process.
    for path, features in one:
        if path != clips[1]:
            assert_close(features, extract_features(*load_audio(path)))


def test_in_process_mode_agrees(clips: list[Path]) -> None:
    pooled = features_by_path(list(analyse_files(clips[:2], workers=1)))
    local = features_by_path(list(analyse_files(clips[:2], workers=0)))
    assert local.keys() == pooled.keys()
    for path, features in local.items():
        assert_close(pooled[path], features)


def test_progress_is_reported_every_n_files_and_at_the_end(clips: list[Path]) -> None:
    reports: list[AnalysisProgress] = []
    results = list(analyse_files(clips, workers=0, progress=reports.append, progress_every_files=2))
    assert len(results) == len(clips)
    assert [report.done for report in reports] == [2, 4, 5]
    final = reports[-1]
    assert (final.done, final.failed, final.total) == (5, 1, 5)
    durations = [sf.info(path).duration for path in clips if path.name != "corrupt.wav"]
    assert final.audio_seconds == pytest.approx(sum(durations), abs=0.01)
    assert final.audio_seconds_per_second > 0


def crash_on_marker(path: str | os.PathLike[str]) -> object:
    """Stands in for a decoder that kills its process on one file."""
    if "crash" in Path(path).name:
        os._exit(1)
    return analyse_file(path)


@pytest.mark.slow
def test_a_file_that_kills_its_worker_is_reported_and_the_batch_goes_on(
    clips: list[Path], tmp_path: Path
) -> None:
    crash = tmp_path / "crash.wav"
    crash.write_bytes(b"")
    paths = [clips[0], crash, clips[2], clips[3]]
    with AudioAnalysisPool(2, analyse_one=crash_on_marker) as pool:
        results = list(pool.analyse(paths))
        assert [path for path, _ in results] == paths
        failure = results[1][1]
        assert isinstance(failure, AnalysisFailure) and failure.error == "WorkerDied"
        assert "crash.wav" in failure.message
        for path, features in (results[0], results[2], results[3]):
            assert_close(features, extract_features(*load_audio(path)))
        # The pool was replaced and keeps working.
        assert list(pool.analyse([clips[0]])) == [results[0]]


def test_invalid_pool_arguments() -> None:
    with pytest.raises(ValueError, match="workers"):
        AudioAnalysisPool(-1)
    with pytest.raises(ValueError, match="chunk_size"):
        AudioAnalysisPool(1, chunk_size=0)
