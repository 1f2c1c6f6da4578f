"""Static checks of the Dockerfile: no Docker engine runs here, so it must be right by construction."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def test_base_image_matches_the_python_the_project_requires() -> None:
    (base,) = [rest for kw, rest in instructions() if kw == "FROM"]
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert base.startswith("python:3.11-"), base
    assert "3.11" in requires


def test_every_copied_source_exists_and_is_not_dockerignored() -> None:
    ignored = {
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()
    }
    copies = [shlex.split(rest) for kw, rest in instructions() if kw == "COPY"]
    assert copies
    for args in copies:
        *sources, _dest = [a for a in args if not a.startswith("--")]
        for source in sources:
            assert (ROOT / source).exists(), f"COPY source {source!r} does not exist"
            assert source not in ignored, f"COPY source {source!r} is excluded by .dockerignore"


def test_dependencies_install_from_the_lock_before_the_code() -> None:
    steps = instructions()
    lock_copy = next(
        i for i, (kw, rest) in enumerate(steps) if kw == "COPY" and "requirements.lock" in rest
    )
    lock_install = next(
        i for i, (kw, rest) in enumerate(steps) if kw == "RUN" and "-r requirements.lock" in rest
    )
    code_copy = next(
        i for i, (kw, rest) in enumerate(steps) if kw == "COPY" and "spotify_agent_assets" in rest
    )
    # Layer order keeps the dependency layer cached across code changes.
    assert lock_copy < lock_install < code_copy


def test_image_runs_prod_with_the_postgres_instance_config() -> None:
    env = " ".join(rest for kw, rest in instructions() if kw == "ENV")
    assert "SPOTIFY_AGENT_ENV=prod" in env
    assert "DAGSTER_HOME=/opt/dagster/home" in env
    assert any(
        kw == "COPY" and rest.startswith("dagster.yaml ${DAGSTER_HOME}")
        for kw, rest in instructions()
    )
    assert any(kw == "USER" and rest != "root" for kw, rest in instructions())


def test_cmd_serves_the_configured_module_with_valid_cli_flags() -> None:
    (cmd,) = [rest for kw, rest in instructions() if kw == "CMD"]
    argv = __import__("json").loads(cmd)
    module = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"]
    assert argv[:3] == ["dagster", "code-server", "start"]
    assert argv[argv.index("-m") + 1] == module
    help_text = subprocess.run(
        [sys.executable, "-m", "dagster", "code-server", "start", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for flag in (a for a in argv[3:] if a.startswith("-")):
        assert re.search(rf"(^|\s){re.escape(flag)}[,\s]", help_text), f"unknown flag {flag}"
