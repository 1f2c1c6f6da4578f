"""Fixtures of the browser tests: a small real deployment, `dagster dev` on it, and Chromium.

The deployment is built once per module (``ui_world``: about 1.5 minutes on 2 busy cores), then
`dagster dev` is started on it as `make ui` starts it (the same command, the local backup key
handed over), on free ports, and stopped with its whole process group (webserver, daemon, code
server, run workers) after the module.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from spotify_agent_assets_tests.services import in_ci
from spotify_agent_assets_tests.test_webserver import free_port
from spotify_agent_assets_tests.ui import ui_world

ROOT = Path(__file__).resolve().parents[2]
# Debian's Chromium (installed by .ci/run); Playwright cannot download its own browser here.
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "/usr/bin/chromium")
# Where the tests also save their screenshots when set (docs/img to refresh the README's).
SCREENSHOT_DIR_VAR = "SPOTIFY_AGENT_UI_SCREENSHOTS"
VIEWPORT = {"width": 1440, "height": 900}
# Generous: two busy CI cores load the code location in each run worker.
STEP_TIMEOUT_MS = 60_000
LOCATION = "spotify_agent_assets"
STARTUP_SECONDS = 240
WORLD_SECONDS = 600


@dataclass(frozen=True)
class UiWorld:
    """The deployment the UI runs on, and what the builder planted in it."""

    data_dir: Path
    dagster_home: Path
    duplicate_playlist_id: str

    def env(self) -> dict[str, str]:
        # As a user's shell: nothing of the test process's own Dagster or agent settings.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "DAGSTER_"))}
        env.update(
            SPOTIFY_AGENT_DATA_DIR=str(self.data_dir),
            DAGSTER_HOME=str(self.dagster_home),
            DBT_SEND_ANONYMOUS_USAGE_STATS="false",
            DO_NOT_TRACK="true",
            MLFLOW_DISABLE_TELEMETRY="true",
        )
        return env


@dataclass(frozen=True)
class DagsterUi:
    url: str
    world: UiWorld
    log: Path

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        host, port = self.url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            connection.request(
                "POST",
                "/graphql",
                body=json.dumps({"query": query, "variables": variables or {}}),
                headers={"Content-Type": "application/json"},
            )
            body = json.loads(connection.getresponse().read())
        finally:
            connection.close()
        if body.get("errors"):
            raise AssertionError(f"GraphQL errors for {query[:80]!r}: {body['errors']}")
        return body["data"]


def chromium_executable() -> str:
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    reason = "no Chromium on PATH (Debian package chromium)"
    if in_ci():  # as for the services: CI installs it, so a skip would hide a broken run
        pytest.fail(f"{reason}, and CI=true requires it (.ci/run installs it)")
    pytest.skip(f"{reason}; install it to run the browser tests")


@pytest.fixture(scope="module")
def browser_path() -> str:
    return chromium_executable()


@pytest.fixture(scope="module")
def ui_world_built(tmp_path_factory: pytest.TempPathFactory, browser_path: str) -> UiWorld:
    root = tmp_path_factory.mktemp("ui")
    data_dir = root / "data"
    world = UiWorld(
        data_dir=data_dir,
        dagster_home=data_dir / "dagster_home",
        duplicate_playlist_id="",
    )
    log = root / "ui_world.log"
    with log.open("w") as out:
        built = subprocess.run(
            [sys.executable, "-m", "spotify_agent_assets_tests.ui.ui_world"],
            cwd=ROOT,
            env=world.env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=WORLD_SECONDS,
            check=False,
        )
    assert built.returncode == 0, log.read_text()[-4000:]
    facts = json.loads((data_dir / ui_world.FACTS_FILE).read_text())
    return UiWorld(
        data_dir=data_dir,
        dagster_home=world.dagster_home,
        duplicate_playlist_id=facts["duplicate_playlist_id"],
    )


def _location_loaded(ui: DagsterUi) -> bool:
    data = ui.graphql(
        "{ workspaceOrError { ... on Workspace { locationEntries {"
        " name locationOrLoadError { __typename } } } } }"
    )
    entries = data["workspaceOrError"].get("locationEntries") or []
    kinds = {e["name"]: (e["locationOrLoadError"] or {}).get("__typename") for e in entries}
    if kinds.get(LOCATION) == "PythonError":
        raise AssertionError(f"the code location failed to load: see {ui.log}")
    return kinds.get(LOCATION) == "RepositoryLocation"


@pytest.fixture(scope="module")
def dagster_ui(ui_world_built: UiWorld) -> Iterator[DagsterUi]:
    """`dagster dev` on the built deployment, as `make ui` runs it."""
    env = ui_world_built.env()
    key = subprocess.run(
        [sys.executable, "-m", "spotify_agent_assets.maintenance.local_backup_key"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    env["SPOTIFY_AGENT_BACKUP_KEY"] = key.stdout.strip()
    port = free_port()
    log = ui_world_built.data_dir.parent / "dagster_dev.log"
    out = log.open("w")
    dagster = str(Path(sys.executable).with_name("dagster"))
    server = subprocess.Popen(
        [dagster, "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped whole below
    )
    ui = DagsterUi(url=f"http://127.0.0.1:{port}", world=ui_world_built, log=log)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert server.poll() is None, f"dagster dev exited: {log.read_text()[-4000:]}"
            with contextlib.suppress(OSError, KeyError, ValueError):
                if _location_loaded(ui):
                    break
            assert time.monotonic() < deadline, f"UI not up in time: {log.read_text()[-4000:]}"
            time.sleep(1)
        # The runs the tests launch are then the only work: a UI-launched partition would
        # otherwise set the automation off rebuilding what follows it (dbt, analytics,
        # activation) on CI's two cores. The automation has its own tests (defs/).
        stop_sensor(ui, "automation_condition_sensor")
        yield ui
    finally:
        _stop_group(server)
        out.close()


def stop_sensor(ui: DagsterUi, name: str) -> None:
    found = ui.graphql(
        "query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {"
        " ... on Sensor { sensorState { id selectorId } } } }",
        {
            "s": {
                "repositoryLocationName": LOCATION,
                "repositoryName": "__repository__",
                "sensorName": name,
            }
        },
    )
    state = found["sensorOrError"]["sensorState"]
    stopped = ui.graphql(
        "mutation($origin: String, $selector: String) {"
        " stopSensor(jobOriginId: $origin, jobSelectorId: $selector) {"
        " ... on StopSensorMutationResult { instigationState { status } } } }",
        {"origin": state["id"], "selector": state["selectorId"]},
    )
    assert stopped["stopSensor"]["instigationState"]["status"] == "STOPPED", stopped


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group (dagster dev shuts its children down), SIGKILL if stuck."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(browser_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=browser_path, args=["--no-sandbox"], headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[CALL_FAILED] = report.failed
    return report


CALL_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A fresh tab; on a failed test its screenshot is kept under the test's tmp_path."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    tab = context.new_page()
    try:
        yield tab
    finally:
        if request.node.stash.get(CALL_FAILED, False):
            with contextlib.suppress(Exception):
                shot = tmp_path / "failure.png"
                tab.screenshot(path=str(shot), full_page=True)
                print(f"screenshot of the failure: {shot}")
        context.close()


def save_screenshot(page: Any, name: str) -> None:
    """Save the page as ``<name>.png`` where SPOTIFY_AGENT_UI_SCREENSHOTS points, if set."""
    folder = os.environ.get(SCREENSHOT_DIR_VAR)
    if folder:
        target = Path(folder)
        target.mkdir(parents=True, exist_ok=True)
        shot = target / f"{name}.png"
        page.screenshot(path=str(shot))
        # A UI screenshot is mostly flat colour: 256 colours keep it sharp at a third the size.
        from PIL import Image

        with Image.open(shot) as image:
            flat = image.convert("RGB").quantize(colors=256)
        flat.save(shot, optimize=True)
