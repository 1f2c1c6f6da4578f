"""``python -m spotify_agent_assets.observability.metrics_server --port 9464``: Prometheus
metrics per asset, read from the Dagster instance, on ``/metrics``.

The server holds no state of its own: on each scrape a collector reads the runs finished since
the previous scrape from the instance (``DAGSTER_HOME``'s dagster.yaml: the local SQLite one or
the production PostgreSQL), so it sees the steps of every executor (in process, forked, Celery
workers) and a restart rebuilds the same totals. One server per instance; scrape it every
30-60 s. What it exports: ``observability.metrics``.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from spotify_agent_assets.observability.metrics import RunMetricsCollector
from spotify_agent_assets.observability.run_summary import RunSummary

DEFAULT_PORT = 9464  # the port OpenTelemetry's Prometheus exporter uses by convention
RUNS_PER_READ = 200


def instance_collector(instance: Any) -> RunMetricsCollector:
    """A collector over ``instance`` (a ``DagsterInstance``) that reads new finished runs."""
    from spotify_agent_assets.defs.observability.run_events import finished_runs_after

    cursor = {"after": 0}

    def fetch_new() -> Iterator[RunSummary]:
        while True:
            runs, cursor["after"] = finished_runs_after(instance, cursor["after"], RUNS_PER_READ)
            yield from runs
            if not runs:
                return

    return RunMetricsCollector(fetch_new)


@contextmanager
def serving(instance: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[Any]:
    """Serve ``/metrics`` for ``instance`` in a background thread; yields the server (its
    ``server_port`` is the port bound, useful with ``port=0``)."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from prometheus_client import CollectorRegistry, make_wsgi_app

    registry = CollectorRegistry(auto_describe=False)
    registry.register(instance_collector(instance))

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per scrape would drown the container's log

    server = make_server(host, port, make_wsgi_app(registry), handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (0.0.0.0 in a container)"
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port to serve /metrics on")
    args = parser.parse_args(argv)

    import dagster as dg

    instance = dg.DagsterInstance.get()
    with serving(instance, args.host, args.port) as server:
        print(f"serving Prometheus metrics on http://{args.host}:{server.server_port}/metrics")
        threading.Event().wait()  # until the process is stopped
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
