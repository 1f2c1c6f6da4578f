"""A dbt-duckdb plugin that lets the dbt models read an ``s3://`` lake, offline and secret-free.

The warehouse's source views read the lake's Parquet files; on an S3 lake their paths are
``s3://`` globs, which DuckDB reads only with the httpfs extension and an S3 secret. The
profile's own ``extensions:`` would ``INSTALL`` httpfs (a download from DuckDB's extension
repository) and its ``secrets:`` would put the keys into the profile that dbt renders, so
neither is used. Instead ``profiles.yml`` names this module as a plugin, and on every connection
dbt opens it does what the lake's own connections do (`lake.warehouse.prepare_s3`): LOAD httpfs
from the ``duckdb-extension-httpfs`` wheel's file and create a TEMPORARY secret from the
standard AWS variables of dbt's environment. The keys stay in that connection's memory: they
are in no file dbt renders, logs or writes to ``target/``.

The plugin's one setting, ``lake_root``, is the lake URL (not a secret); for a local lake the
plugin does nothing. Imported by dbt's process only (it imports dbt-duckdb).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dbt.adapters.duckdb.plugins import BasePlugin

from spotify_agent_assets.lake.s3 import S3Settings, split_s3_url
from spotify_agent_assets.lake.warehouse import prepare_s3

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection

LAKE_ROOT_SETTING = "lake_root"


class Plugin(BasePlugin):
    """httpfs and a temporary S3 secret on each dbt connection, for an ``s3://`` lake."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        raw = str(plugin_config.get(LAKE_ROOT_SETTING) or "").strip()
        self.lake_root: str | None = None
        if raw.startswith("s3://"):
            split_s3_url(raw)  # a URL without a bucket fails here, naming the value
            self.lake_root = raw.rstrip("/")
        elif "://" in raw:
            raise ValueError(
                f"dbt plugin {__name__}: {LAKE_ROOT_SETTING}={raw!r} is not supported; expected "
                "an s3:// URL, a local folder or nothing"
            )

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        if self.lake_root is not None:
            # Read when the connection opens, so the keys are never part of the plugin's config.
            prepare_s3(conn, S3Settings.from_env(), scope=self.lake_root)
