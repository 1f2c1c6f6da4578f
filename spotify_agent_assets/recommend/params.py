"""The recommender's settings, their defaults and how a caller's overrides are checked."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class RecommenderParams:
    """Settings of ``train_recommender``.

    ``factors``: length of the user and item vectors. ``reg``: L2 penalty on every vector.
    ``alpha``: how much a played cell is trusted above an unplayed one, per unit of
    ``log1p(weight / median weight)`` (so raw counts, 1.0s and our own weights give alike
    confidences: a heavy tail is compressed, and the scale of the numbers does not matter).
    ``iterations``: alternating sweeps; ``cg_steps``: conjugate-gradient steps per half-sweep.
    """

    factors: int = 64
    reg: float = 30.0
    alpha: float = 3.0
    iterations: int = 15
    cg_steps: int = 3

    def __post_init__(self) -> None:
        problems = []
        for name in ("factors", "iterations", "cg_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append(f"{name} must be a whole number >= 1, got {value!r}")
        for name in ("reg", "alpha"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
                problems.append(f"{name} must be a number > 0, got {value!r}")
        if problems:
            raise ValueError("recommender params: " + "; ".join(problems))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT_PARAMS = RecommenderParams()


def resolve_params(params: RecommenderParams | dict[str, Any] | None) -> RecommenderParams:
    """``params`` as ``RecommenderParams``: None is the defaults, a dict overrides some."""
    if params is None:
        return DEFAULT_PARAMS
    if isinstance(params, RecommenderParams):
        return params
    if not isinstance(params, dict):
        raise TypeError(
            f"params: expected None, a dict or RecommenderParams, got {type(params).__name__}"
        )
    known = {f.name for f in fields(RecommenderParams)}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(
            f"params: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return replace(DEFAULT_PARAMS, **params)
