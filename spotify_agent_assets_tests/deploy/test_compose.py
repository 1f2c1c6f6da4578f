"""compose.yaml checked as `docker compose config` would check it, plus what config cannot know:
references resolve, healthchecks gate the start order, the worker's command is one the installed
dagster-celery accepts, and every setting is documented in deploy/env.example without a secret."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from spotify_agent_assets_tests.deploy.cli_options import cli_options
from spotify_agent_assets_tests.deploy.compose_check import (
    InterpolationError,
    interpolate,
    referenced_variables,
    schema_errors,
)

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
ENV_EXAMPLE = ROOT / "deploy" / "env.example"
# Names whose values are credentials: env.example must leave them empty.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_KEY\b|_KEY_ID\b|TOKEN|DSN|WEBHOOK")


def env_example() -> dict[str, str]:
    values = {}
    for number, line in enumerate(ENV_EXAMPLE.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Z_][A-Z0-9_]*", name), f"env.example:{number}: {line!r}"
        assert name not in values, f"env.example sets {name} twice"
        values[name] = value
    return values


def filled_env() -> dict[str, str]:
    """env.example with its empty required values filled in, as an operator's .env would be."""
    return {name: value or f"test-{name.lower()}" for name, value in env_example().items()}


def raw_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def compose() -> dict[str, Any]:
    return interpolate(raw_compose(), filled_env())


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def argv(value: str | list[str]) -> list[str]:
    return value.split() if isinstance(value, str) else list(value)


def _strings(value: Any) -> list[str]:
    """Every string in a loaded YAML document (comments are not part of it)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def test_compose_matches_the_compose_specification_schema() -> None:
    assert schema_errors(compose()) == []


def test_the_schema_rejects_what_compose_config_rejects() -> None:
    """The checker itself fails on a misspelt key, a bad condition and a bad duration."""
    document = compose()
    document["services"]["redis"]["helthcheck"] = document["services"]["redis"].pop("healthcheck")
    document["services"]["worker"]["depends_on"]["redis"]["condition"] = "healthy"
    document["services"]["postgres"]["healthcheck"]["interval"] = "10 seconds"
    errors = "\n".join(schema_errors(document))
    assert "helthcheck" in errors
    assert "healthy" in errors
    assert "10 seconds" in errors


def test_every_variable_is_documented_in_env_example() -> None:
    documented = set(env_example())
    used = set().union(*map(referenced_variables, _strings(raw_compose())))
    assert used, "compose.yaml takes no settings from the environment?"
    assert used - documented == set(), "document these in deploy/env.example"


def test_required_secrets_stop_the_stack_when_unset() -> None:
    with pytest.raises(InterpolationError, match=r"POSTGRES_PASSWORD|REDIS_PASSWORD|S3_"):
        interpolate(raw_compose(), env_example())


def test_interpolation_follows_compose_rules() -> None:
    env = {"SET": "x", "EMPTY": ""}
    assert interpolate("${SET:-d} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d} $$SET $SET", env) == (
        "x d  d $SET x"
    )
    assert interpolate("${SET:+alt}${EMPTY:+alt}", env) == "alt"
    with pytest.raises(InterpolationError, match="EMPTY"):
        interpolate("${EMPTY:?needed}", env)
    with pytest.raises(InterpolationError, match="lone"):
        interpolate("cost: 5$", env)


def test_env_example_commits_no_secret() -> None:
    for name, value in env_example().items():
        if SECRET_NAME.search(name):
            assert value == "", f"deploy/env.example must leave {name} empty"


def test_env_file_is_kept_out_of_git_and_the_image() -> None:
    for service in raw_compose()["services"].values():
        for env_file in argv(service.get("env_file", [])):
            assert env_file == ".env"
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in (ROOT / ".dockerignore").read_text().splitlines()


def test_depends_on_names_services_with_the_healthchecks_it_waits_for() -> None:
    declared = services()
    for name, service in declared.items():
        for target, spec in service.get("depends_on", {}).items():
            assert target in declared, f"{name} depends on undeclared service {target}"
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in declared[target], f"{target} has no healthcheck"
            if spec["condition"] == "service_completed_successfully":
                assert declared[target].get("restart") == "no", f"{target} must run once"
    # The order is a DAG: compose would refuse a cycle.
    order: list[str] = []

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"depends_on cycle: {' -> '.join((*path, name))}"
        for target in declared[name].get("depends_on", {}):
            visit(target, (*path, name))
        if name not in order:
            order.append(name)

    for name in declared:
        visit(name, ())
    assert order.index("postgres") < order.index("code-server") < order.index("webserver")


def test_every_long_running_service_has_a_healthcheck() -> None:
    for name, service in services().items():
        if service.get("restart") != "no":
            assert "healthcheck" in service, f"{name} has no healthcheck"


def test_volumes_and_networks_are_declared_and_bind_mounts_exist() -> None:
    document = compose()
    for name, service in document["services"].items():
        for network in service.get("networks", []):
            assert network in document["networks"], f"{name}: undeclared network {network}"
        for volume in service.get("volumes", []):
            source, _, rest = volume.partition(":")
            target = rest.split(":")[0]
            assert target.startswith("/"), f"{name}: {volume!r} has no absolute target"
            if source.startswith((".", "/")):
                assert (ROOT / source).is_file(), f"{name}: bind source {source} missing"
                assert rest.endswith(":ro"), f"{name}: config mount {volume!r} must be read-only"
            else:
                assert source in document["volumes"], f"{name}: undeclared volume {source}"


def test_images_are_pinned_and_ours_is_built_never_pulled() -> None:
    for name, service in services().items():
        image = service["image"]
        if "build" in service:
            assert service.get("pull_policy") == "build", name
            assert image.startswith("spotify-agent-assets:"), name
            continue
        repository, _, tag = image.partition("@")[0].rpartition(":")
        assert repository and tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest" and re.match(r"\d+\.\d+", tag), f"{name}: {image!r} is not pinned"


def test_published_ports_bind_localhost_without_clashes() -> None:
    seen: dict[str, str] = {}
    for name, service in services().items():
        for port in service.get("ports", []):
            host_ip, host_port, container_port = port.split(":")
            assert host_ip == "127.0.0.1", f"{name} publishes {port} beyond this host"
            assert host_port.isdigit() and container_port.isdigit(), port
            assert host_port not in seen, f"{name} and {seen[host_port]} both publish {host_port}"
            seen[host_port] = name
    assert set(seen.values()) == {"webserver", "seaweedfs"}


def test_worker_command_is_a_valid_dagster_celery_worker_start() -> None:
    from importlib.util import find_spec

    from spotify_agent_assets.distributed.celery_config import QUEUES

    worker = services()["worker"]
    command = argv(worker["entrypoint"])
    assert command[:3] == ["dagster-celery", "worker", "start"]
    options = command[3:]
    flags = cli_options("dagster-celery", "worker", "start")
    for flag in (a for a in options if a.startswith("-")):
        assert flag in flags, f"dagster-celery worker start has no option {flag}"
    value = {flag: options[i + 1] for i, flag in enumerate(options) if flag.startswith("-")}
    # Our app (broker and settings from the environment, as the executor), importable here.
    assert value["-A"] == "spotify_agent_assets.defs.celery_app"
    assert find_spec(value["-A"]) is not None
    # One -q with every queue: Celery keeps only the last of several -Q.
    assert [a for a in options if a in ("-q", "--queue")] == ["-q"]
    assert sorted(value["-q"].split(",")) == sorted(QUEUES)


def test_worker_healthcheck_pings_the_worker_by_name_with_real_celery_options() -> None:
    import click
    from celery.bin.celery import celery

    worker = services()["worker"]
    command = argv(worker["entrypoint"])
    name = command[command.index("-n") + 1]
    kind, shell = worker["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    words = shell.split()
    assert words[0] == "celery" and words[3:5] == ["inspect", "ping"]
    assert words[1] in {o for p in celery.params for o in p.opts}
    inspect = celery.get_command(click.Context(celery), "inspect")
    inspect_options = {o for p in inspect.params for o in p.opts}
    assert {w for w in words[5:] if w.startswith("-")} <= inspect_options
    # dagster-celery names the worker <name>@<hostname> (%h); $HOSTNAME is that inside.
    assert words[words.index("-d") + 1] == f'"{name}@$HOSTNAME"'


def test_the_worker_and_the_runs_share_a_usable_broker_setting() -> None:
    from spotify_agent_assets.defs.celery_executor import celery_executor_config

    env = compose()["x-agent"]["environment"]
    # What the executor and the worker's app both build from: it must accept compose's URL.
    config = celery_executor_config(env)
    assert config["broker"] == {"env": "DAGSTER_CELERY_BROKER_URL"}


def test_dagster_healthchecks_and_entrypoints_use_real_cli_options() -> None:
    declared = services()
    grpc = argv(declared["code-server"]["healthcheck"]["test"])[1:]
    assert grpc[:3] == ["dagster", "api", "grpc-health-check"]
    assert set(a for a in grpc[3:] if a.startswith("-")) <= cli_options(
        "dagster", "api", "grpc-health-check"
    )
    webserver = argv(declared["webserver"]["entrypoint"])
    assert webserver[0] == "dagster-webserver"
    assert set(a for a in webserver if a.startswith("-")) <= cli_options("dagster-webserver")
    daemon = argv(declared["daemon"]["entrypoint"])
    assert daemon[:2] == ["dagster-daemon", "run"]
    assert set(a for a in daemon if a.startswith("-")) <= cli_options("dagster-daemon", "run")
    assert argv(declared["daemon"]["healthcheck"]["test"])[1:] == [
        "dagster-daemon",
        "liveness-check",
    ]


def _workspace_mount(service: Mapping[str, Any]) -> str:
    command = argv(service["entrypoint"])
    target = command[command.index("-w") + 1]
    mounts = dict(v.split(":")[1::-1] for v in service["volumes"])
    return mounts[target]


def test_webserver_and_daemon_load_the_code_server_over_grpc() -> None:
    from dagster._core.workspace.config_schema import ensure_workspace_config

    declared = services()
    for name in ("webserver", "daemon"):
        assert _workspace_mount(declared[name]) == "./deploy/workspace.yaml", name
    workspace = yaml.safe_load((ROOT / "deploy" / "workspace.yaml").read_text())
    ensure_workspace_config(workspace, str(ROOT / "deploy"))
    (entry,) = workspace["load_from"]
    server = entry["grpc_server"]
    assert server["host"] in declared
    # The port the image's code server listens on (its ENTRYPOINT) and reports healthy on.
    dockerfile = (ROOT / "Dockerfile").read_text()
    (entrypoint,) = re.findall(r"^ENTRYPOINT (\[.*\])$", dockerfile, re.MULTILINE)
    image_argv = yaml.safe_load(entrypoint)
    assert image_argv[image_argv.index("-p") + 1] == str(server["port"])
    grpc = argv(declared["code-server"]["healthcheck"]["test"])
    assert grpc[grpc.index("-p") + 1] == str(server["port"])
    module = image_argv[image_argv.index("-m") + 1]
    import tomllib

    assert (
        module
        == tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"]
    )
    assert server["location_name"] == "spotify_agent_assets"


def test_dagster_services_reach_the_stack_by_service_name() -> None:
    declared = services()
    env = compose()["x-agent"]["environment"]
    assert env["DAGSTER_PG_HOST"] in declared
    assert re.fullmatch(r"redis://:[^@]+@redis:6379/\d+", env["DAGSTER_CELERY_BROKER_URL"])
    assert env["AWS_ENDPOINT_URL_S3"] == "http://seaweedfs:8333"
    assert env["SPOTIFY_AGENT_LAKE_URL"].startswith("s3://")
    # dagster.yaml's every env: reference is set for the Dagster containers.
    instance = (ROOT / "dagster.yaml").read_text()
    for name in re.findall(r"env:\s*([A-Z_][A-Z0-9_]*)", instance):
        assert name in env, f"dagster.yaml reads {name}; compose.yaml does not set it"
