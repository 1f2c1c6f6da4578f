"""How the UI's partition views answer with daily partitions back to 2008 (thousands of days).

    .venv/bin/python bench/ui_partitions.py DATA_DIR [--runs 5]

Starts the Dagster webserver on ``DATA_DIR`` (a ``make run`` output: its lake, warehouse and
``dagster_home``) and times the GraphQL queries behind an asset's partition views, for the
daily assets: the partition keys, the health bar (materialized / failed / missing ranges), and
the asset graph's partition statuses. Prints median and maximum milliseconds per query.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ("stream_events", "fct_streams_daily", "artist_snapshots")
PARTITION_KEYS = """
query($path: [String!]!) { assetNodeOrError(assetKey: {path: $path}) {
  ... on AssetNode { partitionKeysByDimension { name partitionKeys } } } }"""
HEALTH_BAR = """
query($path: [String!]!) { assetNodeOrError(assetKey: {path: $path}) {
  ... on AssetNode { assetPartitionStatuses {
    ... on TimePartitionStatuses { ranges { status startKey endKey } } } } } }"""
GRAPH_STATUS = """
query { assetNodes { assetKey { path } partitionStats {
  numMaterialized numPartitions numFailed numMaterializing } } }"""


def graphql(port: int, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        answer = json.loads(response.read())
    if answer.get("errors"):
        raise RuntimeError(answer["errors"])
    return answer["data"]


def timed(
    port: int, runs: int, query: str, variables: dict | None = None
) -> tuple[float, float, dict]:
    samples, data = [], {}
    for _ in range(runs):
        started = time.perf_counter()
        data = graphql(port, query, variables)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), max(samples), data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    data = args.data_dir.resolve()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "SPOTIFY_AGENT_DATA_DIR": str(data),
        "DAGSTER_HOME": str(data / "dagster_home"),
    }
    with open(data / "ui_partitions.log", "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "dagster_webserver", "-w", "workspace.yaml", "-p", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                graphql(port, "{ assetNodes { id } }")
                break
            except (OSError, RuntimeError):
                if time.monotonic() > deadline or server.poll() is not None:
                    sys.exit(f"the webserver did not answer; see {data / 'ui_partitions.log'}")
                time.sleep(1)
        print("| query | asset | partitions | median | max |\n|---|---|---:|---:|---:|")
        for asset in ASSETS:
            variables = {"path": [asset]}
            median, worst, answer = timed(port, args.runs, PARTITION_KEYS, variables)
            keys = answer["assetNodeOrError"]["partitionKeysByDimension"][0]["partitionKeys"]
            print(
                f"| partition keys | {asset} | {len(keys):,} | {median:.0f} ms | {worst:.0f} ms |"
            )
            median, worst, _ = timed(port, args.runs, HEALTH_BAR, variables)
            print(f"| health bar | {asset} | {len(keys):,} | {median:.0f} ms | {worst:.0f} ms |")
        median, worst, answer = timed(port, args.runs, GRAPH_STATUS)
        nodes = len(answer["assetNodes"])
        print(
            f"| asset graph partition stats | all {nodes} assets | | {median:.0f} ms | {worst:.0f} ms |"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
