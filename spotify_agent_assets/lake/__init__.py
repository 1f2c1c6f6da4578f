"""The Parquet lake and the DuckDB warehouse views over it; plain Python, no Dagster."""

from spotify_agent_assets.lake.parquet_lake import (
    PARTITION_COLUMN,
    ParquetLake,
    TableNotFoundError,
    WriteResult,
    validate_name,
    validate_partition_key,
)
from spotify_agent_assets.lake.s3 import S3Settings
from spotify_agent_assets.lake.warehouse import Warehouse

__all__ = [
    "PARTITION_COLUMN",
    "ParquetLake",
    "S3Settings",
    "TableNotFoundError",
    "Warehouse",
    "WriteResult",
    "validate_name",
    "validate_partition_key",
]
