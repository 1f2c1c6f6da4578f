"""Our recommender against a popularity baseline and the ``implicit`` library's ALS and BPR.

Two data sets, each split into train and hold-out:

- ``sample-world``: the sample world's 30 days of listening (``ListeningWorld``); train is the
  first 23 days, the hold-out the (listener, track) pairs first played in the last 7;
- ``synthetic-100k``: ``recommend.synthetic.listening_log`` with 100,000 listeners, 20,000
  tracks and 1,000,000 plays, generated on demand; 20% of each listener's tracks held out.

Every (data set, model) runs in a fresh interpreter, so its peak RSS is its own; each prints
recall@10 and NDCG@10 from ``evaluate_recommender`` (the same code scores every model: the
others' vectors are wrapped in a ``RecommenderModel``), training time and peak RSS. Weights
are summed play counts, as a team would hand them over; ``implicit`` gets them as its
documented confidence input, with its default settings.

    .venv/bin/python bench/recommend_compare.py [--only sample-world|synthetic-100k]
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MODELS = ("ours", "popularity", "implicit-als", "implicit-bpr")
DATASETS = ("sample-world", "synthetic-100k")
HOLDOUT_DAYS = 7
K = 10


def build_dataset(name: str, folder: Path) -> None:
    """Write ``train.parquet`` and ``holdout.parquet`` (user_id, item_id, weight) to ``folder``."""
    import pandas as pd

    from spotify_agent_assets.recommend.synthetic import holdout_split, listening_log

    if name == "synthetic-100k":
        train, holdout = holdout_split(listening_log(100_000, 20_000, 1_000_000, seed=3), seed=3)
    elif name == "sample-world":
        train, holdout = _sample_world_split()
    else:
        raise SystemExit(f"unknown data set {name!r}; expected one of {', '.join(DATASETS)}")
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(train).to_parquet(folder / "train.parquet", index=False)
    pd.DataFrame(holdout).to_parquet(folder / "holdout.parquet", index=False)


def _sample_world_split() -> tuple[Any, Any]:
    import pandas as pd
    import pyarrow as pa

    from spotify_agent_assets.sample_world.listening import ListeningWorld
    from spotify_agent_assets.sample_world.world import SampleWorld

    listening = ListeningWorld(SampleWorld(), planted_events=False)
    cut = listening.window()[-HOLDOUT_DAYS]
    events = pa.concat_tables(
        t.select(["listener_id", "track_id", "ts"]) for t in listening.events()
    ).to_pandas()
    events["late"] = events["ts"].dt.date >= cut
    plays = events.groupby(["listener_id", "track_id", "late"], as_index=False).size()
    plays = plays.rename(
        columns={"listener_id": "user_id", "track_id": "item_id", "size": "weight"}
    )
    train = plays[~plays["late"]].drop(columns="late")
    holdout = plays[plays["late"]].drop(columns="late")
    return train.reset_index(drop=True), pd.DataFrame(holdout).reset_index(drop=True)


def run_model(model_name: str, folder: Path) -> dict[str, Any]:
    """Train ``model_name`` on the folder's train split and score it on its hold-out."""
    import pandas as pd

    from spotify_agent_assets.recommend import evaluate_recommender, train_recommender
    from spotify_agent_assets.recommend.baselines import popularity_baseline

    train = pd.read_parquet(folder / "train.parquet")
    holdout = pd.read_parquet(folder / "holdout.parquet")
    start = time.perf_counter()
    if model_name == "ours":
        model = train_recommender(train, seed=0)
    elif model_name == "popularity":
        model = popularity_baseline(train)
    else:
        model = _implicit_model(model_name, train)
    trained = time.perf_counter() - start
    metrics = evaluate_recommender(model, train, holdout, k=K)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "model": model_name,
        "train_s": trained,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "users": int(train["user_id"].nunique()),
        "items": int(train["item_id"].nunique()),
        "train_rows": len(train),
        "holdout_rows": len(holdout),
        **metrics,
    }


def _implicit_model(model_name: str, train: Any) -> Any:
    """``implicit``'s ALS or BPR with its defaults, its vectors in a ``RecommenderModel``."""
    import numpy as np
    import scipy.sparse as sparse
    from implicit.bpr import BayesianPersonalizedRanking
    from implicit.cpu.als import AlternatingLeastSquares

    from spotify_agent_assets.recommend.interactions import interactions_from_frame
    from spotify_agent_assets.recommend.model import RecommenderModel
    from spotify_agent_assets.recommend.params import DEFAULT_PARAMS

    data = interactions_from_frame(train)
    matrix = sparse.csr_matrix(
        (data.weight.astype(np.float32), (data.user_index, data.item_index)), shape=data.shape
    )
    if model_name == "implicit-als":
        fitted = AlternatingLeastSquares(random_state=0)
    else:
        fitted = BayesianPersonalizedRanking(random_state=0)
    fitted.fit(matrix, show_progress=False)
    pointers = matrix.indptr.astype(np.int64)
    return RecommenderModel(
        params=DEFAULT_PARAMS,
        seed=0,
        users=data.users,
        items=data.items,
        user_vectors=np.asarray(fitted.user_factors, dtype=np.float32),
        item_vectors=np.asarray(fitted.item_factors, dtype=np.float32),
        seen_pointers=pointers,
        seen_items=matrix.indices.astype(np.int64),
        seen_weights=matrix.data.astype(np.float64),
        weight_scale=1.0,
        popularity=np.bincount(data.item_index, minlength=data.n_items),
    )


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] == "--child":
        print(json.dumps(run_model(args[1], Path(args[2]))))
        return
    datasets = [args[args.index("--only") + 1]] if "--only" in args else list(DATASETS)
    with tempfile.TemporaryDirectory(prefix="recommend-bench-") as tmp:
        for dataset in datasets:
            folder = Path(tmp) / dataset
            start = time.perf_counter()
            build_dataset(dataset, folder)
            print(f"{dataset}: split in {time.perf_counter() - start:.1f} s", flush=True)
            rows = []
            for model_name in MODELS:
                out = subprocess.run(
                    [sys.executable, __file__, "--child", model_name, str(folder)],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                rows.append(json.loads(out.strip().splitlines()[-1]))
                report(dataset, rows[-1])
            best_other = max(
                (r for r in rows if r["model"].startswith("implicit")), key=lambda r: r["ndcg"]
            )
            ours = rows[0]
            print(
                f"{dataset}: ours recall@{K} {ours['recall']:.4f} vs best implicit "
                f"{max(r['recall'] for r in rows[2:]):.4f}; NDCG@{K} {ours['ndcg']:.4f} vs "
                f"{best_other['ndcg']:.4f}",
                flush=True,
            )


def report(dataset: str, row: dict[str, Any]) -> None:
    print(
        f"  {row['model']:<13} recall@{K} {row['recall']:.4f}  NDCG@{K} {row['ndcg']:.4f}  "
        f"precision {row['precision']:.4f}  coverage {row['coverage']:.3f}  "
        f"popularity {row['popularity_bias']:.3f}  train {row['train_s']:.1f} s  "
        f"peak {row['peak_rss_mb']:,.0f} MB  ({row['users']:,} users, {row['items']:,} items, "
        f"{row['train_rows']:,} train / {row['holdout_rows']:,} held-out pairs)",
        flush=True,
    )


if __name__ == "__main__":
    main()
