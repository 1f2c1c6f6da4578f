"""The lake, warehouse and IO manager against a real S3 server (SeaweedFS)."""

# No `from __future__ import annotations`: Dagster inspects the `context` annotation at runtime.
import datetime as dt
import uuid
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spotify_agent_assets.defs.lake import LakeIOManager, LakeResource
from spotify_agent_assets.defs.table_metadata import contract_metadata
from spotify_agent_assets.lake import ParquetLake, S3Settings, TableNotFoundError, Warehouse
from spotify_agent_assets.lake.key_check import check_key
from spotify_agent_assets.lake.table_contract import Column, TableContract
from spotify_agent_assets_tests.s3_server import S3Server

DAILY = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-10")


@pytest.fixture
def s3_lake(s3_server: S3Server) -> ParquetLake:
    # A prefix per test keeps tests independent on the shared server.
    return ParquetLake(s3_server.url(f"t-{uuid.uuid4().hex[:8]}"), s3_server.settings())


@pytest.mark.s3
def test_roundtrip(s3_lake: ParquetLake) -> None:
    frame = pd.DataFrame({"track_id": ["a", "b"], "popularity": [1, 2]})

    result = s3_lake.write(frame, "spotify", "spotify_tracks")

    assert result.uri == f"{s3_lake.root}/spotify/spotify_tracks/part-0.parquet"
    assert result.rows == 2
    assert s3_lake.read("spotify", "spotify_tracks").to_pandas().equals(frame)
    assert s3_lake.exists("spotify", "spotify_tracks")


@pytest.mark.s3
def test_partition_replace_removes_old_rows_and_stale_objects(s3_lake: ParquetLake) -> None:
    s3_lake.write(pd.DataFrame({"plays": [1, 2, 3]}), "spotify", "daily_plays", "2024-01-01")
    s3_lake.write(pd.DataFrame({"plays": [9]}), "spotify", "daily_plays", "2024-01-02")
    stale = s3_lake.partition_uri("spotify", "daily_plays", "2024-01-01") + "/part-1.parquet"
    with s3_lake.filesystem.open_output_stream(stale.removeprefix("s3://")) as out:
        pq.write_table(pa.table({"plays": [99]}), out)

    s3_lake.write(pd.DataFrame({"plays": [4]}), "spotify", "daily_plays", "2024-01-01")

    assert s3_lake.partitions("spotify", "daily_plays") == ["2024-01-01", "2024-01-02"]
    assert s3_lake.read("spotify", "daily_plays").column("plays").to_pylist() == [4, 9]
    assert s3_lake.read("spotify", "daily_plays", ["2024-01-01"]).column("date").to_pylist() == [
        dt.date(2024, 1, 1)
    ]


@pytest.mark.s3
def test_empty_write_and_missing_table(s3_lake: ParquetLake) -> None:
    s3_lake.write(pd.DataFrame({"plays": [1]}), "spotify", "daily_plays", "2024-01-01")
    s3_lake.write(
        pa.table({"plays": pa.array([], pa.int64())}), "spotify", "daily_plays", "2024-01-01"
    )

    assert s3_lake.read("spotify", "daily_plays").num_rows == 0
    with pytest.raises(TableNotFoundError, match=r"spotify\.nothing_here"):
        s3_lake.read("spotify", "nothing_here")


@pytest.mark.s3
def test_warehouse_view_over_s3(s3_lake: ParquetLake, s3_server: S3Server, tmp_path: Path) -> None:
    s3_lake.write(pd.DataFrame({"plays": [1, 2]}), "spotify", "daily_plays", "2024-01-01")
    s3_lake.write(pd.DataFrame({"plays": [3]}), "spotify", "daily_plays", "2024-01-02")
    warehouse = Warehouse(tmp_path / "warehouse.duckdb", s3_lake)

    warehouse.register("spotify", "daily_plays", partitioned=True)
    s3_lake.write(pd.DataFrame({"plays": [5, 6, 7]}), "spotify", "daily_plays", "2024-01-02")

    with warehouse.connect() as connection:
        assert connection.execute("select sum(plays) from spotify.daily_plays").fetchone() == (21,)
    # The secret was TEMPORARY: nothing of it is in the file a fresh connection opens.
    assert s3_server.secret_access_key.encode() not in warehouse.path.read_bytes()
    with duckdb.connect(str(warehouse.path), read_only=True) as connection:
        assert connection.execute("select count(*) from duckdb_secrets()").fetchone() == (0,)


S3_DAILY_PLAYS = TableContract(
    "s3_daily_plays",
    ("date", "track_id"),
    (
        Column("date", "date", "Day of the plays", nullable=False),
        Column("track_id", "string", "Track played", nullable=False),
    ),
)


@dg.asset(group_name="spotify", partitions_def=DAILY, metadata=contract_metadata(S3_DAILY_PLAYS))
def s3_daily_plays(context: dg.AssetExecutionContext) -> pd.DataFrame:
    """As many plays on the run's day as the `plays` run tag says."""
    day = dt.date.fromisoformat(context.partition_key)
    plays = int(context.run.tags.get("plays", "2"))
    return pd.DataFrame({"date": [day] * plays, "track_id": ["a"] * plays})


@pytest.mark.s3
def test_io_manager_over_s3(s3_lake: ParquetLake, s3_server: S3Server, tmp_path: Path) -> None:
    io_manager = LakeIOManager(
        storage=LakeResource(
            lake_root=s3_lake.root,
            warehouse_path=str(tmp_path / "warehouse.duckdb"),
            s3_endpoint_url=s3_server.endpoint_url,
            s3_region=s3_server.region,
            s3_access_key_id=s3_server.access_key_id,
            s3_secret_access_key=s3_server.secret_access_key,
        )
    )
    resources = {"io_manager": io_manager}
    for day, plays in (("2024-01-01", "2"), ("2024-01-02", "3"), ("2024-01-01", "4")):
        result = dg.materialize(
            [s3_daily_plays], partition_key=day, resources=resources, tags={"plays": plays}
        )
        assert result.success

    assert s3_lake.partitions("spotify", "s3_daily_plays") == ["2024-01-01", "2024-01-02"]
    with io_manager.storage.warehouse().connect() as connection:
        assert connection.execute("select count(*) from spotify.s3_daily_plays").fetchone() == (7,)


def test_settings_from_env_and_redacted_repr() -> None:
    settings = S3Settings.from_env(
        {
            "AWS_ENDPOINT_URL": "http://generic:1",
            "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:8333",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "AWS_ACCESS_KEY_ID": "key",
            "AWS_SECRET_ACCESS_KEY": "very-secret",
        }
    )

    assert settings == S3Settings("http://127.0.0.1:8333", "eu-west-1", "key", "very-secret")
    assert settings.endpoint_host == "127.0.0.1:8333"
    assert not settings.use_ssl
    assert "very-secret" not in repr(settings)
    assert S3Settings.from_env({}) == S3Settings(None, "us-east-1", None, None)


def test_settings_reject_an_endpoint_without_scheme() -> None:
    with pytest.raises(ValueError, match="not an http"):
        S3Settings(endpoint_url="127.0.0.1:8333")


@pytest.mark.s3
def test_key_check_and_report_files_over_s3(s3_lake: ParquetLake) -> None:
    for day, ids in (("2024-01-01", ["a", "b"]), ("2024-01-02", ["c", "a"])):
        s3_lake.write(pa.table({"event_id": ids}), "streams", "events", day)

    report = check_key(s3_lake, "streams", "events", ["event_id"], ["2024-01-02"])

    assert (report.rows, report.duplicate_keys, report.examples) == (2, 1, ["event_id=a (x2)"])
    uri = f"{s3_lake.table_uri('analytics', 'weekly_artist_report')}/files/report.html"
    assert s3_lake.write_file(uri, b"<p>hi</p>") == uri
    with s3_lake.filesystem.open_input_stream(uri.removeprefix("s3://")) as handle:
        assert handle.read() == b"<p>hi</p>"
