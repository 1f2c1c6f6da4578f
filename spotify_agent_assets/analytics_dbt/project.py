"""Where the dbt project lives and how its manifest is prepared, without any network access.

Dagster builds the dbt assets from ``dbt_project/target/manifest.json``, so the manifest must
exist before the code location loads. ``python -m spotify_agent_assets.analytics_dbt prepare``
writes it (``dbt parse``: the project has no packages, so nothing is downloaded); the code
location also re-parses on load when the manifest is missing or older than a project file, so a
model edited in development shows up on the next reload.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from spotify_agent_assets.environment import PROJECT_ROOT

DBT_PROJECT_NAME = "dbt_project"
TARGET_DIR = "target"
MANIFEST_FILE = "manifest.json"
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
# Folders of the project that hold dbt's own output, not sources of the manifest.
GENERATED_DIRS = frozenset({TARGET_DIR, "logs", "dbt_packages"})
SOURCE_SUFFIXES = frozenset({".sql", ".yml", ".yaml", ".csv", ".md"})
TOP_LEVEL_SUFFIXES = frozenset({".yml", ".yaml"})
# dbt sends anonymous usage statistics unless told not to; nothing may leave the machine.
DBT_ENV = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}


class ManifestPrepareError(RuntimeError):
    """``dbt parse`` failed; the message carries dbt's output."""


def find_project_dir() -> Path:
    """``dbt_project/`` beside the package in a checkout (editable install), else in the
    working directory (the production image installs the package and runs from the app root)."""
    for candidate in (PROJECT_ROOT / DBT_PROJECT_NAME, Path.cwd() / DBT_PROJECT_NAME):
        if (candidate / "dbt_project.yml").is_file():
            return candidate.resolve()
    raise FileNotFoundError(
        f"no dbt project: neither {PROJECT_ROOT / DBT_PROJECT_NAME} nor "
        f"{Path.cwd() / DBT_PROJECT_NAME} contains a dbt_project.yml"
    )


def manifest_path(project_dir: Path) -> Path:
    return project_dir / TARGET_DIR / MANIFEST_FILE


def dbt_executable() -> str:
    """The ``dbt`` installed beside this interpreter (a venv's bin/ is not always on PATH)."""
    beside = Path(sys.executable).parent / "dbt"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("dbt")
    if found is None:
        raise FileNotFoundError(
            f"no dbt executable beside {sys.executable} or on PATH; install dbt-core and "
            "dbt-duckdb (requirements.lock)"
        )
    return found


def newest_source_mtime(project_dir: Path) -> float:
    """Latest modification time of what dbt parses: models, macros, tests, yml, and their
    folders (for deletions)."""
    newest = 0.0
    for root, dirs, files in os.walk(project_dir):
        top = Path(root) == project_dir
        if top:
            dirs[:] = [d for d in dirs if d not in GENERATED_DIRS]
        else:
            # A folder's time changes when a file in it is deleted or renamed.
            newest = max(newest, Path(root).stat().st_mtime)
        for name in files:
            suffix = Path(name).suffix
            # At the top only the project and profile files count (not this folder's README).
            if suffix in (TOP_LEVEL_SUFFIXES if top else SOURCE_SUFFIXES):
                newest = max(newest, (Path(root) / name).stat().st_mtime)
    return newest


def manifest_is_current(project_dir: Path) -> bool:
    manifest = manifest_path(project_dir)
    return manifest.is_file() and manifest.stat().st_mtime >= newest_source_mtime(project_dir)


def prepare_manifest(project_dir: Path | None = None, *, force: bool = False) -> Path:
    """Write ``target/manifest.json`` (and dbt's partial-parse cache) unless already current.

    Parses into a scratch folder and renames the results into place, under a file lock, so
    processes loading the code location at the same time never read a half-written manifest.
    """
    project_dir = project_dir or find_project_dir()
    # Checked before locking too: a current manifest needs nothing written (a read-only
    # deployment imports fine).
    if not force and manifest_is_current(project_dir):
        return manifest_path(project_dir)
    target = project_dir / TARGET_DIR
    target.mkdir(parents=True, exist_ok=True)
    with open(target / ".prepare.lock", "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        # Another process may have parsed while this one waited.
        if not force and manifest_is_current(project_dir):
            return manifest_path(project_dir)
        with tempfile.TemporaryDirectory(prefix=".parse-", dir=target) as scratch:
            _dbt_parse(project_dir, Path(scratch))
            for name in (PARTIAL_PARSE_FILE, MANIFEST_FILE):  # the manifest last: it marks done
                produced = Path(scratch) / name
                if produced.is_file():
                    os.replace(produced, target / name)
    return manifest_path(project_dir)


def _dbt_parse(project_dir: Path, scratch: Path) -> None:
    command = [
        dbt_executable(),
        "parse",
        "--quiet",
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(project_dir),
        "--target-path",
        str(scratch),
        "--log-path",
        str(scratch),
    ]
    result = subprocess.run(  # noqa: S603 -- fixed dbt argv, no shell
        command,
        cwd=project_dir,
        env={**os.environ, **DBT_ENV},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not (scratch / MANIFEST_FILE).is_file():
        raise ManifestPrepareError(
            f"dbt parse of {project_dir} failed (exit {result.returncode}):\n"
            f"{result.stdout}{result.stderr}".rstrip()
        )
