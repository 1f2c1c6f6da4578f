"""The Dagster UI (webserver) loads the code location from workspace.yaml and lists its assets."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QUERY = "{ assetNodes { assetKey { path } groupName hasAssetChecks } }"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_webserver_serves_the_asset_graph(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "DAGSTER_"))}
    env.update(DAGSTER_HOME=str(tmp_path), SPOTIFY_AGENT_DATA_DIR=str(tmp_path / "data"))
    log = (tmp_path / "webserver.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster_webserver",
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        nodes = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                nodes = graphql(port, QUERY)["data"]["assetNodes"]
                break
            except (OSError, KeyError, TypeError):
                time.sleep(1)
        assert nodes is not None, (tmp_path / "webserver.log").read_text()[-3000:]
        groups = {node["assetKey"]["path"][-1]: node["groupName"] for node in nodes}
        assert groups["spotify_tracks"] == "spotify"
        assert groups["artist_snapshots"] == "spotify_history"
        assert groups["stream_events"] == "streams"
        assert groups["artist_daily_metrics"] == "analytics"
        checked = {node["assetKey"]["path"][-1] for node in nodes if node["hasAssetChecks"]}
        assert {"spotify_tracks", "stream_events", "fct_streams_daily"} <= checked
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
