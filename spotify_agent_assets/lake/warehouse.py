"""The DuckDB warehouse: every lake table as a view ``<group>.<asset>`` over its Parquet files.

The database file holds only view definitions (no data, no credentials), so analysts can open
it with the duckdb CLI and query the lake directly. DuckDB lets one process write a database
file at a time; our writers queue on an exclusive ``flock`` of ``<path>.lock`` instead of
failing, and still retry briefly when someone else (an analyst's CLI) holds DuckDB's own lock.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from spotify_agent_assets.lake.parquet_lake import PARTITION_COLUMN, ParquetLake, validate_name
from spotify_agent_assets.lake.s3 import S3Settings

if TYPE_CHECKING:
    import duckdb

T = TypeVar("T")

# Opening fails immediately when another process holds DuckDB's file lock; wait this long.
LOCK_RETRY_SECONDS = 30.0
# DuckDB would otherwise fetch extensions from the internet, which production may not reach.
CONNECTION_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
S3_SECRET_NAME = "lake_s3"  # noqa: S105 -- the name of a DuckDB secret, not a credential


def httpfs_extension_path() -> Path:
    """The httpfs build shipped by the ``duckdb-extension-httpfs`` wheel for our duckdb."""
    import duckdb
    import duckdb_extension_httpfs

    package_dir = Path(duckdb_extension_httpfs.__file__).parent
    path = package_dir / "extensions" / f"v{duckdb.__version__}" / "httpfs.duckdb_extension"
    if not path.is_file():
        raise FileNotFoundError(
            f"no httpfs extension for duckdb {duckdb.__version__} at {path}; install the "
            f"matching duckdb-extension-httpfs=={duckdb.__version__}"
        )
    return path


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# The partition folder's column as DuckDB types it in a view (lake.PARTITION_COLUMN is a DATE).
HIVE_TYPES = f"{quote_literal(PARTITION_COLUMN)}: DATE"


class Warehouse:
    """A DuckDB file of views over ``lake``."""

    def __init__(self, path: str | Path, lake: ParquetLake) -> None:
        self.path = Path(path).expanduser().resolve()
        self.lake = lake

    def __repr__(self) -> str:
        return f"Warehouse(path={str(self.path)!r}, lake={self.lake!r})"

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def table_name(self, group: str, asset: str) -> str:
        return f"{validate_name('group', group)}.{validate_name('asset', asset)}"

    def register(self, group: str, asset: str, partitioned: bool) -> str:
        """Create or replace the view ``<group>.<asset>``; returns its name.

        The table must have at least one file in the lake: DuckDB reads the schema at creation.
        """
        name = self.table_name(group, asset)
        schema, view = quote_identifier(group), quote_identifier(asset)
        # DDL takes no bound parameters (a view stores its SQL text), so the identifiers are
        # validated and quoted and the path is an escaped string literal instead.
        source = f"read_parquet({quote_literal(self.lake.glob(group, asset, partitioned))}, "
        if partitioned:
            # The folder's date=YYYY-MM-DD names the file's day, so a query filtered on date
            # opens only those days' files: without hive partitioning DuckDB reads every
            # file's footer to learn what is in it (years of days for an hourly update of one).
            # Typed as the DATE the contracts declare (inference could guess a string).
            source += f"hive_partitioning = true, hive_types = {{{HIVE_TYPES}}}, "
        else:
            source += "hive_partitioning = false, "
        source += "union_by_name = true)"
        with self.writer() as connection:
            connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            connection.execute(f"CREATE OR REPLACE VIEW {schema}.{view} AS SELECT * FROM {source}")  # noqa: S608 -- validated, quoted names; escaped path literal
        return name

    def views(self) -> list[str]:
        """Registered views as ``<group>.<asset>``, sorted."""
        with self.connect() as connection:
            rows = connection.execute(
                "SELECT schema_name, view_name FROM duckdb_views() "
                "WHERE NOT internal AND database_name = current_database()"
            ).fetchall()
        return sorted(f"{schema}.{view}" for schema, view in rows)

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection held under the exclusive writer lock, closed on exit."""
        with self._locked(read_only=False) as connection:
            yield connection

    @contextmanager
    def reader(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection taken in turn with the writers, closed on exit.

        A writer (dbt holds the file for its whole run) makes DuckDB refuse readers; queuing
        on the writers' lock waits for it to finish instead of failing after the connection's
        own retries. The file must exist.
        """
        with self._locked(read_only=True) as connection:
            yield connection

    @contextmanager
    def _locked(self, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        # Blocks until the previous holder (any process) has closed its connection.
        with exclusive_warehouse_lock(self.lock_path):
            connection = self._open(read_only=read_only)
            try:
                yield connection
            finally:
                connection.close()

    def connect(self, read_only: bool = True) -> duckdb.DuckDBPyConnection:
        """A connection ready to query the views (httpfs and S3 secret set up for an s3 lake).

        Close it when done: DuckDB keeps its file lock while a connection is open. Writes
        should go through ``writer()``, which also queues behind other writers.
        """
        if read_only and not self.path.exists():
            # A read-only open cannot create the file; make an empty warehouse once.
            with self.writer():
                pass
        return self._open(read_only=read_only)

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        import duckdb

        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = retry_while_locked(
            lambda: duckdb.connect(str(self.path), read_only=read_only, config=CONNECTION_CONFIG),
            self.path,
        )
        try:
            if self.lake.s3 is not None:
                prepare_s3(connection, self.lake.s3, scope=self.lake.root)
        except BaseException:
            connection.close()
            raise
        return connection


@contextmanager
def lake_connection(lake: ParquetLake) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB connection that reads the lake's files, closed on exit.

    Not the warehouse file: checks and scans need no views and must not queue behind the
    writers. Large aggregations spill to a private temporary folder (DuckDB's default is
    ``.tmp`` in the working directory), removed afterwards.
    """
    import tempfile

    import duckdb

    with tempfile.TemporaryDirectory(prefix="lake-duckdb-") as spill:
        connection = duckdb.connect(config={**CONNECTION_CONFIG, "temp_directory": spill})
        try:
            if lake.s3 is not None:
                prepare_s3(connection, lake.s3, scope=lake.root)
            yield connection
        finally:
            connection.close()


def prepare_s3(connection: duckdb.DuckDBPyConnection, settings: S3Settings, scope: str) -> None:
    """Let ``connection`` read ``scope`` (an ``s3://`` prefix): httpfs loaded from the wheel's
    file, never downloaded, and the credentials as a TEMPORARY secret (memory only, so none
    reaches a database file). The dbt models' connections use it too (`analytics_dbt.duckdb_s3`).
    """
    # LOAD takes no parameters; the path is ours (site-packages) and escaped anyway.
    connection.execute(f"LOAD {quote_literal(str(httpfs_extension_path()))}")
    options = ["TYPE s3", "REGION ?", "SCOPE ?"]
    values: list[object] = [settings.region, scope]
    if settings.access_key_id is not None:
        options += ["KEY_ID ?", "SECRET ?"]
        values += [settings.access_key_id, settings.secret_access_key or ""]
    if settings.endpoint_host is not None:
        # Self-hosted stores serve buckets by path, not by virtual host.
        options += ["ENDPOINT ?", "URL_STYLE ?", "USE_SSL ?"]
        values += [settings.endpoint_host, "path", settings.use_ssl]
    # TEMPORARY: lives in this connection's memory only, so no credential reaches the file.
    connection.execute(
        f"CREATE OR REPLACE TEMPORARY SECRET {S3_SECRET_NAME} ({', '.join(options)})", values
    )


def _is_lock_conflict(error: Exception) -> bool:
    message = str(error)
    return "Could not set lock on file" in message or "Conflicting lock is held" in message


def retry_while_locked(open_connection: Callable[[], T], path: Path) -> T:
    import duckdb

    deadline = time.monotonic() + LOCK_RETRY_SECONDS
    delay = 0.05
    while True:
        try:
            return open_connection()
        except duckdb.IOException as error:
            if not _is_lock_conflict(error):
                raise
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"warehouse {path} stayed locked by another process for "
                    f"{LOCK_RETRY_SECONDS:.0f}s: {error}"
                ) from error
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


@contextmanager
def exclusive_warehouse_lock(
    lock_path: Path, on_wait: Callable[[str], None] | None = None
) -> Iterator[float]:
    """Hold the warehouse's exclusive writer lock; yields the seconds spent waiting for it.

    DuckDB lets one process at a time open the file for writing; every writer queues on this
    ``flock`` (``Warehouse.writer()`` around its connection, the dbt assets around the dbt
    subprocess, which opens the file itself). ``on_wait`` is told once when another holder has
    the lock and this one has to queue.
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as lock_file:
        started = time.monotonic()
        try:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait(f"another process holds the warehouse writer lock {lock_path}; waiting")
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
        try:
            yield time.monotonic() - started
        finally:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)
