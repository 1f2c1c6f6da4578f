"""LakeIOManager under real Dagster runs: tables, partitions, metadata, inputs."""

# No `from __future__ import annotations`: Dagster inspects the `context` annotation at runtime.
import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from spotify_agent_assets.defs.lake import LakeIOManager, LakeResource
from spotify_agent_assets.defs.table_metadata import contract_metadata
from spotify_agent_assets.lake import ParquetLake
from spotify_agent_assets.lake.table_contract import Column, TableContract

DAILY = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-10")


def _contract(name: str, key: tuple[str, ...], *columns: tuple[str, str]) -> TableContract:
    return TableContract(
        name, key, tuple(Column(c, kind, f"{c} of {name}", nullable=False) for c, kind in columns)
    )


TRACKS = _contract(
    "spotify_tracks", ("track_id",), ("track_id", "string"), ("duration_ms", "int64")
)
DAILY_PLAYS = _contract(
    "daily_plays", ("date", "track_id"), ("date", "date"), ("track_id", "string")
)
COUNTS = _contract("counts", ("plays",), ("plays", "int64"))


@dg.asset(group_name="spotify", metadata=contract_metadata(TRACKS))
def spotify_tracks() -> pd.DataFrame:
    """Three tracks."""
    return pd.DataFrame({"track_id": ["a", "b", "c"], "duration_ms": [1000, 2000, 3000]})


@dg.asset(group_name="spotify", partitions_def=DAILY, metadata=contract_metadata(DAILY_PLAYS))
def daily_plays(context: dg.AssetExecutionContext) -> pd.DataFrame:
    """Two plays on the run's day; the count depends on a run tag so re-runs can differ."""
    day = dt.date.fromisoformat(context.partition_key)
    plays = int(context.run.tags.get("plays", "2"))
    return pd.DataFrame({"date": [day] * plays, "track_id": ["a"] * plays})


@dg.asset(
    group_name="spotify",
    partitions_def=DAILY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    metadata=contract_metadata(
        _contract("daily_streams", ("date",), ("date", "date"), ("streams", "int64"))
    ),
)
def daily_streams(context: dg.AssetExecutionContext) -> pa.Table:
    """One row per day of the run's range, except the range's second day, which has none."""
    window = context.partition_time_window
    days = pd.date_range(window.start, window.end, freq="D", inclusive="left").date
    kept = [day for index, day in enumerate(days) if index != 1]
    return pa.table({"date": pa.array(kept, pa.date32()), "streams": list(range(len(kept)))})


@dg.asset(
    group_name="spotify",
    partitions_def=DAILY,
    metadata=contract_metadata(
        _contract("leaky_plays", ("date",), ("date", "date"), ("n", "int64"))
    ),
)
def leaky_plays(context: dg.AssetExecutionContext) -> pd.DataFrame:
    """Wrongly returns a row for the day after its partition."""
    day = dt.date.fromisoformat(context.partition_key)
    return pd.DataFrame({"date": [day, day + dt.timedelta(days=1)], "n": [1, 2]})


@dg.asset(
    group_name="analytics",
    metadata=contract_metadata(_contract("track_summary", ("tracks",), ("tracks", "int64"))),
)
def track_summary(spotify_tracks: pa.Table) -> pd.DataFrame:
    """Reads its upstream through the IO manager."""
    return pd.DataFrame({"tracks": [spotify_tracks.num_rows]})


@dg.asset(
    group_name="analytics",
    partitions_def=DAILY,
    metadata=contract_metadata(
        _contract("daily_play_counts", ("date",), ("date", "date"), ("plays", "int64"))
    ),
)
def daily_play_counts(daily_plays: pa.Table) -> pd.DataFrame:
    """Same-partition input."""
    plays = daily_plays.to_pandas()
    return pd.DataFrame({"date": plays["date"].iloc[:1], "plays": [len(plays)]})


@dg.asset(group_name="analytics", metadata=contract_metadata(COUNTS))
def not_a_table() -> dict[str, int]:
    """Returns something the lake cannot store."""
    return {"a": 1}


@pytest.fixture
def io_manager(tmp_path: Path) -> LakeIOManager:
    return LakeIOManager(
        storage=LakeResource(
            lake_root=str(tmp_path / "lake"), warehouse_path=str(tmp_path / "warehouse.duckdb")
        )
    )


def materialization(result: dg.ExecuteInProcessResult, key: str) -> dg.AssetMaterialization:
    events = result.asset_materializations_for_node(key)
    assert events, f"no materialization of {key}"
    return events[-1]


def query(io_manager: LakeIOManager, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(io_manager.storage.warehouse_path, read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_unpartitioned_asset_is_stored_registered_and_described(
    io_manager: LakeIOManager, tmp_path: Path
) -> None:
    result = dg.materialize([spotify_tracks], resources={"io_manager": io_manager})

    assert result.success
    lake = ParquetLake(io_manager.storage.lake_root)
    assert lake.read("spotify", "spotify_tracks").num_rows == 3
    assert query(io_manager, "select count(*) from spotify.spotify_tracks") == [(3,)]
    metadata = materialization(result, "spotify_tracks").metadata
    assert metadata["lake_uri"].value == str(tmp_path / "lake/spotify/spotify_tracks")
    assert metadata["dagster/row_count"].value == 3
    assert metadata["partitions_written"].value == []
    assert metadata["warehouse_table"].value == "spotify.spotify_tracks"
    # The contract's schema, descriptions included, and not one rebuilt from the frame.
    columns = metadata["dagster/column_schema"].value.columns
    assert [(c.name, c.type, c.description) for c in columns] == [
        ("track_id", "string", "track_id of spotify_tracks"),
        ("duration_ms", "int64", "duration_ms of spotify_tracks"),
    ]
    assert "| a | 1000 |" in metadata["preview"].value


def test_downstream_asset_loads_its_input(io_manager: LakeIOManager) -> None:
    result = dg.materialize([spotify_tracks, track_summary], resources={"io_manager": io_manager})

    assert result.success
    assert query(io_manager, "select tracks from analytics.track_summary") == [(3,)]


def test_partition_rematerialization_replaces_it(io_manager: LakeIOManager) -> None:
    resources = {"io_manager": io_manager}
    assert dg.materialize([daily_plays], partition_key="2024-01-02", resources=resources).success
    assert dg.materialize([daily_plays], partition_key="2024-01-03", resources=resources).success
    again = dg.materialize(
        [daily_plays], partition_key="2024-01-02", resources=resources, tags={"plays": "5"}
    )

    assert again.success
    metadata = materialization(again, "daily_plays").metadata
    assert metadata["partitions_written"].value == ["2024-01-02"]
    assert metadata["dagster/row_count"].value == 5
    assert query(
        io_manager,
        "select cast(date as varchar), count(*) from spotify.daily_plays group by all order by 1",
    ) == [("2024-01-02", 5), ("2024-01-03", 2)]


def test_single_run_backfill_writes_every_partition(io_manager: LakeIOManager) -> None:
    result = dg.materialize(
        [daily_streams],
        resources={"io_manager": io_manager},
        tags={
            "dagster/asset_partition_range_start": "2024-01-03",
            "dagster/asset_partition_range_end": "2024-01-06",
        },
    )

    assert result.success
    days = ["2024-01-03", "2024-01-04", "2024-01-05", "2024-01-06"]
    lake = ParquetLake(io_manager.storage.lake_root)
    # The day without rows still gets a (schema-only) file, replacing anything older.
    assert lake.partitions("spotify", "daily_streams") == days
    assert lake.read("spotify", "daily_streams", ["2024-01-04"]).num_rows == 0
    metadata = materialization(result, "daily_streams").metadata
    assert metadata["partitions_written"].value == days
    assert metadata["dagster/row_count"].value == 3
    assert query(io_manager, "select count(*) from spotify.daily_streams") == [(3,)]


def test_partitioned_input_reads_only_its_partition(io_manager: LakeIOManager) -> None:
    resources = {"io_manager": io_manager}
    assert dg.materialize([daily_plays], partition_key="2024-01-01", resources=resources).success
    result = dg.materialize(
        [daily_plays, daily_play_counts],
        partition_key="2024-01-02",
        resources=resources,
        tags={"plays": "4"},
    )

    assert result.success
    assert query(
        io_manager, "select cast(date as varchar), plays from analytics.daily_play_counts"
    )[0] == ("2024-01-02", 4)


def test_rows_outside_the_run_partitions_fail_the_run(io_manager: LakeIOManager) -> None:
    with pytest.raises(dg.DagsterInvariantViolationError) as raised:
        dg.materialize(
            [leaky_plays], partition_key="2024-01-02", resources={"io_manager": io_manager}
        )

    message = str(raised.value)
    assert "leaky_plays" in message
    assert "2024-01-03" in message
    assert "2024-01-02" in message
    assert not ParquetLake(io_manager.storage.lake_root).exists("spotify", "leaky_plays")


def test_other_output_types_are_rejected_by_name(io_manager: LakeIOManager) -> None:
    with pytest.raises(dg.DagsterInvariantViolationError, match=r"not_a_table returned a .*dict"):
        dg.materialize([not_a_table], resources={"io_manager": io_manager})


@dg.asset(
    group_name="analytics", ins={"daily_plays": dg.AssetIn()}, metadata=contract_metadata(COUNTS)
)
def all_plays(daily_plays: pa.Table) -> pd.DataFrame:
    """Unpartitioned reader of every partition of its upstream."""
    return pd.DataFrame({"plays": [daily_plays.num_rows]})


@dg.asset(
    group_name="analytics",
    ins={"daily_plays": dg.AssetIn(metadata={"allow_missing_partitions": True})},
    metadata=contract_metadata(COUNTS),
)
def plays_so_far(daily_plays: pa.Table) -> pd.DataFrame:
    """Unpartitioned reader that accepts partitions not materialized yet."""
    return pd.DataFrame({"plays": [daily_plays.num_rows]})


def test_unpartitioned_reader_of_partitions(io_manager: LakeIOManager) -> None:
    resources = {"io_manager": io_manager}
    for day in ("2024-01-01", "2024-01-05"):
        assert dg.materialize([daily_plays], partition_key=day, resources=resources).success

    result = dg.materialize(
        [daily_plays, plays_so_far], selection=[plays_so_far], resources=resources
    )
    assert result.success
    assert query(io_manager, "select plays from analytics.plays_so_far") == [(4,)]

    with pytest.raises(Exception, match=r"spotify\.daily_plays has no partition"):
        dg.materialize([daily_plays, all_plays], selection=[all_plays], resources=resources)


@dg.asset(group_name="spotify")
def undeclared() -> pa.Table:
    """A table with no contract."""
    return pa.table({"x": [1]})


def test_a_table_without_a_contract_is_refused_by_name(io_manager: LakeIOManager) -> None:
    with pytest.raises(dg.DagsterInvariantViolationError, match=r"undeclared declares no table"):
        dg.materialize([undeclared], resources={"io_manager": io_manager})
    assert not ParquetLake(io_manager.storage.lake_root).exists("spotify", "undeclared")


@dg.asset(name="spotify_tracks", group_name="spotify", metadata=contract_metadata(TRACKS))
def drifted_tracks() -> pa.Table:
    """The contract's table after a producer regression: a type changed, a column appeared."""
    return pa.table(
        {
            "track_id": ["a"],
            "duration_ms": pa.array([1.5], pa.float64()),
            "debug": ["x"],
        }
    )


def test_an_output_that_breaks_its_contract_fails_before_the_write(
    io_manager: LakeIOManager,
) -> None:
    assert dg.materialize([spotify_tracks], resources={"io_manager": io_manager}).success
    with pytest.raises(dg.DagsterInvariantViolationError) as raised:
        dg.materialize([drifted_tracks], resources={"io_manager": io_manager})
    message = str(raised.value)
    assert "spotify_tracks" in message and "nothing was written" in message
    assert "column 'duration_ms' is double, expected int64" in message
    assert "unexpected column 'debug'" in message
    stored = ParquetLake(io_manager.storage.lake_root).read("spotify", "spotify_tracks")
    assert stored.column("duration_ms").to_pylist() == [1000, 2000, 3000]


@dg.asset(name="spotify_tracks", group_name="spotify", metadata=contract_metadata(TRACKS))
def reordered_tracks() -> dg.Output:
    """The contract's columns in another order, with a preview of the asset's own."""
    table = pa.table({"duration_ms": [5], "track_id": ["z"]})
    return dg.Output(table, metadata={"preview": dg.MetadataValue.md("my own preview")})


def test_columns_are_stored_in_contract_order_and_an_own_preview_is_kept(
    io_manager: LakeIOManager,
) -> None:
    result = dg.materialize([reordered_tracks], resources={"io_manager": io_manager})
    stored = ParquetLake(io_manager.storage.lake_root).read("spotify", "spotify_tracks")
    assert stored.column_names == ["track_id", "duration_ms"]
    assert materialization(result, "spotify_tracks").metadata["preview"].value == "my own preview"
