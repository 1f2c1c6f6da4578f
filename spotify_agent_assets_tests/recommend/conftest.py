"""A small listening log with a planted taste structure, shared by the recommender tests."""

from __future__ import annotations

import pandas as pd
import pytest

from spotify_agent_assets.recommend.synthetic import holdout_split, listening_log


@pytest.fixture(scope="session")
def small_log() -> pd.DataFrame:
    return listening_log(600, 300, 40_000, styles=8, seed=5)


@pytest.fixture(scope="session")
def small_split(small_log: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    return holdout_split(small_log, seed=5)
