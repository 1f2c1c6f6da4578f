"""A ``RecommenderModel`` as plain files, and back: no pickle, so loading runs no code.

model.json      params, seed, device, weight scale, file format version
users.json      listener ids (strings or integers), in vector order
items.json      track ids, in vector order
arrays.npz      user_vectors, item_vectors, seen_pointers, seen_items, seen_weights,
                popularity (``numpy.savez``, read with ``allow_pickle=False``)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spotify_agent_assets.recommend.model import RecommenderModel
from spotify_agent_assets.recommend.params import RecommenderParams

FORMAT_VERSION = 1
ARRAYS = (
    "user_vectors",
    "item_vectors",
    "seen_pointers",
    "seen_items",
    "seen_weights",
    "popularity",
)


def save_model(model: RecommenderModel, folder: str | Path) -> Path:
    """Write ``model`` into ``folder`` (created); ids must be strings or integers."""
    import numpy as np

    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    (target / "model.json").write_text(
        json.dumps(
            {
                "format_version": FORMAT_VERSION,
                "params": model.params.as_dict(),
                "seed": model.seed,
                "device": model.device,
                "weight_scale": model.weight_scale,
            },
            indent=2,
        )
    )
    (target / "users.json").write_text(json.dumps(_ids(model.users, "user")))
    (target / "items.json").write_text(json.dumps(_ids(model.items, "item")))
    np.savez(target / "arrays.npz", **{name: getattr(model, name) for name in ARRAYS})
    return target


def load_model(folder: str | Path) -> RecommenderModel:
    """The model ``save_model`` wrote to ``folder``."""
    import numpy as np

    source = Path(folder)
    meta = json.loads((source / "model.json").read_text())
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{source}: recommender model files of format {meta.get('format_version')!r}; "
            f"this code reads format {FORMAT_VERSION}"
        )
    with np.load(source / "arrays.npz", allow_pickle=False) as arrays:
        loaded = {name: arrays[name] for name in ARRAYS}
    return RecommenderModel(
        params=RecommenderParams(**meta["params"]),
        seed=int(meta["seed"]),
        users=np.array(json.loads((source / "users.json").read_text()), dtype=object),
        items=np.array(json.loads((source / "items.json").read_text()), dtype=object),
        weight_scale=float(meta["weight_scale"]),
        device="cpu",  # vectors are numpy; scoring runs where the caller loads them
        **loaded,
    )


def _ids(values: Any, what: str) -> list[Any]:
    out = values.tolist()
    bad = [v for v in out if not isinstance(v, str | int) or isinstance(v, bool)]
    if bad:
        raise TypeError(
            f"{what} ids must be strings or integers to be saved, got {type(bad[0]).__name__} "
            f"({bad[0]!r})"
        )
    return out
