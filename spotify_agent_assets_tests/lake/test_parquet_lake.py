"""The local Parquet lake: layout, replacement, atomicity and validation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spotify_agent_assets.lake import ParquetLake, TableNotFoundError, WriteResult
from spotify_agent_assets.lake.parquet_lake import DISTINCT_VALUES, RANDOM_IDS, with_write_hints


@pytest.fixture
def lake(tmp_path: Path) -> ParquetLake:
    return ParquetLake(str(tmp_path / "lake"))


def visible_parquet(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.parquet"))


def test_unpartitioned_roundtrip_and_layout(lake: ParquetLake, tmp_path: Path) -> None:
    frame = pd.DataFrame({"track_id": ["a", "b", "c"], "popularity": [10, 20, 30]})

    result = lake.write(frame, "spotify", "spotify_tracks")

    expected = tmp_path / "lake" / "spotify" / "spotify_tracks" / "part-0.parquet"
    assert result == WriteResult(uri=str(expected), rows=3, bytes=expected.stat().st_size)
    assert lake.read("spotify", "spotify_tracks").to_pandas().equals(frame)
    assert lake.exists("spotify", "spotify_tracks")
    assert lake.partitions("spotify", "spotify_tracks") == []
    assert lake.glob("spotify", "spotify_tracks", partitioned=False) == str(
        expected.parent / "*.parquet"
    )


def test_partitioned_layout_keeps_date_column(lake: ParquetLake, tmp_path: Path) -> None:
    lake.write(pd.DataFrame({"plays": [1, 2]}), "spotify", "daily_plays", "2024-01-02")
    lake.write(pa.table({"plays": [3]}), "spotify", "daily_plays", "2024-01-01")

    root = tmp_path / "lake"
    assert visible_parquet(root) == [
        "spotify/daily_plays/date=2024-01-01/part-0.parquet",
        "spotify/daily_plays/date=2024-01-02/part-0.parquet",
    ]
    assert lake.partitions("spotify", "daily_plays") == ["2024-01-01", "2024-01-02"]
    one_file = pq.read_table(root / "spotify/daily_plays/date=2024-01-02/part-0.parquet")
    assert one_file.schema.field("date").type == pa.date32()
    assert one_file.column("date").to_pylist() == [dt.date(2024, 1, 2)] * 2

    everything = lake.read("spotify", "daily_plays")
    assert everything.column("plays").to_pylist() == [3, 1, 2]
    only_second = lake.read("spotify", "daily_plays", partition_keys=["2024-01-02"])
    assert only_second.column("plays").to_pylist() == [1, 2]


def test_rewriting_a_partition_replaces_it(lake: ParquetLake, tmp_path: Path) -> None:
    lake.write(pd.DataFrame({"plays": [1, 2, 3]}), "spotify", "daily_plays", "2024-01-01")
    lake.write(pd.DataFrame({"plays": [7]}), "spotify", "daily_plays", "2024-01-02")
    partition = tmp_path / "lake/spotify/daily_plays/date=2024-01-01"
    # A stale file another writer version left behind must go once the new file is in place.
    pq.write_table(pa.table({"plays": [99]}), partition / "part-1.parquet")

    lake.write(pd.DataFrame({"plays": [4, 5]}), "spotify", "daily_plays", "2024-01-01")

    assert sorted(p.name for p in partition.iterdir()) == ["part-0.parquet"]
    assert lake.read("spotify", "daily_plays").column("plays").to_pylist() == [4, 5, 7]


def test_date_column_must_match_the_partition(lake: ParquetLake) -> None:
    frame = pd.DataFrame({"date": [dt.date(2024, 1, 1), dt.date(2024, 1, 3)], "plays": [1, 2]})
    with pytest.raises(ValueError, match=r"spotify\.daily_plays.*2024-01-01.*2024-01-03"):
        lake.write(frame, "spotify", "daily_plays", "2024-01-01")
    assert not lake.exists("spotify", "daily_plays")


def test_string_dates_are_stored_as_date(lake: ParquetLake) -> None:
    lake.write(pa.table({"date": ["2024-01-05"]}), "spotify", "daily_plays", "2024-01-05")
    table = lake.read("spotify", "daily_plays")
    assert table.schema.field("date").type == pa.date32()


def test_empty_table_replaces_partition_and_keeps_schema(lake: ParquetLake) -> None:
    lake.write(pd.DataFrame({"plays": [1, 2]}), "spotify", "daily_plays", "2024-01-01")
    empty = pa.table({"plays": pa.array([], pa.int64())})

    result = lake.write(empty, "spotify", "daily_plays", "2024-01-01")

    assert result.rows == 0
    stored = lake.read("spotify", "daily_plays")
    assert stored.num_rows == 0
    assert stored.schema.names == ["plays", "date"]
    assert stored.schema.field("plays").type == pa.int64()


def test_empty_table_with_date_column_fits_any_partition(lake: ParquetLake) -> None:
    empty = pa.table({"date": pa.array([], pa.date32()), "plays": pa.array([], pa.int64())})
    assert lake.write(empty, "spotify", "daily_plays", "2024-01-01").rows == 0
    assert lake.partitions("spotify", "daily_plays") == ["2024-01-01"]


def test_failed_write_leaves_old_file_and_no_visible_temp(
    lake: ParquetLake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake.write(pd.DataFrame({"plays": [1, 2]}), "spotify", "daily_plays", "2024-01-01")
    partition = tmp_path / "lake/spotify/daily_plays/date=2024-01-01"
    before = (partition / "part-0.parquet").read_bytes()
    seen_sinks: list[Any] = []

    def write_half_then_fail(table: pa.Table, where: Any, **kwargs: Any) -> None:
        seen_sinks.append(where)
        where.write(b"PAR1 half a row group")
        where.flush()
        # While the write is under way nothing new is visible to readers' globs.
        assert visible_parquet(tmp_path / "lake") == [
            "spotify/daily_plays/date=2024-01-01/part-0.parquet"
        ]
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", write_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        lake.write(pd.DataFrame({"plays": [9, 9, 9]}), "spotify", "daily_plays", "2024-01-01")

    assert seen_sinks, "the lake did not write through pyarrow.parquet.write_table"
    assert (partition / "part-0.parquet").read_bytes() == before
    assert sorted(p.name for p in partition.iterdir()) == ["part-0.parquet"]
    monkeypatch.undo()
    assert lake.read("spotify", "daily_plays").column("plays").to_pylist() == [1, 2]


@pytest.mark.parametrize(
    ("group", "asset"),
    [("Spotify", "tracks"), ("spotify", "1tracks"), ("spo-tify", "tracks"), ("spotify", "../x")],
)
def test_invalid_names_are_rejected(lake: ParquetLake, group: str, asset: str) -> None:
    with pytest.raises(ValueError, match=r"invalid lake (group|asset) name"):
        lake.write(pd.DataFrame({"a": [1]}), group, asset)


@pytest.mark.parametrize("key", ["2024-1-01", "20240101", "2024-02-30", "../2024-01-01"])
def test_invalid_partition_keys_are_rejected(lake: ParquetLake, key: str) -> None:
    with pytest.raises(ValueError, match="invalid partition key"):
        lake.write(pd.DataFrame({"a": [1]}), "spotify", "daily_plays", key)


def test_reading_a_missing_table_names_it(lake: ParquetLake) -> None:
    with pytest.raises(TableNotFoundError, match=r"spotify\.nothing_here"):
        lake.read("spotify", "nothing_here")
    assert not lake.exists("spotify", "nothing_here")


def test_reading_missing_partitions_names_them(lake: ParquetLake) -> None:
    lake.write(pd.DataFrame({"a": [1]}), "spotify", "daily_plays", "2024-01-01")
    with pytest.raises(TableNotFoundError, match=r"spotify\.daily_plays.*2024-01-02"):
        lake.read("spotify", "daily_plays", partition_keys=["2024-01-01", "2024-01-02"])


def test_layouts_cannot_be_mixed(lake: ParquetLake) -> None:
    lake.write(pd.DataFrame({"a": [1]}), "spotify", "tracks")
    with pytest.raises(ValueError, match="stored unpartitioned"):
        lake.write(pd.DataFrame({"a": [1]}), "spotify", "tracks", "2024-01-01")
    lake.write(pd.DataFrame({"a": [1]}), "spotify", "daily_plays", "2024-01-01")
    with pytest.raises(ValueError, match="daily partitions"):
        lake.write(pd.DataFrame({"a": [1]}), "spotify", "daily_plays")


def test_only_tables_are_accepted(lake: ParquetLake) -> None:
    with pytest.raises(TypeError, match=r"list to lake table spotify\.tracks"):
        lake.write([{"a": 1}], "spotify", "tracks")  # type: ignore[arg-type]


def test_relative_root_becomes_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert ParquetLake("lake").table_uri("spotify", "tracks") == str(
        tmp_path.resolve() / "lake/spotify/tracks"
    )


def test_files_beside_a_table_are_written_atomically_inside_the_lake_only(
    lake: ParquetLake, tmp_path: Path
) -> None:
    uri = f"{lake.table_uri('analytics', 'weekly_artist_report')}/files/2026-W44/a/report.md"
    assert lake.write_file(uri, b"# report") == uri
    assert Path(uri).read_bytes() == b"# report"
    assert not list(Path(uri).parent.glob(".*.tmp"))
    with pytest.raises(ValueError, match=r"cannot write .*/elsewhere\.md: it is outside the lake"):
        lake.write_file(str(tmp_path / "elsewhere.md"), b"x")


def test_write_hints_steer_encoding_and_leave_the_stored_schema_plain(
    lake: ParquetLake, tmp_path: Path
) -> None:
    ids = [f"{i:032x}" for i in range(1000)]
    plain = pa.schema(
        [
            pa.field("event_id", pa.string(), nullable=False),
            pa.field("ms_played", pa.int64()),
            pa.field("track_id", pa.string()),
        ]
    )
    hinted = with_write_hints(plain, {"event_id": RANDOM_IDS, "ms_played": DISTINCT_VALUES})
    table = pa.Table.from_arrays(
        [pa.array(ids), pa.array(range(1000)), pa.array(["t1", "t2"] * 500)], schema=hinted
    )

    lake.write(table, "streams", "events", "2024-01-01")

    path = tmp_path / "lake/streams/events/date=2024-01-01/part-0.parquet"
    stored = pq.ParquetFile(path)
    assert stored.schema_arrow == plain.append(pa.field("date", pa.date32()))
    assert all(not f.metadata for f in stored.schema_arrow)  # the hints are not stored
    group = stored.metadata.row_group(0)
    columns = {group.column(i).path_in_schema: group.column(i) for i in range(group.num_columns)}
    # Random ids: no dictionary, no statistics, delta-packed lengths; distinct values: no
    # dictionary, delta-packed, statistics kept (DuckDB prunes with them); unhinted columns as
    # before.
    assert "RLE_DICTIONARY" not in columns["event_id"].encodings
    assert "DELTA_LENGTH_BYTE_ARRAY" in columns["event_id"].encodings
    assert not columns["event_id"].is_stats_set
    assert "RLE_DICTIONARY" not in columns["ms_played"].encodings
    assert "DELTA_BINARY_PACKED" in columns["ms_played"].encodings
    assert columns["ms_played"].statistics.min == 0
    assert "RLE_DICTIONARY" in columns["track_id"].encodings
    assert columns["track_id"].statistics.max == "t2"
    assert columns["date"].statistics.min == dt.date(2024, 1, 1)
    assert all(c.compression == "ZSTD" for c in columns.values())
    back = lake.read("streams", "events")
    assert back.column("event_id").to_pylist() == ids
    assert back.column("ms_played").to_pylist() == list(range(1000))


def test_write_hints_name_existing_columns_and_known_hints() -> None:
    schema = pa.schema([pa.field("event_id", pa.string())])
    with pytest.raises(ValueError, match="not in the schema: listener_key"):
        with_write_hints(schema, {"listener_key": RANDOM_IDS})
    with pytest.raises(ValueError, match="unknown write hints"):
        with_write_hints(schema, {"event_id": b"sorted"})
