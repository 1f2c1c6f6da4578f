"""Materialize a selection of assets from CI, and fail the job when a check says the data is bad.

    .venv/bin/python ci/materialize.py --select 'group:streams' --partition 2026-10-31
    .venv/bin/python ci/materialize.py --select 'tag:daily' --partition-range 2026-10-25...2026-10-31
    .venv/bin/python ci/materialize.py --select 'group:analytics and not kind:dbt' --strict

It runs the promised command, ``dagster asset materialize -m spotify_agent_assets.definitions``,
with its output in the CI log, then reads the runs it made from the instance and prints one line
per asset check evaluated (``PASSED`` / ``FAILED``, blocking or not, with the check's own
description). The exit status is the command's: a blocking check that fails stops the run's
downstream steps and fails the run, and the command then exits 1. ``--strict`` also fails the
job on a non-blocking check that failed at ERROR severity (WARN stays a warning).

The instance: ``DAGSTER_HOME`` when set (a production instance, Postgres, must be given that
way). Without it, locally (``SPOTIFY_AGENT_ENV`` unset or ``local``), the local instance under
``SPOTIFY_AGENT_DATA_DIR`` is used and prepared as ``make run`` prepares it; in ``prod`` the
script refuses, since the repository's own ``dagster.yaml`` is not an instance to write to.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "ci/materialize:"


@dataclass(frozen=True)
class CheckOutcome:
    asset: str
    check: str
    passed: bool
    blocking: bool
    severity: str
    description: str | None

    def line(self) -> str:
        state = "PASSED" if self.passed else "FAILED"
        kind = "blocking check" if self.blocking else f"check ({self.severity})"
        tail = f": {self.description}" if self.description and not self.passed else ""
        return f"{PREFIX} {state} {kind} {self.asset} {self.check}{tail}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--select", required=True, help="asset selection, as for dagster")
    window = parser.add_mutually_exclusive_group()
    window.add_argument("--partition", help="one partition key")
    window.add_argument("--partition-range", help="<first>...<last> (single-run backfill)")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="also fail on a non-blocking check that failed at ERROR severity",
    )
    return parser.parse_args(argv)


def instance_home(environ: dict[str, str]) -> Path:
    """DAGSTER_HOME, or the local instance (prepared) when the environment is local."""
    if environ.get("DAGSTER_HOME"):
        return Path(environ["DAGSTER_HOME"])
    if environ.get("SPOTIFY_AGENT_ENV", "local") != "local":
        raise SystemExit(
            f"{PREFIX} DAGSTER_HOME is not set; SPOTIFY_AGENT_ENV="
            f"{environ['SPOTIFY_AGENT_ENV']} needs the folder of its instance's dagster.yaml"
        )
    from spotify_agent_assets.environment import load_settings
    from spotify_agent_assets.local_instance import ensure_local_instance

    home = load_settings(environ).dagster_home
    ensure_local_instance(home)
    return home


def materialize_command(args: argparse.Namespace) -> list[str]:
    dagster = Path(sys.executable).with_name("dagster")
    command = [str(dagster), "asset", "materialize", "-m", "spotify_agent_assets.definitions"]
    command += ["--select", args.select]
    if args.partition:
        command += ["--partition", args.partition]
    if args.partition_range:
        command += ["--partition-range", args.partition_range]
    return command


def check_outcomes(instance: object, run_ids: list[str]) -> list[CheckOutcome]:
    """Every asset check evaluated in ``run_ids``, in the order they were recorded."""
    import dagster as dg

    outcomes = []
    for run_id in run_ids:
        records = instance.get_records_for_run(  # type: ignore[attr-defined]
            run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        for record in records:
            evaluation = record.event_log_entry.dagster_event.event_specific_data
            outcomes.append(
                CheckOutcome(
                    asset=evaluation.asset_key.to_user_string(),
                    check=evaluation.check_name,
                    passed=evaluation.passed,
                    blocking=bool(evaluation.blocking),
                    severity=evaluation.severity.value,
                    description=evaluation.description,
                )
            )
    return outcomes


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    environ = dict(os.environ)
    home = instance_home(environ)
    environ["DAGSTER_HOME"] = str(home)
    os.environ["DAGSTER_HOME"] = str(home)

    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        before = {run.run_id for run in instance.get_runs()}
        # The command's own output goes to the CI log as it comes. An argument list, no shell:
        # the selection reaches dagster as one argument, whatever it contains.
        command = materialize_command(args)
        code = subprocess.run(command, cwd=ROOT, env=environ, check=False)  # noqa: S603
        new_runs = [run.run_id for run in instance.get_runs() if run.run_id not in before]
        outcomes = check_outcomes(instance, new_runs)

    for outcome in outcomes:
        print(outcome.line(), flush=True)
    blocking_failed = [o for o in outcomes if not o.passed and o.blocking]
    error_failed = [
        o for o in outcomes if not o.passed and not o.blocking and o.severity == "ERROR"
    ]
    if code.returncode != 0:
        named = ", ".join(f"{o.asset} {o.check}" for o in blocking_failed)
        cause = f"blocking check failed: {named}" if named else "the run failed (see above)"
        print(f"{PREFIX} {cause}; exit {code.returncode}", file=sys.stderr)
        return code.returncode
    if blocking_failed:  # the command always fails then; never let it pass unnoticed
        print(f"{PREFIX} a blocking check failed but dagster exited 0", file=sys.stderr)
        return 1
    if args.strict and error_failed:
        named = ", ".join(f"{o.asset} {o.check}" for o in error_failed)
        print(f"{PREFIX} --strict: checks failed at ERROR severity: {named}", file=sys.stderr)
        return 1
    print(
        f"{PREFIX} {len(new_runs)} run(s), {len(outcomes)} check(s) evaluated, none blocking failed"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
