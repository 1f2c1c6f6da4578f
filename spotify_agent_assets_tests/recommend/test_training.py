"""train_recommender, the model's recommend and similar_items, and fold_in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spotify_agent_assets.recommend import (
    evaluate_recommender,
    fold_in,
    train_recommender,
)
from spotify_agent_assets.recommend.baselines import popularity_baseline
from spotify_agent_assets.recommend.synthetic import listening_log, planted_styles

FAST = {"iterations": 8}  # the defaults otherwise


@pytest.fixture(scope="module")
def model(small_split: tuple[pd.DataFrame, pd.DataFrame]):
    train, _ = small_split
    return train_recommender(train, seed=0, params=FAST)


def test_same_seed_same_model_other_seed_other_vectors(
    small_split: tuple[pd.DataFrame, pd.DataFrame], model
) -> None:
    train, holdout = small_split
    again = train_recommender(train, seed=0, params=FAST)
    np.testing.assert_array_equal(again.item_vectors, model.item_vectors)
    np.testing.assert_array_equal(again.user_vectors, model.user_vectors)
    assert evaluate_recommender(again, train, holdout) == evaluate_recommender(
        model, train, holdout
    )
    other = train_recommender(train, seed=1, params=FAST)
    assert not np.array_equal(other.item_vectors, model.item_vectors)


def test_learns_tastes_well_beyond_popularity(
    small_split: tuple[pd.DataFrame, pd.DataFrame], model
) -> None:
    train, holdout = small_split
    ours = evaluate_recommender(model, train, holdout, k=10)
    baseline = evaluate_recommender(popularity_baseline(train), train, holdout, k=10)
    assert ours["recall"] > 1.5 * baseline["recall"]
    assert ours["ndcg"] > 1.5 * baseline["ndcg"]
    # The baseline's one list, shifted only past each listener's own plays.
    assert ours["coverage"] > 3 * baseline["coverage"]
    assert ours["popularity_bias"] < baseline["popularity_bias"]


def test_the_scale_of_the_weights_does_not_matter(
    small_split: tuple[pd.DataFrame, pd.DataFrame], model
) -> None:
    train, _ = small_split
    scaled = train.assign(weight=train["weight"] * 1000.0)
    np.testing.assert_allclose(
        train_recommender(scaled, seed=0, params=FAST).item_vectors,
        model.item_vectors,
        rtol=1e-4,
        atol=1e-6,
    )


def test_recommend_ranks_unseen_items_best_first(
    small_split: tuple[pd.DataFrame, pd.DataFrame], model
) -> None:
    train, _ = small_split
    users = list(train["user_id"].unique()[:20])
    recs = model.recommend(users, n=7)
    assert list(recs.columns) == ["user_id", "item_id", "score", "rank"]
    assert recs["user_id"].unique().tolist() == users
    for user, group in recs.groupby("user_id", sort=False):
        assert group["rank"].tolist() == list(range(1, 8))
        assert group["score"].is_monotonic_decreasing
        played = set(train.loc[train["user_id"] == user, "item_id"])
        assert not played & set(group["item_id"])
    with_seen = model.recommend(users[:1], n=model.n_items, exclude_seen=False)
    assert len(with_seen) == model.n_items


def test_recommend_leaves_fewer_when_the_catalogue_runs_out(model) -> None:
    user = model.users[0]
    played = np.diff(model.seen_pointers)[0]
    recs = model.recommend([user], n=model.n_items + 50)
    assert len(recs) == model.n_items - played
    assert recs["rank"].tolist() == list(range(1, len(recs) + 1))


def test_an_unknown_listener_gets_the_most_played_tracks(model) -> None:
    recs = model.recommend(["nobody-we-know"], n=5)
    top = np.argsort(-model.popularity, kind="stable")[:5]
    assert recs["item_id"].tolist() == model.items[top].tolist()
    assert recs["score"].is_monotonic_decreasing


def test_similar_items_are_mostly_of_the_same_planted_style() -> None:
    log = listening_log(800, 200, 60_000, styles=5, seed=9)
    styles = planted_styles(200, 5, seed=9)
    train = log.rename(columns={"listener_id": "user_id", "track_id": "item_id", "plays": "weight"})
    model = train_recommender(train, seed=0, params=FAST)
    queries = model.items[:40]
    similar = model.similar_items(queries, n=5)
    assert len(similar) == 40 * 5
    assert not (similar["item_id"] == similar["similar_item_id"]).any()

    def style(item: str) -> int:
        return int(styles[int(item.removeprefix("track-"))])

    same = np.mean(
        [style(a) == style(b) for a, b in similar[["item_id", "similar_item_id"]].values]
    )
    assert same > 0.8  # chance is about 0.2


def test_similar_items_names_unknown_ids(model) -> None:
    with pytest.raises(KeyError, match=r"no vector for item.*'not-a-track'"):
        model.similar_items([model.items[0], "not-a-track"])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"factors": 0}, "factors must be a whole number"),
        ({"reg": -1.0}, "reg must be a number > 0"),
        ({"learning_rate": 0.1}, "unknown setting.*learning_rate"),
    ],
)
def test_bad_params_are_refused(
    small_split: tuple[pd.DataFrame, pd.DataFrame], params: dict, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        train_recommender(small_split[0], params=params)


def test_fold_in_moves_the_listeners_it_touches_and_no_one_else(
    small_split: tuple[pd.DataFrame, pd.DataFrame], model
) -> None:
    train, _ = small_split
    user, bystander = model.users[0], model.users[1]
    before = model.recommend([user, bystander], n=10)
    # A day of binge listening to tracks the user never played.
    fresh = [i for i in model.items if i not in set(train.loc[train.user_id == user, "item_id"])]
    day = pd.DataFrame({"user_id": user, "item_id": fresh[:15], "weight": 20.0})
    newcomer = pd.DataFrame({"user_id": "new-listener", "item_id": fresh[:15], "weight": 3.0})
    updated = fold_in(model, pd.concat([day, newcomer]))
    after = updated.recommend([user, bystander, "new-listener"], n=10)
    mine = after[after.user_id == user]
    assert set(mine["item_id"]) != set(before[before.user_id == user]["item_id"])
    assert not set(mine["item_id"]) & set(fresh[:15])  # now seen
    pd.testing.assert_frame_equal(
        after[after.user_id == bystander].reset_index(drop=True),
        before[before.user_id == bystander].reset_index(drop=True),
    )
    np.testing.assert_array_equal(updated.item_vectors, model.item_vectors)
    # The newcomer is served from their own vector, not the popularity list.
    popular = model.recommend(["someone-else-unknown"], n=10)
    assert set(after[after.user_id == "new-listener"]["item_id"]) != set(popular["item_id"])


def test_fold_in_refuses_tracks_the_model_has_no_vector_for(model) -> None:
    new = pd.DataFrame({"user_id": [model.users[0]], "item_id": ["brand-new"], "weight": [1.0]})
    with pytest.raises(ValueError, match=r"does not know .*'brand-new'"):
        fold_in(model, new)


def test_the_search_picks_the_candidate_that_scores_best(
    small_split: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    from spotify_agent_assets.recommend import RecommenderParams
    from spotify_agent_assets.recommend.search import search_params

    train, validation = small_split
    starved = RecommenderParams(factors=1, iterations=2)
    good = RecommenderParams(iterations=8)
    told: list[tuple[int, int, dict]] = []
    result = search_params(
        train,
        validation,
        candidates=[starved, good],
        on_candidate=lambda done, total, row: told.append((done, total, row)),
    )
    assert result.params == good
    # Progress after each training, with the settings and metrics it gives the table.
    assert [(done, total, row["factors"]) for done, total, row in told] == [
        (1, 2, 1),
        (2, 2, good.factors),
    ]
    assert told[1][2]["ndcg"] == result.metrics["ndcg"]
    assert result.table["ndcg"].is_monotonic_decreasing
    assert len(result.table) == 2 and result.table["factors"].tolist() == [good.factors, 1]
    # The winner's model comes back trained: no second training of the same settings.
    assert result.model.params == good
    assert result.metrics == evaluate_recommender(result.model, train, validation)


def test_the_gpu_path_trains_a_model_as_good_as_the_cpu_one(
    small_split: tuple[pd.DataFrame, pd.DataFrame], model
) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here: this runs on a machine with a GPU")
    train, holdout = small_split
    on_gpu = train_recommender(train, seed=0, params=FAST, device="cuda")
    assert on_gpu.device == "cuda"
    again = train_recommender(train, seed=0, params=FAST, device="cuda")
    np.testing.assert_array_equal(again.item_vectors, on_gpu.item_vectors)
    gpu = evaluate_recommender(on_gpu, train, holdout)
    cpu = evaluate_recommender(model, train, holdout)
    assert gpu["ndcg"] == pytest.approx(cpu["ndcg"], rel=0.05)
    assert gpu["recall"] == pytest.approx(cpu["recall"], rel=0.05)


def test_without_a_gpu_training_runs_on_the_cpu(model) -> None:
    import torch

    assert model.device == ("cuda" if torch.cuda.is_available() else "cpu")


def test_every_reason_is_a_track_the_listener_played(model) -> None:
    from spotify_agent_assets.recommend.reasons import explain

    users = [*model.users[:10], "nobody-we-know"]
    explained = explain(model, model.recommend(users, n=5))
    for user, group in explained.groupby("user_id", sort=False):
        if user == "nobody-we-know":
            assert group["because_item_id"].isna().all()
            continue
        position = model.user_positions([user])[0]
        played = set(
            model.items[
                model.seen_items[model.seen_pointers[position] : model.seen_pointers[position + 1]]
            ]
        )
        assert set(group["because_item_id"]) <= played
        assert (group["because_similarity"].between(-1.0, 1.0)).all()


def test_unplayed_tracks_get_neighbours_from_their_audio_features() -> None:
    from spotify_agent_assets.recommend.content_vectors import with_content_vectors

    styles = planted_styles(200, 5, seed=9)
    log = listening_log(800, 200, 60_000, styles=5, seed=9)
    unplayed = {f"track-{i}" for i in range(0, 200, 10)}  # 20 tracks nobody has played yet
    train = log[~log["track_id"].isin(unplayed)].rename(
        columns={"listener_id": "user_id", "track_id": "item_id", "plays": "weight"}
    )
    model = train_recommender(train, seed=0, params=FAST)
    rng = np.random.default_rng(0)
    # Features that carry the style, blurred by noise, as audio features carry a genre.
    features = pd.DataFrame(
        np.eye(5)[styles] + rng.normal(0, 0.3, size=(200, 5)), columns=[f"f{i}" for i in range(5)]
    ).assign(item_id=[f"track-{i}" for i in range(200)])
    extended, added = with_content_vectors(model, features)
    assert set(added) == unplayed
    similar = extended.similar_items(sorted(unplayed), n=5)
    same = np.mean(
        [
            styles[int(a.removeprefix("track-"))] == styles[int(b.removeprefix("track-"))]
            for a, b in similar[["item_id", "similar_item_id"]].values
        ]
    )
    assert same > 0.6  # chance is about 0.2
    # Known tracks keep their vectors; the listeners are unchanged.
    np.testing.assert_array_equal(extended.item_vectors[: model.n_items], model.item_vectors)
    assert extended.n_users == model.n_users


def test_fold_in_with_replace_takes_the_new_history_instead_of_adding_to_it(model) -> None:
    user = model.users[0]
    start, end = model.seen_pointers[0], model.seen_pointers[1]
    history = pd.DataFrame(
        {"user_id": user, "item_id": model.items[model.seen_items[start:end]], "weight": 1.0}
    )
    replaced = fold_in(model, history.iloc[:3], replace=True)
    position = replaced.user_positions([user])[0]
    assert replaced.seen_pointers[position + 1] - replaced.seen_pointers[position] == 3
    added = fold_in(model, history.iloc[:3])
    position = added.user_positions([user])[0]
    assert added.seen_pointers[position + 1] - added.seen_pointers[position] == end - start


def test_genre_features_are_the_share_of_a_tracks_artists_with_each_genre() -> None:
    from spotify_agent_assets.recommend.content_vectors import genre_features

    frame = genre_features(
        {"t1": ["a", "b"], "t2": ["b"], "t3": []},
        {"a": ["indie", "pop"], "b": ["pop"], "c": ["jazz"]},
    ).set_index("item_id")
    assert list(frame.columns) == ["genre:indie", "genre:pop"]
    assert frame.loc["t1"].tolist() == [0.5, 1.0]
    assert frame.loc["t2"].tolist() == [0.0, 1.0]
    assert frame.loc["t3"].tolist() == [0.0, 0.0]
