"""Cold import time of the code location (what `dagster dev`, every run worker and every
forkserver pay once; before the forkserver executor, every step process too).

Each sample is a fresh interpreter importing `spotify_agent_assets.definitions`; the figure to
quote is the median. Goal: under 1.5 s, which holds only while heavy libraries (dagster-dbt and
dbt-core, spotipy, duckdb, pandas, torch, librosa, mlflow, sklearn) are imported inside the
functions that use them. ``--repo`` measures another source tree with this virtualenv (an
exported commit, for a before/after comparison).

    taskset -c 0,1 .venv/bin/python bench/import_time.py [runs] [--repo DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HEAVY = (
    "dagster_dbt",
    "dbt",
    "spotipy",
    "requests",
    "duckdb",
    "pyarrow",
    "numpy",
    "pandas",
    "torch",
    "librosa",
    "mlflow",
    "sklearn",
)
CODE = "import spotify_agent_assets.definitions"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="?", type=int, default=10)
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args()
    # The tree's own package first (it shadows the editable install), as the code server sees it.
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(args.repo), os.environ.get("PYTHONPATH")])),
    }

    def run(code: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-W", "ignore", "-c", code]
        return subprocess.run(command, cwd=args.repo, env=env, check=True, text=True, **kwargs)

    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    samples = []
    for _ in range(args.runs + 1):  # the first run warms the OS file cache and is dropped
        start = time.perf_counter()
        run(CODE)
        samples.append(time.perf_counter() - start)
    samples = samples[1:]
    probe = f"{CODE}; import sys; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = run(probe, capture_output=True).stdout.strip()
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"{CODE} ({args.repo}): median {statistics.median(samples):.2f} s, "
        f"min {min(samples):.2f} s, max {max(samples):.2f} s over {args.runs} runs"
    )
    print(f"heavy libraries loaded at import: {loaded or 'none'}")


if __name__ == "__main__":
    main()
