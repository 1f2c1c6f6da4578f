"""The dbt vars a Dagster run passes: which warehouse file and which lake. Nothing that changes
between runs goes here: dbt re-parses the whole project when its vars change (the window goes
through the warehouse instead, `run_window`)."""

from __future__ import annotations

import json
from pathlib import Path


def dbt_vars_arg(warehouse_path: Path, lake_root: str | None = None) -> str:
    """The ``--vars`` value: the warehouse file (profiles.yml reads ``warehouse_path``) and,
    when given, the lake its views read (``lake_root``; an ``s3://`` lake makes the profile's
    plugin load httpfs and an S3 secret; without it the profile falls back to
    ``SPOTIFY_AGENT_LAKE_URL``). Passed on the command line, not through the environment, so
    the file dbt writes is always the one whose lock the run holds; both are the same on every
    run, so dbt's partial parse holds. No credential goes here: dbt records its vars in
    ``target/``."""
    values = {"warehouse_path": str(warehouse_path)}
    if lake_root is not None:
        values["lake_root"] = lake_root
    return json.dumps(values, sort_keys=True)
