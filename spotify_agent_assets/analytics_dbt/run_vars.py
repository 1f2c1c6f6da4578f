"""The dbt vars a Dagster run passes: which warehouse file. Nothing that changes between runs
goes here: dbt re-parses the whole project when its vars change (the window goes through the
warehouse instead, `run_window`)."""

from __future__ import annotations

import json
from pathlib import Path


def dbt_vars_arg(warehouse_path: Path) -> str:
    """The ``--vars`` value: the warehouse file (profiles.yml reads ``warehouse_path``). Passed
    on the command line, not through the environment, so the file dbt writes is always the one
    whose lock the run holds; it is the same file on every run, so dbt's partial parse holds."""
    return json.dumps({"warehouse_path": str(warehouse_path)}, sort_keys=True)
