"""The lake as a resource: where tables live, for assets that read their own previous state.

The IO manager writes every table; assets that sync incrementally (albums, tracks, playlist
items) also need to read what the last materialization stored, which an IO manager input cannot
give for the asset itself. Checks read stored tables through it too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import Field

if TYPE_CHECKING:
    import pyarrow as pa

    from spotify_agent_assets.lake.parquet_lake import ParquetLake
    from spotify_agent_assets.lake.s3 import S3Settings
    from spotify_agent_assets.lake.warehouse import Warehouse


class LakeResource(dg.ConfigurableResource):
    """The Parquet lake (local path or ``s3://``) and the DuckDB warehouse that views it.

    S3 credentials come from ``AWS_*`` environment variables through ``dg.EnvVar`` and are never
    written to the warehouse file.
    """

    lake_root: str = Field(description="Local directory or s3://bucket/prefix of the lake.")
    warehouse_path: str = Field(description="DuckDB file that holds the <group>.<asset> views.")
    s3_endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint; unset means AWS (or AWS_ENDPOINT_URL)."
    )
    s3_region: str | None = Field(default=None, description="Unset means AWS_REGION or us-east-1.")
    s3_access_key_id: str | None = Field(
        default=None, description="Unset means AWS_ACCESS_KEY_ID; pass a dg.EnvVar."
    )
    s3_secret_access_key: str | None = Field(
        default=None, description="Unset means AWS_SECRET_ACCESS_KEY; pass a dg.EnvVar."
    )

    def s3_settings(self, url: str | None = None) -> S3Settings | None:
        """How to reach ``url`` (default: the lake) if it is an ``s3://`` URL, else None.
        Explicit fields win; anything left unset comes from the standard AWS variables."""
        from spotify_agent_assets.lake.s3 import S3Settings

        if not (url or self.lake_root).startswith("s3://"):
            return None
        env = S3Settings.from_env()
        return S3Settings(
            endpoint_url=self.s3_endpoint_url or env.endpoint_url,
            region=self.s3_region or env.region,
            access_key_id=self.s3_access_key_id or env.access_key_id,
            secret_access_key=self.s3_secret_access_key or env.secret_access_key,
        )

    def lake(self) -> ParquetLake:
        from spotify_agent_assets.lake.parquet_lake import ParquetLake

        return ParquetLake(self.lake_root, s3=self.s3_settings())

    def warehouse(self) -> Warehouse:
        from spotify_agent_assets.lake.warehouse import Warehouse

        return Warehouse(self.warehouse_path, self.lake())

    def read_table(self, group: str, asset: str) -> pa.Table:
        return self.lake().read(group, asset)

    def previous_rows(self, group: str, asset: str) -> list[dict[str, Any]]:
        """Rows of the last stored version of a table, or none if it was never written."""
        lake = self.lake()
        if not lake.exists(group, asset):
            return []
        return lake.read(group, asset).to_pylist()
