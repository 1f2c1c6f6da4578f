"""A bounded hyper-parameter search: a few candidate settings, each trained once and scored on
a validation split, the best by NDCG@k (recall@k breaks ties).

The candidates surround the defaults along the axes that mattered in the search behind them
(``docs/ARCHITECTURE.md``, "Recommender"): vector length, confidence and regularisation. The
number of trainings is the number of candidates, fixed in advance, so a run's cost is known.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from spotify_agent_assets.recommend.evaluation import evaluate_recommender
from spotify_agent_assets.recommend.params import DEFAULT_PARAMS, RecommenderParams
from spotify_agent_assets.recommend.training import train_recommender

if TYPE_CHECKING:
    import pandas as pd


def default_candidates() -> list[RecommenderParams]:
    """The defaults and one step either way on each axis that mattered: six trainings."""
    base = DEFAULT_PARAMS
    return [
        base,
        replace(base, factors=base.factors // 2),
        replace(base, factors=base.factors * 2),
        replace(base, alpha=base.alpha / 3),
        replace(base, alpha=base.alpha * 3),
        replace(base, reg=base.reg * 3),
    ]


def search_params(
    train: pd.DataFrame,
    validation: pd.DataFrame,
    *,
    seed: int = 0,
    k: int = 10,
    candidates: list[RecommenderParams] | None = None,
    device: str | None = None,
) -> tuple[RecommenderParams, pd.DataFrame]:
    """The best of ``candidates`` (default ``default_candidates()``) on ``validation``, and a
    table of every candidate's settings and metrics, best first."""
    import pandas as pd

    tried = candidates if candidates is not None else default_candidates()
    if not tried:
        raise ValueError("search_params: no candidate settings to try")
    rows: list[dict[str, Any]] = []
    for position, params in enumerate(tried):
        model = train_recommender(train, seed=seed, params=params, device=device)
        metrics = evaluate_recommender(model, train, validation, k=k)
        rows.append({"candidate": position, **params.as_dict(), **metrics})
    table = pd.DataFrame(rows).sort_values(
        ["ndcg", "recall", "candidate"], ascending=[False, False, True], kind="stable"
    )
    return tried[int(table["candidate"].iloc[0])], table.reset_index(drop=True)
