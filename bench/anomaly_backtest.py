"""Backtest of the streaming anomaly detector on sample worlds, with and without planted events.

For each seed (7, 8, 9): 60 days of listening (2026-09-02 .. 2026-10-31) from the sample
world's generator, counted per day as the dbt models count streams (see
``spotify_agent_assets_tests/analytics/backtest.py``), then

- without planted events: the false incidents of the last 30 days and their rate per 100
  artists per 30 days (the bar is 1);
- with them: on which days the spike and breakout artists have incidents.

``--calibrate`` prints, for event-free worlds of seeds 1 and 2 (not the backtest's), the share
of tests with p < 0.01 / 0.001 / 0.0001 per level and dispersion floor: the figures behind
``AnomalyParams.min_dispersion``.

    .venv/bin/python bench/anomaly_backtest.py [--calibrate]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the test helpers are not installed with the package


def backtest() -> None:
    from spotify_agent_assets_tests.analytics.backtest import SEEDS, backtest_world, summary

    for seed in SEEDS:
        for planted in (False, True):
            print(*summary([backtest_world(seed, planted_events=planted)]), flush=True)


def calibrate(floors: tuple[float, ...] = (0.01, 0.015, 0.02, 0.025)) -> None:
    import numpy as np

    from spotify_agent_assets.analytics.anomalies import AnomalyParams, score_days
    from spotify_agent_assets.analytics.baseline import trailing_weekday_factors
    from spotify_agent_assets.analytics.series import as_frame, calendar, to_matrix
    from spotify_agent_assets.sample_world.listening import ListeningWorld
    from spotify_agent_assets.sample_world.world import SampleWorld
    from spotify_agent_assets_tests.analytics.backtest import DAYS, FIRST_DAY, daily_series

    levels = []
    for seed in (1, 2):
        listening = ListeningWorld(
            SampleWorld(seed), first_day=FIRST_DAY, days=DAYS, planted_events=False
        )
        metrics, facts, _ = daily_series(listening)
        for table, entity, zero_after_first in (
            (metrics, "artist_id", False),
            (facts, "track_id", True),
        ):
            frame = as_frame(table, entity, ["date", entity, "streams"])
            days = calendar(min(frame["date"]), max(frame["date"]))
            matrix = to_matrix(
                frame, entity, "streams", days=days, zero_after_first=zero_after_first
            )
            factors = trailing_weekday_factors(matrix.values, days, window_days=28, min_level=20)
            levels.append((seed, entity.removesuffix("_id"), matrix, factors, days))
    for floor in floors:
        # An fdr_q no test reaches: every day is walked without restarts.
        params = AnomalyParams(min_dispersion=floor, fdr_q=1e-300)
        for seed, level, matrix, factors, days in levels:
            rows = np.zeros(len(matrix.entity_ids), dtype=np.int64)
            scores = score_days(matrix.values, [factors], rows, days, matrix.entity_ids, params)
            p = scores.p_value[:, 30:]
            p = p[np.isfinite(p)]
            shares = " ".join(f"p<{cut:g}: {(p < cut).mean():.4f}" for cut in (1e-2, 1e-3, 1e-4))
            print(f"floor {floor:g} seed {seed} {level}: {len(p)} tests, {shares}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calibrate", action="store_true", help="the dispersion floor figures")
    if parser.parse_args().calibrate:
        calibrate()
    else:
        backtest()


if __name__ == "__main__":
    main()
