"""Seconds of audio analysed per wall second: our extractor on 1 and 2 workers vs a naive loop.

Writes N sample-world clips (``sample_world.audio``: 10-12 s each, the landing zone's mix of
music, speech, animal, weather and near-silent clips and of WAV/FLAC/Ogg/MP3) to a temporary
folder, then runs each contender in a fresh interpreter, one after the other:

1. ``naive``: ``features.naive_features`` in a plain loop, one process: one librosa call per
   feature, each recomputing its own STFT, mel spectrogram, HPSS, onset envelope and tempo
   (``librosa.load`` to decode);
2. ``ours, 1 worker`` and 3. ``ours, 2 workers``: ``parallel.AudioAnalysisPool`` running
   ``recording.analyse_recording``, exactly what the ``audio_features`` asset runs per file
   (shared intermediates, fast HPSS, forkserver with librosa preloaded and the extractor
   compiled once, plus the ``signal_*`` sample statistics the naive loop does not compute).

Each contender makes two passes over the same files. *Cold* is the first: from the parent
launching the interpreter to the last result (interpreter start, imports, numba compilation,
pool start included). *Warm* is the second, in the same process (and pool): the steady state
of a long batch. The features of every contender must agree (2 workers bit-identical to 1;
naive within `NAIVE_RTOL`), or the run fails.

    taskset -c 0,1 .venv/bin/python bench/audio_throughput.py [N] [--clips DIR]

``--clips DIR`` keeps the clips in DIR and reuses them on the next run.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

LAUNCHED = "AUDIO_BENCH_LAUNCHED"  # epoch seconds at which the parent started a child
NAIVE_RTOL, NAIVE_ATOL = 1e-5, 1e-6
CONTENDERS = (("naive", 0), ("ours", 1), ("ours", 2))


def write_clips(folder: Path, count: int) -> list[Path]:
    """The first ``count`` clips of the seed-7 sample world, in their landing-zone formats."""
    from spotify_agent_assets.sample_world.audio import audio_ground_truth, render_clip
    from spotify_agent_assets.sample_world.audio_landing_files import write_clip
    from spotify_agent_assets.sample_world.world import SampleWorld

    world = SampleWorld(seed=7)
    paths = []
    for truth in audio_ground_truth(world)[:count]:
        path = folder / truth.file_name
        if not path.exists():
            write_clip(render_clip(truth, world.seed), path, truth.sample_rate)
        paths.append(path)
    return paths


def run_contender(kind: str, workers: int, paths: list[Path], out: Path) -> dict[str, Any]:
    from spotify_agent_assets.audio.features import naive_features
    from spotify_agent_assets.audio.parallel import AudioAnalysisPool
    from spotify_agent_assets.audio.recording import analyse_recording

    pool = AudioAnalysisPool(workers, analyse_one=analyse_recording) if kind == "ours" else None
    passes: list[float] = []
    results: list[Any] = []
    cold = math.nan
    try:
        for _ in range(2):
            start = time.perf_counter()
            if pool is None:
                results = [naive_features(path) for path in paths]
            else:
                results = [features for _, features in pool.analyse(paths)]
            passes.append(time.perf_counter() - start)
            if len(passes) == 1:
                cold = time.time() - float(os.environ[LAUNCHED])
    finally:
        if pool is not None:
            pool.close()
    failures = [str(result) for result in results if not isinstance(result, dict)]
    out.write_text(json.dumps(results))
    return {"cold_s": cold, "first_pass_s": passes[0], "warm_s": passes[1], "failures": failures}


def _measure(kind: str, workers: int, clips: Path, count: int, out: Path) -> dict[str, Any]:
    env = os.environ | {LAUNCHED: repr(time.time())}
    args = ["--child", kind, str(workers), str(clips), str(count), str(out)]
    completed = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True, env=env
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def compare(ours: list[dict[str, Any]], theirs: list[dict[str, Any]], exact: bool) -> float:
    """Largest relative difference over every float feature of ``theirs``; raises on any other
    mismatch (ours may hold more: the sample statistics)."""
    worst = 0.0
    for index, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        if not b.keys() <= a.keys():
            raise SystemExit(f"clip {index}: features missing: {sorted(b.keys() - a.keys())}")
        for name, other in b.items():
            value = a[name]
            if isinstance(value, float) and isinstance(other, float):
                difference = abs(value - other)
                worst = max(worst, difference / max(abs(other), NAIVE_ATOL))
                if exact and difference:
                    raise SystemExit(f"clip {index} {name}: {value!r} != {other!r}")
                if difference > NAIVE_ATOL + NAIVE_RTOL * abs(other):
                    raise SystemExit(f"clip {index} {name}: {value!r} vs naive {other!r}")
            elif value != other:
                raise SystemExit(f"clip {index} {name}: {value!r} != {other!r}")
    return worst


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--child"]:
        kind, workers, clips, count, out = args[1:]
        paths = sorted(Path(clips).iterdir())[: int(count)]
        print(json.dumps(run_contender(kind, int(workers), paths, Path(out))))
        return
    keep = None
    if "--clips" in args:
        at = args.index("--clips")
        keep = Path(args[at + 1])
        del args[at : at + 2]
    count = int(args[0]) if args else 120
    with tempfile.TemporaryDirectory() as scratch:
        clips = keep or Path(scratch) / "clips"
        clips.mkdir(parents=True, exist_ok=True)
        paths = write_clips(clips, count)
        listed = sorted(clips.iterdir())[:count]
        if listed != sorted(paths):
            raise SystemExit(f"{clips} holds other files than the {count} clips")

        import soundfile as sf

        audio_s = sum(sf.info(path).duration for path in listed)
        cores = len(os.sched_getaffinity(0))
        print(
            f"{count} clips, {audio_s:.0f} s of audio; {cores} cores allowed; "
            f"load average before {os.getloadavg()[0]:.2f}"
        )
        measured = {}
        outputs = {}
        for kind, workers in CONTENDERS:
            out = Path(scratch) / f"{kind}-{workers}.json"
            measured[kind, workers] = _measure(kind, workers, clips, count, out)
            outputs[kind, workers] = json.loads(out.read_text())
            if measured[kind, workers]["failures"]:
                raise SystemExit(f"{kind} {workers}: {measured[kind, workers]['failures']}")
        print(f"load average after {os.getloadavg()[0]:.2f}")
        compare(outputs["ours", 2], outputs["ours", 1], exact=True)
        worst = compare(outputs["ours", 1], outputs["naive", 0], exact=False)
        print(f"features: 2 workers identical to 1; naive within {worst:.1e} relative")

        naive = measured["naive", 0]
        print(
            f"\n{'contender':<16} {'cold s':>8} {'audio s/s':>10} {'x naive':>8}"
            f" {'warm s':>8} {'audio s/s':>10} {'x naive':>8}"
        )
        for (kind, workers), m in measured.items():
            label = (
                "naive loop" if kind == "naive" else f"ours, {workers} worker{'s' * (workers > 1)}"
            )
            print(
                f"{label:<16} {m['cold_s']:8.2f} {audio_s / m['cold_s']:10.1f}"
                f" {naive['cold_s'] / m['cold_s']:8.2f} {m['warm_s']:8.2f}"
                f" {audio_s / m['warm_s']:10.1f} {naive['warm_s'] / m['warm_s']:8.2f}"
            )
        per_clip = measured["ours", 1]["warm_s"] / count
        print(
            f"\nours, 1 worker, warm: {per_clip * 1000:.0f} ms per clip "
            f"({per_clip / (audio_s / count) * 60 * 1000:.0f} ms per minute of audio)"
        )


if __name__ == "__main__":
    main()
