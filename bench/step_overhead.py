"""Per-step overhead of the code location's default executor against in-process execution.

Runs ``dagster asset materialize -m spotify_agent_assets.definitions --select SELECTION`` as a
whole process, alternately with the Definitions' own executor (what the UI, sensors and a plain
CLI call use) and with ``in_process`` (what ``make run`` passes), each run on a fresh sample-world
data folder under /tmp and one shared temporary ``DAGSTER_HOME``. The first pair is a warm-up
(file cache, the instance's SQLite schema) and is dropped. The overhead per step is
``(default wall - in-process wall) / steps``, steps counted from the run's ``STEP_START`` events;
it is taken pair by pair, so a drift in the machine's speed moves both sides.

``--repo`` measures another source tree with this virtualenv (an exported commit, for a
before/after comparison): it becomes the working directory and leads ``PYTHONPATH``, so its
package shadows the editable install.

    taskset -c 0,1 .venv/bin/python bench/step_overhead.py [runs] [--select SELECTION] [--repo DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
IN_PROCESS = '{"execution": {"config": {"in_process": {}}}}'


def materialize(
    repo: Path, selection: str, config: str | None, home: Path, data: Path
) -> tuple[float, int]:
    """Wall seconds of one CLI materialization on an empty data folder, and its step count."""
    shutil.rmtree(data, ignore_errors=True)
    command = [
        str(Path(sys.executable).parent / "dagster"),
        "asset",
        "materialize",
        "-m",
        "spotify_agent_assets.definitions",
        "--select",
        selection,
    ]
    if config is not None:
        command += ["--config-json", config]
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "SPOTIFY_AGENT_DATA_DIR": str(data),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")])),
    }
    start = time.perf_counter()
    result = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    log = result.stdout + result.stderr
    if result.returncode != 0 or "RUN_SUCCESS" not in log:
        raise RuntimeError(f"{' '.join(command)} failed (exit {result.returncode}):\n{log[-4000:]}")
    return wall, log.count(" - STEP_START - ")


def summary(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):6.2f} s  (min {min(values):.2f}, max {max(values):.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="?", type=int, default=3, help="counted pairs")
    parser.add_argument("--select", default="group:spotify")
    parser.add_argument("--repo", type=Path, default=REPO, help="source tree to measure")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="step-overhead-", dir="/tmp"))
    home, data = root / "dagster_home", root / "data"
    home.mkdir()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    default, in_process, overheads, steps = [], [], [], set()
    try:
        for run in range(args.runs + 1):  # pair 0 warms up and is dropped
            wall_default, steps_default = materialize(args.repo, args.select, None, home, data)
            wall_in_process, steps_in_process = materialize(
                args.repo, args.select, IN_PROCESS, home, data
            )
            if steps_default != steps_in_process:
                raise RuntimeError(f"step counts differ: {steps_default} vs {steps_in_process}")
            print(
                f"{'warm-up' if run == 0 else f'pair {run}'}: default {wall_default:.2f} s, "
                f"in-process {wall_in_process:.2f} s, {steps_default} steps",
                flush=True,
            )
            if run == 0:
                continue
            default.append(wall_default)
            in_process.append(wall_in_process)
            overheads.append((wall_default - wall_in_process) / steps_default)
            steps.add(steps_default)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{args.repo}, --select {args.select!r}: {sorted(steps)} steps, {args.runs} pairs")
    print(f"default executor     {summary(default)}")
    print(f"in_process           {summary(in_process)}")
    print(f"overhead per step    {summary(overheads)}")


if __name__ == "__main__":
    main()
