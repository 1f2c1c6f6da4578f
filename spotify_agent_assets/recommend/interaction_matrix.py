"""``ml.interaction_matrix``: implicit feedback per listener and track, from the stream events.

Each play is evidence that the listener likes the track, as much as they listened of it and
less if they skipped it; old plays count less than new ones:

    weight = max(0, sum over plays of 0.5 ^ (age_days / half_life_days)
                                      * (completion - skip_penalty * skipped))

- ``completion`` = ms_played / the track's duration (``spotify.spotify_tracks``), at most 1;
  without a known duration, ms_played / 30 s at most 1 (a play counted as a stream is whole
  evidence). A play that was cut short is weaker evidence than one heard to the end.
- ``skipped`` is 1 when the play reported a skip, 0 when it reported none **or reported
  nothing**: a null skip flag is unknown, and unknown is not taken as either answer.
- ``age_days`` is the play's distance in days from ``as_of``, the last closed UTC day; plays
  after ``as_of`` (the day in progress) are not read.
- A pair whose skips outweigh its listening ends at 0 (no evidence), never below: the models
  treat every unlisted pair as 0 already.

Two splits, as columns: ``time_split`` is ``validation`` for pairs first played in the last
``validation_days`` days up to ``as_of`` (what the listener discovered after the training
data ends) and ``train`` for the others, whose ``train_weight`` is the same formula over the
plays before those days, as of the day before them (so nothing of the validation days leaks
into training). ``holdout_split`` holds out ``holdout_share`` of each listener's tracks, for
listeners with at least ``min_tracks_for_holdout``, chosen by a hash of the pair (the same
pair is held out on every run). Only ``listener_key`` identifies a listener here: the raw id
never reaches the ``ml`` group.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    import pyarrow as pa

STREAM_MS = 30_000  # a play of at least this long is a stream


@dataclass(frozen=True)
class InteractionSettings:
    """The weighting and the splits (see the module)."""

    half_life_days: float = 30.0
    skip_penalty: float = 0.5
    validation_days: int = 7
    holdout_share: float = 0.2
    min_tracks_for_holdout: int = 5

    def __post_init__(self) -> None:
        if not self.half_life_days > 0:
            raise ValueError(f"half_life_days must be > 0, got {self.half_life_days}")
        if not 0 <= self.skip_penalty <= 1:
            raise ValueError(f"skip_penalty must be within 0..1, got {self.skip_penalty}")
        if self.validation_days < 1:
            raise ValueError(f"validation_days must be >= 1, got {self.validation_days}")
        if not 0 < self.holdout_share < 1:
            raise ValueError(f"holdout_share must be between 0 and 1, got {self.holdout_share}")


# Over the warehouse's views of the lake tables (fixed names; parameters bound, never
# interpolated). 30000.0 is STREAM_MS: without a duration, a 30 s play is whole evidence.
INTERACTION_MATRIX_SQL = """
WITH durations AS (
    SELECT track_id, any_value(duration_ms) AS duration_ms
    FROM spotify.spotify_tracks
    GROUP BY track_id
),
plays AS (
    SELECT
        e.listener_key,
        e.track_id,
        e.date,
        e.ms_played,
        e.skipped,
        least(
            1.0,
            CASE
                WHEN d.duration_ms > 0 THEN e.ms_played / d.duration_ms
                ELSE e.ms_played / 30000.0
            END
        ) - $skip_penalty * CASE WHEN e.skipped THEN 1 ELSE 0 END AS evidence
    FROM streams.stream_events AS e
    LEFT JOIN durations AS d USING (track_id)
    WHERE e.date <= $as_of AND e.listener_key IS NOT NULL AND e.track_id IS NOT NULL
),
pairs AS (
    SELECT
        listener_key,
        track_id,
        count(*) AS plays,
        count(*) FILTER (WHERE skipped) AS skips,
        sum(ms_played)::BIGINT AS listening_ms,
        min(date) AS first_played,
        max(date) AS last_played,
        greatest(0.0, sum(evidence * pow(0.5, date_diff('day', date, $as_of) / $half_life)))
            AS weight,
        greatest(
            0.0,
            coalesce(
                sum(evidence * pow(0.5, date_diff('day', date, $cutoff) / $half_life))
                    FILTER (WHERE date <= $cutoff),
                0.0
            )
        ) AS train_weight
    FROM plays
    GROUP BY listener_key, track_id
),
ranked AS (
    SELECT
        *,
        count(*) OVER (PARTITION BY listener_key) AS listener_tracks,
        row_number() OVER (
            PARTITION BY listener_key ORDER BY hash(listener_key || '/' || track_id), track_id
        ) AS draw
    FROM pairs
)
SELECT
    listener_key,
    track_id,
    plays,
    skips,
    listening_ms,
    first_played,
    last_played,
    -- Sums of doubles come out of a parallel aggregate in any order, differing in the last
    -- bits from run to run; rounded, a re-run writes the same table.
    round(weight, 9) AS weight,
    round(train_weight, 9) AS train_weight,
    CASE WHEN first_played > $cutoff THEN 'validation' ELSE 'train' END AS time_split,
    CASE
        WHEN listener_tracks >= $min_tracks AND draw <= floor(listener_tracks * $share)
        THEN 'holdout'
        ELSE 'train'
    END AS holdout_split
FROM ranked
ORDER BY listener_key, track_id
"""


def build_interaction_matrix(
    connection: duckdb.DuckDBPyConnection,
    as_of: dt.date,
    settings: InteractionSettings | None = None,
) -> pa.Table:
    """The interaction matrix as of ``as_of`` from ``streams.stream_events`` and
    ``spotify.spotify_tracks`` as ``connection`` sees them (the warehouse's views)."""
    from spotify_agent_assets.lake.table_contract import arrow_schema
    from spotify_agent_assets.recommend.tables import INTERACTION_MATRIX

    chosen = settings or InteractionSettings()
    table = connection.execute(
        INTERACTION_MATRIX_SQL,
        {
            "as_of": as_of,
            "cutoff": as_of - dt.timedelta(days=chosen.validation_days),
            "half_life": chosen.half_life_days,
            "skip_penalty": chosen.skip_penalty,
            "min_tracks": chosen.min_tracks_for_holdout,
            "share": chosen.holdout_share,
        },
    ).to_arrow_table()
    return table.cast(arrow_schema(INTERACTION_MATRIX))


def not_pseudonymous(listener_keys: pa.Array | pa.ChunkedArray) -> int:
    """How many ``listener_keys`` are not 64-hex HMAC digests (``streams.pseudonymize``): a raw
    listener id that reached the ``ml`` group would be one."""
    import pyarrow.compute as pc

    digests = pc.sum(pc.match_substring_regex(listener_keys, r"^[0-9a-f]{64}$")).as_py() or 0
    return len(listener_keys) - digests


def time_split(matrix: pa.Table | pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, validation) as user_id, item_id, weight frames for ``train_recommender`` and
    ``evaluate_recommender``: train weights are ``train_weight``."""
    frame = _frame(matrix)
    train = frame[(frame["time_split"] == "train") & (frame["train_weight"] > 0)]
    validation = frame[frame["time_split"] == "validation"]
    return _triples(train, "train_weight"), _triples(validation, "weight")


def holdout_split(matrix: pa.Table | pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, holdout) as user_id, item_id, weight frames by ``holdout_split``."""
    frame = _frame(matrix)
    train = frame[(frame["holdout_split"] == "train") & (frame["weight"] > 0)]
    return _triples(train, "weight"), _triples(frame[frame["holdout_split"] == "holdout"], "weight")


def _frame(matrix: Any) -> pd.DataFrame:
    import pyarrow as pa

    return matrix.to_pandas() if isinstance(matrix, pa.Table) else matrix


def _triples(frame: pd.DataFrame, weight: str) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        {
            "user_id": frame["listener_key"].to_numpy(),
            "item_id": frame["track_id"].to_numpy(),
            "weight": frame[weight].to_numpy(dtype=float),
        }
    )
