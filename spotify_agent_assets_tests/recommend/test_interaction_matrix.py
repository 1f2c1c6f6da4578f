"""interaction_matrix's weights and splits, worked out by hand on a few plays."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from spotify_agent_assets.lake.table_contract import arrow_schema
from spotify_agent_assets.recommend.interaction_matrix import (
    InteractionSettings,
    build_interaction_matrix,
    holdout_split,
    time_split,
)
from spotify_agent_assets.recommend.tables import INTERACTION_MATRIX

AS_OF = dt.date(2026, 10, 31)  # validation days: 10-25 .. 10-31, cutoff 10-24
D = dt.date


def _connection(events: list[tuple], tracks: list[tuple]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA streams; CREATE SCHEMA spotify")
    con.execute(
        "CREATE TABLE streams.stream_events (listener_key VARCHAR, track_id VARCHAR, "
        "date DATE, ms_played BIGINT, skipped BOOLEAN)"
    )
    con.execute("CREATE TABLE spotify.spotify_tracks (track_id VARCHAR, duration_ms BIGINT)")
    if events:
        con.executemany("INSERT INTO streams.stream_events VALUES (?, ?, ?, ?, ?)", events)
    if tracks:
        con.executemany("INSERT INTO spotify.spotify_tracks VALUES (?, ?)", tracks)
    return con


EVENTS = [
    ("L1", "T1", D(2026, 10, 31), 200_000, False),  # whole, today: 1
    ("L1", "T1", D(2026, 10, 1), 100_000, True),  # half, skipped: 0.5 - 0.5 = 0
    ("L1", "T2", D(2026, 10, 1), 15_000, None),  # no duration: 15 s of 30; skip unknown
    ("L1", "T3", D(2026, 10, 28), 60_000, False),  # duration 0 is unknown: whole
    ("L2", "T1", D(2026, 10, 30), 10_000, True),  # 0.05 - 0.5 < 0: clipped to 0
    ("L2", "T1", D(2026, 11, 1), 200_000, False),  # after as_of: not read
    (None, "T1", D(2026, 10, 30), 200_000, False),  # no listener: not a pair
]
TRACKS = [("T1", 200_000), ("T3", 0)]


@pytest.fixture(scope="module")
def matrix() -> pd.DataFrame:
    table = build_interaction_matrix(_connection(EVENTS, TRACKS), AS_OF)
    assert table.schema.equals(arrow_schema(INTERACTION_MATRIX))
    return table.to_pandas().set_index(["listener_key", "track_id"])


def test_weights_follow_the_documented_formula(matrix: pd.DataFrame) -> None:
    assert list(matrix.index) == [("L1", "T1"), ("L1", "T2"), ("L1", "T3"), ("L2", "T1")]
    assert matrix.loc[("L1", "T1"), "weight"] == pytest.approx(1.0)
    assert matrix.loc[("L1", "T2"), "weight"] == pytest.approx(0.5 * 0.5 ** (30 / 30))
    assert matrix.loc[("L1", "T3"), "weight"] == pytest.approx(0.5 ** (3 / 30))
    assert matrix.loc[("L2", "T1"), "weight"] == 0.0


def test_counts_and_days(matrix: pd.DataFrame) -> None:
    row = matrix.loc[("L1", "T1")]
    assert (row["plays"], row["skips"], row["listening_ms"]) == (2, 1, 300_000)
    assert (row["first_played"], row["last_played"]) == (D(2026, 10, 1), D(2026, 10, 31))
    # The unknown skip flag is not counted as a skip, and the play after as_of not at all.
    assert matrix.loc[("L1", "T2"), "skips"] == 0
    assert matrix.loc[("L2", "T1"), "plays"] == 1


def test_the_time_split_keeps_the_validation_days_out_of_training(matrix: pd.DataFrame) -> None:
    assert matrix["time_split"].to_dict() == {
        ("L1", "T1"): "train",
        ("L1", "T2"): "train",
        ("L1", "T3"): "validation",  # first played 10-28, after the cutoff
        ("L2", "T1"): "validation",
    }
    # Train weights as of the cutoff from the plays up to it: T1's only early play was a skip.
    assert matrix.loc[("L1", "T1"), "train_weight"] == 0.0
    assert matrix.loc[("L1", "T2"), "train_weight"] == pytest.approx(0.5 * 0.5 ** (23 / 30))
    train, validation = time_split(matrix.reset_index())
    assert train.to_dict("records") == [
        {"user_id": "L1", "item_id": "T2", "weight": pytest.approx(0.5 * 0.5 ** (23 / 30))}
    ]
    assert sorted(zip(validation.user_id, validation.item_id, strict=True)) == [
        ("L1", "T3"),
        ("L2", "T1"),
    ]


def test_the_holdout_takes_a_fixed_share_of_each_listener_with_enough_tracks() -> None:
    events = [("many", f"T{i}", D(2026, 10, 20), 200_000, False) for i in range(10)]
    events += [("few", f"T{i}", D(2026, 10, 20), 200_000, False) for i in range(4)]
    tracks = [(f"T{i}", 200_000) for i in range(10)]
    first = build_interaction_matrix(_connection(events, tracks), AS_OF).to_pandas()
    again = build_interaction_matrix(_connection(events, tracks), AS_OF).to_pandas()
    pd.testing.assert_frame_equal(first, again)
    held = first[first["holdout_split"] == "holdout"]
    assert held["listener_key"].tolist() == ["many", "many"]  # 20% of 10; "few" has < 5
    train, holdout = holdout_split(first)
    assert len(train) == 12 and len(holdout) == 2
    pairs = {(u, i) for u, i in zip(train.user_id, train.item_id, strict=True)}
    assert not pairs & {(u, i) for u, i in zip(holdout.user_id, holdout.item_id, strict=True)}


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="half_life_days"):
        InteractionSettings(half_life_days=0)
    with pytest.raises(ValueError, match="holdout_share"):
        InteractionSettings(holdout_share=1.0)


def test_raw_listener_ids_are_told_from_pseudonyms() -> None:
    import pyarrow as pa

    from spotify_agent_assets.recommend.interaction_matrix import not_pseudonymous

    digest = "0123456789abcdef" * 4
    keys = pa.array([digest, "user-0000042", digest.upper(), digest[:-1]])
    assert not_pseudonymous(keys) == 3
    assert not_pseudonymous(pa.array([digest, digest])) == 0
