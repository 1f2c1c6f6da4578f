"""A bounded hyper-parameter search: a few candidate settings, each trained once and scored on
a validation split, the best by NDCG@k (recall@k breaks ties).

The candidates surround the defaults along the axes that mattered in the search behind them
(``docs/ARCHITECTURE.md``, "Recommender"): vector length, confidence and regularisation. The
number of trainings is the number of candidates, fixed in advance, so a run's cost is known.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from spotify_agent_assets.recommend.evaluation import evaluate_recommender
from spotify_agent_assets.recommend.params import DEFAULT_PARAMS, RecommenderParams
from spotify_agent_assets.recommend.training import train_recommender

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

    from spotify_agent_assets.recommend.model import RecommenderModel


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


@dataclass(frozen=True)
class SearchResult:
    """The best candidate's settings, its trained model and metrics, and every candidate's
    settings and metrics (``table``, best first)."""

    params: RecommenderParams
    model: RecommenderModel
    metrics: dict[str, float]
    table: pd.DataFrame


def search_params(
    train: pd.DataFrame,
    validation: pd.DataFrame,
    *,
    seed: int = 0,
    k: int = 10,
    candidates: list[RecommenderParams] | None = None,
    device: str | None = None,
    on_candidate: Callable[[int, int, dict[str, Any]], None] | None = None,
) -> SearchResult:
    """The best of ``candidates`` (default ``default_candidates()``) on ``validation``. Its
    model is kept, so the winner is not trained a second time. ``on_candidate(done, total,
    row)`` is told after each training (its settings and metrics), to report progress."""
    import pandas as pd

    tried = candidates if candidates is not None else default_candidates()
    if not tried:
        raise ValueError("search_params: no candidate settings to try")
    rows: list[dict[str, Any]] = []
    best: tuple[tuple[float, float], RecommenderModel, dict[str, float]] | None = None
    for position, params in enumerate(tried):
        model = train_recommender(train, seed=seed, params=params, device=device)
        metrics = evaluate_recommender(model, train, validation, k=k)
        rows.append({"candidate": position, **params.as_dict(), **metrics})
        if on_candidate is not None:
            on_candidate(position + 1, len(tried), rows[-1])
        # Strictly better only: on a tie the earlier candidate stays, as in the table's order.
        if best is None or (metrics["ndcg"], metrics["recall"]) > best[0]:
            best = ((metrics["ndcg"], metrics["recall"]), model, metrics)
    table = pd.DataFrame(rows).sort_values(
        ["ndcg", "recall", "candidate"], ascending=[False, False, True], kind="stable"
    )
    assert best is not None  # noqa: S101 -- type narrowing: the grid is never empty
    return SearchResult(
        params=tried[int(table["candidate"].iloc[0])],
        model=best[1],
        metrics=best[2],
        table=table.reset_index(drop=True),
    )
