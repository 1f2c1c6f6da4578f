"""Cold import time of the code location (what `dagster dev` and every run worker pay).

Each sample is a fresh interpreter importing `spotify_agent_assets.definitions`; the figure to
quote is the median. Goal: under 2 s, which holds only while heavy libraries (spotipy, duckdb,
pandas, torch, librosa, mlflow, sklearn) are imported inside the functions that use them.

    .venv/bin/python bench/import_time.py [runs]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

HEAVY = ("spotipy", "requests", "duckdb", "pandas", "torch", "librosa", "mlflow", "sklearn")


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    code = "import spotify_agent_assets.definitions"
    samples = []
    for _ in range(runs + 1):  # the first run warms the OS file cache and is dropped
        start = time.perf_counter()
        subprocess.run([sys.executable, "-W", "ignore", "-c", code], check=True)
        samples.append(time.perf_counter() - start)
    samples = samples[1:]
    probe = f"{code}; import sys; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", probe], check=True, capture_output=True, text=True
    ).stdout.strip()
    print(
        f"import spotify_agent_assets.definitions: median {statistics.median(samples):.2f} s, "
        f"min {min(samples):.2f} s, max {max(samples):.2f} s over {runs} runs"
    )
    print(f"heavy libraries loaded at import: {loaded or 'none'}")


if __name__ == "__main__":
    main()
