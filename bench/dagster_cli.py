"""The ``dagster asset materialize`` command line the benchmarks time, as ``make run`` runs it:
the code location of this environment, every step in one process."""

from __future__ import annotations

import sys
from pathlib import Path

BIN = Path(sys.executable).parent
IN_PROCESS = '{"execution": {"config": {"in_process": {}}}}'


def materialize_command(*args: str) -> list[str]:
    """``dagster asset materialize -m spotify_agent_assets.definitions`` in process, plus ``args``
    (``--select ...``, ``--partition-range ...``)."""
    return [
        str(BIN / "dagster"),
        "asset",
        "materialize",
        "-m",
        "spotify_agent_assets.definitions",
        "--config-json",
        IN_PROCESS,
        *args,
    ]
