"""Analyse many audio files on several cores: a warmed process pool, per-file errors, progress.

`analyse_files(paths, workers, progress)` yields ``(path, features)`` for every path, in input
order, where ``features`` is `extract_features`'s dict or an `AnalysisFailure` naming what went
wrong; one unreadable file (or one that kills its worker process) does not stop the batch.
`AudioAnalysisPool` is the same over a pool that outlives one batch.

Why these choices:

- Processes, not threads: librosa's work is numpy/scipy/numba code that mostly holds the GIL.
- Start method ``forkserver`` with librosa's modules preloaded in the server. Importing
  ``librosa.feature`` and friends compiles librosa's numba ufuncs (about 3 s of CPU, about 25 s
  on a machine without numba's cache); the server pays that once and every worker is forked
  from it already compiled, so a pool of any size starts in about the time of one import. A
  plain ``fork`` of the caller would be as quick but is unsafe in a multi-threaded process (the
  Dagster run worker is one); ``spawn`` would pay the import and compile in every worker.
- The server also runs the extractor once on a synthetic clip (`preload`), so the lazily
  compiled numba functions (beat tracking, peak picking) are compiled once, before any worker
  is forked, never per worker or per file. Each worker's initializer limits BLAS to one thread
  (the workers are the parallelism; more threads only oversubscribe the cores) and runs the
  extractor once more, which then costs milliseconds.
- Files go out in chunks of ``chunk_size`` with at most ``2 * workers`` chunks in flight: memory
  stays bounded for any number of paths and results come back in input order, so two runs over
  the same files give the same sequence.
- A worker that dies (a decoder crash, the OOM killer) breaks the whole pool; the files that
  were in flight are then retried one at a time in a fresh pool, and only the file that breaks
  it again is reported (`AnalysisFailure` ``WorkerDied``).

``workers=0`` analyses in the calling process (no pool, no crash isolation): for debugging and
tiny batches. Its values can differ from the pool's in the last bits (BLAS sums in another order
with more threads); any two pools agree exactly. As with any forkserver or spawn pool, workers
import the caller's main module, so a script calling this needs the ``__main__`` guard (the
Dagster and pytest entry points have it).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING

from spotify_agent_assets.audio.decoding import load_audio
from spotify_agent_assets.audio.feature_names import Features
from spotify_agent_assets.audio.features import extract_features, warm_up

if TYPE_CHECKING:
    from types import TracebackType

PathLike = str | os.PathLike[str]

# Imported once by the forkserver, so every worker forked from it starts with librosa's numba
# ufuncs compiled (they compile when these modules are imported).
PRELOAD_MODULES = (
    "spotify_agent_assets.audio.features",
    "numpy",
    "scipy.ndimage",
    "scipy.signal",
    "soundfile",
    "soxr",
    "librosa",
    "librosa.core",
    "librosa.util",
    "librosa.filters",
    "librosa.feature",
    "librosa.onset",
    "librosa.beat",
    "librosa.decompose",
    "spotify_agent_assets.audio.preload",  # last: compiles the lazy functions once
)
PROGRESS_EVERY_FILES = 50
PROGRESS_EVERY_SECONDS = 10.0


@dataclass(frozen=True)
class AnalysisFailure:
    """Why one file has no features: the exception's type and message (which names the file)."""

    error: str
    message: str


@dataclass(frozen=True)
class AnalysisProgress:
    """Where a batch stands; passed to the progress callback."""

    done: int
    failed: int
    total: int
    audio_seconds: float
    elapsed_s: float

    @property
    def audio_seconds_per_second(self) -> float:
        return self.audio_seconds / self.elapsed_s if self.elapsed_s > 0 else 0.0


AnalysisResult = Features | AnalysisFailure
ProgressCallback = Callable[[AnalysisProgress], None]


def analyse_file(path: PathLike) -> AnalysisResult:
    """Decode and analyse one file; any error becomes an `AnalysisFailure` naming the file."""
    try:
        y, sr = load_audio(path)
        return extract_features(y, sr)
    except Exception as exc:  # reported per file, so one bad file does not stop the batch
        return analysis_failure(path, exc)


def analysis_failure(path: PathLike, exc: Exception) -> AnalysisFailure:
    """The `AnalysisFailure` for ``exc`` raised while analysing ``path``; it names the file."""
    message = str(exc) if str(path) in str(exc) else f"{path}: {exc}"
    return AnalysisFailure(error=type(exc).__name__, message=message)


def analyse_files(
    paths: Sequence[PathLike],
    workers: int = 2,
    progress: ProgressCallback | None = None,
    *,
    chunk_size: int = 1,
    progress_every_files: int = PROGRESS_EVERY_FILES,
    progress_every_seconds: float = PROGRESS_EVERY_SECONDS,
) -> Iterator[tuple[PathLike, AnalysisResult]]:
    """Features of every path, in input order, analysed by ``workers`` processes.

    ``progress`` is called after every ``progress_every_files`` files or
    ``progress_every_seconds`` seconds, whichever comes first, and once at the end.
    """
    with AudioAnalysisPool(workers, chunk_size=chunk_size) as pool:
        yield from pool.analyse(
            paths,
            progress,
            progress_every_files=progress_every_files,
            progress_every_seconds=progress_every_seconds,
        )


class AudioAnalysisPool:
    """A pool of warmed worker processes that can analyse several batches.

    ``analyse_one`` is the per-file function (a module-level function, so workers can import
    it); it exists so tests can stand in a file that kills its worker.
    """

    def __init__(
        self,
        workers: int,
        *,
        chunk_size: int = 1,
        analyse_one: Callable[[PathLike], AnalysisResult] = analyse_file,
    ) -> None:
        if workers < 0:
            raise ValueError(f"workers must be 0 (in process) or more, got {workers}")
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
        self.workers = workers
        self.chunk_size = chunk_size
        self._analyse_one = analyse_one
        self._executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> AudioAnalysisPool:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        """Start the worker processes now (they also start on the first batch)."""
        if self.workers == 0 or self._executor is not None:
            return
        self._executor = _new_executor(self.workers)
        # ProcessPoolExecutor starts a process per submitted task until it has ``workers``:
        # one no-op each starts them all, and they warm up while the caller prepares a batch.
        for future in [self._executor.submit(os.getpid) for _ in range(self.workers)]:
            future.result()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def analyse(
        self,
        paths: Sequence[PathLike],
        progress: ProgressCallback | None = None,
        *,
        progress_every_files: int = PROGRESS_EVERY_FILES,
        progress_every_seconds: float = PROGRESS_EVERY_SECONDS,
    ) -> Iterator[tuple[PathLike, AnalysisResult]]:
        """``(path, features or AnalysisFailure)`` for every path, in input order."""
        tracker = _ProgressTracker(
            len(paths), progress, progress_every_files, progress_every_seconds
        )
        if self.workers == 0:
            for path in paths:
                result = self._analyse_one(path)
                tracker.record(result)
                yield path, result
        else:
            for path, result in self._analyse_in_pool(list(paths), tracker):
                tracker.record(result)
                yield path, result
        tracker.finish()

    def _analyse_in_pool(
        self, paths: list[PathLike], tracker: _ProgressTracker
    ) -> Iterator[tuple[PathLike, AnalysisResult]]:
        self.start()
        chunks = deque(
            paths[start : start + self.chunk_size]
            for start in range(0, len(paths), self.chunk_size)
        )
        in_flight: deque[tuple[list[PathLike], Future[list[AnalysisResult]]]] = deque()
        try:
            while chunks or in_flight:
                while chunks and len(in_flight) < 2 * self.workers:
                    try:
                        in_flight.append((chunks[0], self._submit(chunks[0])))
                    except BrokenProcessPool:  # a worker died; the head future will say so
                        if not in_flight:
                            self._restart()
                        break
                    chunks.popleft()
                chunk, future = in_flight.popleft()
                while not future.done():
                    wait([future], timeout=tracker.seconds_to_next_report())
                    tracker.maybe_report()
                try:
                    results = future.result()
                except BrokenProcessPool:
                    suspects = [chunk, *(other for other, _ in in_flight)]
                    in_flight.clear()
                    yield from self._isolate(suspects)
                    continue
                yield from zip(chunk, results, strict=True)
        finally:  # the caller stopped early: do not leave work queued in a reusable pool
            for _, pending in in_flight:
                pending.cancel()

    def _isolate(self, chunks: list[list[PathLike]]) -> Iterator[tuple[PathLike, AnalysisResult]]:
        """After a worker died: each file that was in flight, alone, in order, in a fresh pool."""
        self._restart()
        for path in (path for chunk in chunks for path in chunk):
            try:
                (result,) = self._submit([path]).result()
            except BrokenProcessPool:
                result = AnalysisFailure(
                    error="WorkerDied",
                    message=f"{path}: the worker process died while analysing it "
                    "(a decoder crash or the out-of-memory killer)",
                )
                self._restart()
            yield path, result

    def _restart(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self.start()

    def _submit(self, chunk: list[PathLike]) -> Future[list[AnalysisResult]]:
        assert self._executor is not None  # noqa: S101 -- type narrowing: _submit runs inside the open pool
        return self._executor.submit(_analyse_chunk, chunk, self._analyse_one)


def _new_executor(workers: int) -> ProcessPoolExecutor:
    context = multiprocessing.get_context("forkserver")
    # Takes effect when this process's forkserver starts (the first pool); later pools reuse it.
    context.set_forkserver_preload(list(PRELOAD_MODULES))
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_initialise_worker
    )


def _initialise_worker() -> None:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # without it BLAS keeps its default thread count: slower, not wrong
        pass
    else:
        threadpool_limits(limits=1)
    warm_up()


def _analyse_chunk(
    chunk: list[PathLike], analyse_one: Callable[[PathLike], AnalysisResult]
) -> list[AnalysisResult]:
    return [analyse_one(path) for path in chunk]


class _ProgressTracker:
    def __init__(
        self,
        total: int,
        callback: ProgressCallback | None,
        every_files: int,
        every_seconds: float,
    ) -> None:
        self.total = total
        self.callback = callback
        self.every_files = max(1, every_files)
        self.every_seconds = every_seconds
        self.started = time.monotonic()
        self.last_report = self.started
        self.reported_done = 0
        self.done = 0
        self.failed = 0
        self.audio_seconds = 0.0

    def record(self, result: AnalysisResult) -> None:
        self.done += 1
        if isinstance(result, AnalysisFailure):
            self.failed += 1
        elif isinstance(duration := result.get("duration_s"), float):
            self.audio_seconds += duration
        if self.done - self.reported_done >= self.every_files:
            self._report()
        else:
            self.maybe_report()

    def seconds_to_next_report(self) -> float | None:
        if self.callback is None:
            return None
        return max(0.0, self.last_report + self.every_seconds - time.monotonic())

    def maybe_report(self) -> None:
        if time.monotonic() - self.last_report >= self.every_seconds:
            self._report()

    def finish(self) -> None:
        self._report()

    def _report(self) -> None:
        now = time.monotonic()
        self.last_report = now
        self.reported_done = self.done
        if self.callback is not None:
            self.callback(
                AnalysisProgress(
                    done=self.done,
                    failed=self.failed,
                    total=self.total,
                    audio_seconds=self.audio_seconds,
                    elapsed_s=now - self.started,
                )
            )
