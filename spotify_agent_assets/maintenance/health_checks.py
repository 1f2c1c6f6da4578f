"""Health checks of the stores and services the code location depends on, one function each.

Every function does the thing it checks (fetches a token and calls the API, writes and reads
back a file, queries every warehouse view, searches MLflow, measures the disk) and returns a
`CheckResult`; a target that is down raises, which `health_results.run_check` records as a
failure. None of them creates what it checks: a missing warehouse or MLflow database fails
instead of being made empty.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from spotify_agent_assets.maintenance.health_results import CheckResult, Severity

if TYPE_CHECKING:
    from spotify_agent_assets.lake.s3 import S3Settings
    from spotify_agent_assets.lake.warehouse import Warehouse
    from spotify_agent_assets.spotify.client import SpotifyCatalogClient

PROBE_PREFIX = ".health-probe-"  # hidden: neither the lake nor the landing readers list it
# One bounded query per warehouse relation: enough to open its files, never a full scan.
RELATIONS_SQL = """
    SELECT schema_name, table_name, 'table' FROM duckdb_tables()
    WHERE NOT internal AND database_name = current_database()
    UNION ALL
    SELECT schema_name, view_name, 'view' FROM duckdb_views()
    WHERE NOT internal AND database_name = current_database()
    ORDER BY 1, 2
"""
# MLflow retries an unreachable server for minutes by default; a health check answers sooner.
MLFLOW_HTTP_LIMITS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}


def check_spotify(
    client_factory: Callable[[], SpotifyCatalogClient], artist_id: str, *, sample_world: bool
) -> CheckResult:
    """A client-credentials token and one cheap catalogue call (one artist) through the
    project's client. With the sample world the same client and transport answer in process,
    and the result says so: it proves our code path, not that Spotify is reachable."""
    with client_factory() as client:
        artists = client.get_artists([artist_id])
        stats = client.stats
    if stats.token_requests < 1:
        raise RuntimeError("the client made no token request; the token was not checked")
    if not artists or not isinstance(artists[0], dict) or artists[0].get("id") != artist_id:
        raise RuntimeError(f"GET artists answered without artist {artist_id}")
    where = (
        "the bundled sample world (in-process transport; Spotify itself was not called)"
        if sample_world
        else client.api_base_url
    )
    return CheckResult(
        name="spotify_api",
        ok=True,
        severity=Severity.ERROR,
        detail=f"token fetched and artist {artist_id} read from {where}",
        observed=f"{stats.token_requests} token request(s), {stats.requests_sent} API request(s)",
        threshold="token + one call",
    )


def check_zone_writable(name: str, root: str, s3: S3Settings | None = None) -> CheckResult:
    """Write a probe file under ``root`` (a folder or ``s3://`` prefix), read it back, delete
    it. The root is created if missing, as the writers of the zone would."""
    from pyarrow import fs as pafs

    from spotify_agent_assets.streams.landing_index import landing_filesystem

    if not root.startswith("s3://"):
        Path(root).expanduser().mkdir(parents=True, exist_ok=True)
    filesystem = landing_filesystem(root, s3)
    probe = f"{PROBE_PREFIX}{uuid.uuid4().hex}"
    payload = f"health probe {probe} {time.time()}".encode()
    try:
        with filesystem.open_output_stream(probe) as sink:
            sink.write(payload)
        with filesystem.open_input_stream(probe) as source:
            echoed = source.read()
    finally:
        # Removed even when the read-back failed, so a broken zone is not littered with probes.
        info = filesystem.get_file_info(probe)
        if info.type != pafs.FileType.NotFound:
            filesystem.delete_file(probe)
    if echoed != payload:
        raise RuntimeError(f"probe {probe} read back {len(echoed)} bytes unlike the written ones")
    if filesystem.get_file_info(probe).type != pafs.FileType.NotFound:
        raise RuntimeError(f"probe {probe} is still there after deleting it")
    return CheckResult(
        name=name,
        ok=True,
        severity=Severity.ERROR,
        detail=f"wrote, read back and deleted a probe file in {root}",
        observed=f"{len(payload)} bytes round trip",
        threshold="write + read + delete",
    )


def check_warehouse(warehouse: Warehouse) -> CheckResult:
    """Open the DuckDB warehouse read-only and read one row of every table and view; a view
    whose Parquet files vanished fails here, named."""
    from spotify_agent_assets.lake.warehouse import quote_identifier

    path = warehouse.path
    if not path.is_file():
        raise FileNotFoundError(f"warehouse {path} does not exist")
    # reader(): queue behind a writer (dbt holds the file for its run) instead of failing.
    failures: list[str] = []
    with warehouse.reader() as connection:
        relations = connection.execute(RELATIONS_SQL).fetchall()
        for schema, name, _kind in relations:
            relation = f"{quote_identifier(schema)}.{quote_identifier(name)}"
            try:
                connection.execute(f"SELECT * FROM {relation} LIMIT 1").fetchall()  # noqa: S608 -- relation is quoted identifiers
            except Exception as error:  # each broken relation is reported
                first_line = (str(error).splitlines() or [""])[0]
                failures.append(f"{schema}.{name}: {type(error).__name__}: {first_line}")
    if not relations:
        raise RuntimeError(f"warehouse {path} holds no tables or views")
    observed = f"{len(relations) - len(failures)}/{len(relations)} relations answer"
    if failures:
        return CheckResult(
            name="warehouse",
            ok=False,
            severity=Severity.ERROR,
            detail=f"{len(failures)} relation(s) fail: " + "; ".join(failures),
            observed=observed,
            threshold="every relation answers",
        )
    return CheckResult(
        name="warehouse",
        ok=True,
        severity=Severity.ERROR,
        detail=f"opened {path.name} read-only; one row read from each table and view",
        observed=observed,
        threshold="every relation answers",
    )


def check_mlflow(tracking_uri: str) -> CheckResult:
    """Search the experiments of the tracking store. A ``sqlite:///`` store must exist already
    (MLflow would otherwise create an empty one and call that healthy)."""
    if tracking_uri.startswith("sqlite:///"):
        database = Path(tracking_uri.removeprefix("sqlite:///"))
        if not database.is_file():
            raise FileNotFoundError(f"MLflow database {database} does not exist")
    with _environment(MLFLOW_HTTP_LIMITS):
        from mlflow.tracking import MlflowClient

        experiments = MlflowClient(tracking_uri=tracking_uri).search_experiments(max_results=100)
    return CheckResult(
        name="mlflow",
        ok=True,
        severity=Severity.ERROR,
        detail="searched the experiments of the tracking store",
        observed=f"{len(experiments)} experiment(s)",
        threshold="store answers",
    )


def check_free_disk(path: str | Path, min_free_bytes: int) -> CheckResult:
    """Free bytes on the filesystem holding ``path`` (the data folder) against a minimum."""
    if min_free_bytes < 0:
        raise ValueError(f"min_free_bytes must be >= 0, got {min_free_bytes}")
    free = shutil.disk_usage(path).free
    ok = free >= min_free_bytes
    return CheckResult(
        name="free_disk",
        ok=ok,
        severity=Severity.ERROR,
        detail=f"free space on the filesystem of {path}"
        + ("" if ok else f" is below the minimum by {_gib(min_free_bytes - free)}"),
        observed=_gib(free),
        threshold=f">= {_gib(min_free_bytes)}",
    )


def _gib(count: int) -> str:
    return f"{count / 2**30:.2f} GiB"


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set variables for the duration of one call; values someone set already win."""
    added = [name for name in values if name not in os.environ]
    for name in added:
        os.environ[name] = values[name]
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)
