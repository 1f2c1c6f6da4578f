"""The local Dagster instance that ``make run`` and ``make ui`` use: ``<data>/dagster_home``.

Without a ``dagster.yaml`` there, Dagster runs every queued run at once (up to ten), sends
telemetry, and leaves every pool unlimited; on a two-core laptop a few sensor and automation
runs then fight for the cores. ``python -m spotify_agent_assets.local_instance`` writes one
(unless a ``dagster.yaml`` is already there: a file someone edited is theirs) and sets the
pool limits, which Dagster keeps in the instance's database rather than in the file:

* telemetry off;
* runs queued, at most one per core (each run already uses every core for its own steps);
* every pool one step at a time by default (``stream_ingestion`` and ``audio_landing`` must
  never write the same partition twice at once), and ``spotify_api`` two, as in production:
  Spotify's rate limit is per app over a rolling window.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from spotify_agent_assets.environment import load_settings

INSTANCE_FILE = "dagster.yaml"
DEFAULT_POOL_LIMIT = 1
POOL_LIMITS = {"spotify_api": 2}


def instance_yaml(cores: int) -> str:
    runs = max(1, cores)
    return f"""\
# Local Dagster instance of spotify_agent_assets, written by
# `python -m spotify_agent_assets.local_instance` (make run / make ui). Edit freely: an existing
# file is never overwritten. Pool limits are kept in the instance database
# (`dagster instance concurrency get`).
telemetry:
  enabled: false

run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator

concurrency:
  runs:
    # One run per core ({cores} here): each run uses every core for its own steps already.
    max_concurrent_runs: {runs}
  pools:
    default_limit: {DEFAULT_POOL_LIMIT}
"""


def ensure_local_instance(dagster_home: Path, cores: int | None = None) -> bool:
    """Write ``dagster.yaml`` if missing and apply the pool limits; True if the file was
    written now."""
    import dagster as dg

    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / INSTANCE_FILE
    written = False
    if not config.exists():
        temp = config.with_name(f".{INSTANCE_FILE}.tmp")
        temp.write_text(instance_yaml(cores or os.cpu_count() or 1))
        os.replace(temp, config)
        written = True
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        for pool, limit in POOL_LIMITS.items():
            if instance.event_log_storage.get_concurrency_info(pool).slot_count != limit:
                instance.event_log_storage.set_concurrency_slots(pool, limit)
    return written


def main() -> None:
    home = Path(os.environ.get("DAGSTER_HOME") or load_settings().dagster_home)
    written = ensure_local_instance(home)
    limits = ", ".join(f"{pool} {limit}" for pool, limit in POOL_LIMITS.items())
    state = "written" if written else "kept as it is"
    print(
        f"Dagster instance {home / INSTANCE_FILE}: {state}; pool limits {limits}", file=sys.stderr
    )


if __name__ == "__main__":
    main()
