"""The ``ml`` group over ingested sample listening: ``interaction_matrix`` counts every play
under pseudonyms and a re-run replaces it; ``recommender_model`` registers a version, reuses it
for the same training, and a worse model does not become champion."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pyarrow.compute as pc
import pytest

from spotify_agent_assets.defs.ml.assets import ML_ASSETS, ML_TABLE_CHECKS
from spotify_agent_assets.defs.ml.schedules import (
    daily_interactions_schedule,
    weekly_recommender_training_schedule,
)
from spotify_agent_assets.defs.ml.serving import SERVING_ASSETS, SERVING_TABLE_CHECKS
from spotify_agent_assets.defs.resources import build_resources
from spotify_agent_assets.defs.spotify import assets as spotify_assets
from spotify_agent_assets.defs.spotify.checks import spotify_table_checks
from spotify_agent_assets.defs.streams.assets import STREAM_ASSETS
from spotify_agent_assets.defs.streams.checks import STREAM_TABLE_CHECKS
from spotify_agent_assets.lake import ParquetLake
from spotify_agent_assets.sample_world.landing_files import write_sample_landing_zone
from spotify_agent_assets.sample_world.listening import ListeningWorld
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.defs.graph_runs import graph_settings, materialize_keys

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::dagster.BetaWarning"),
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy:DeprecationWarning"),
]

FIRST = dt.date(2026, 10, 1)
DAYS = 10


def test_interaction_matrix_counts_every_play_under_pseudonyms_and_reruns_alike(
    tmp_path: Path, world: SampleWorld
) -> None:
    settings = graph_settings(tmp_path / "run", world)
    listening = ListeningWorld(world, n_listeners=150, first_day=FIRST, days=DAYS)
    write_sample_landing_zone(listening, Path(settings.landing_dir))
    defs = dg.Definitions(
        assets=[
            *dg.load_assets_from_modules([spotify_assets]),
            *STREAM_ASSETS,
            *ML_ASSETS,
            *SERVING_ASSETS,
        ],
        asset_checks=[
            *spotify_table_checks,
            *STREAM_TABLE_CHECKS,
            *ML_TABLE_CHECKS,
            *SERVING_TABLE_CHECKS,
        ],
        resources=build_resources(settings),
    )
    days = [(FIRST + dt.timedelta(days=i)).isoformat() for i in range(DAYS + 1)]
    graph = defs.resolve_asset_graph()
    streams = [
        k.to_user_string()
        for k in graph.get_all_asset_keys()
        if graph.get(k).group_name == "streams"
    ]
    spotify = [
        k.to_user_string()
        for k in graph.get_all_asset_keys()
        if graph.get(k).group_name == "spotify"
    ]
    lake = ParquetLake(settings.lake_root)
    with dg.instance_for_test() as instance:
        materialize_keys(defs, instance, streams, days)
        materialize_keys(defs, instance, spotify)
        assert isinstance(_tick(daily_interactions_schedule, instance), dg.RunRequest)
        assert isinstance(_tick(weekly_recommender_training_schedule, instance), dg.SkipReason)
        materialize_keys(defs, instance, ["interaction_matrix"])  # with its blocking key check
        # Nothing new since: the daily tick skips; the model has something new to learn from.
        assert isinstance(_tick(daily_interactions_schedule, instance), dg.SkipReason)
        assert isinstance(_tick(weekly_recommender_training_schedule, instance), dg.RunRequest)
        first = lake.read("ml", "interaction_matrix")
        materialize_keys(defs, instance, ["interaction_matrix"])
        again = lake.read("ml", "interaction_matrix")
        trained = [_train(defs, instance, {}) for _ in range(2)]
        served = _serve(defs, instance, lake, {"n": 5})
        clean = _serve(defs, instance, lake, {"n": 5, "exclude_explicit": True})
        unplayed = _write_audio_features(lake, world, set(events_played(lake)))
        materialize_keys(defs, instance, ["track_embedding_index", "similar_tracks"])
        similar = lake.read("ml", "similar_tracks").to_pandas()
        index = lake.read("ml", "track_embedding_index").to_pandas()
        # The automation sensor's view: everything served is current, nothing is requested.
        first_tick = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert _requested(first_tick) == set()
        forced_worse = _train(defs, instance, {"factors": 1, "iterations": 1, "search": False})
        assert isinstance(_tick(weekly_recommender_training_schedule, instance), dg.SkipReason)
        # A new model version (champion or not) re-serves what reads the registry.
        after_training = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=first_tick.cursor
        )
        assert _requested(after_training) == {
            "user_recommendations",
            "track_embedding_index",
            "similar_tracks",
        }

    assert again.equals(first)  # replaced, not appended
    events = lake.read("streams", "stream_events")
    assert pc.sum(first["plays"]).as_py() == events.num_rows  # every closed day, every play
    assert set(first["listener_key"].to_pylist()) == set(events["listener_key"].to_pylist())
    raw_ids = set(listening.listeners()["listener_id"].to_pylist())
    assert not raw_ids & set(first["listener_key"].to_pylist())
    assert pc.min(first["weight"]).as_py() >= 0.0
    assert set(first["time_split"].to_pylist()) == {"train", "validation"}
    assert "holdout" in set(first["holdout_split"].to_pylist())
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        (rows,) = con.execute("select count(*) from ml.interaction_matrix").fetchone()
    assert rows == first.num_rows

    (v1, check1), (v1_again, check2), (v2, check3) = [*trained, forced_worse]
    assert v1["model_version"] == v1_again["model_version"] == "recommender/1"
    assert v1_again["reused_version"] is True
    assert v1["ndcg_at_10"] == v1_again["ndcg_at_10"]  # same data, same seed: same metrics
    assert v1["ndcg_at_10"] > v1["baseline_ndcg_at_10"]
    # The same numbers as a chart in the UI (plots/asset_charts.model_against_baseline).
    chart = base64.b64decode(v1["metrics_chart"].split(";base64,")[1].rstrip(")")).decode()
    assert f"model ndcg@10: {v1['ndcg_at_10']:.4g}</title>" in chart
    assert f"popularity baseline ndcg@10: {v1['baseline_ndcg_at_10']:.4g}</title>" in chart
    assert check1.passed and check2.passed
    assert v2["model_version"] == "recommender/2"
    assert v2["champion_version"] == "recommender/1"
    assert not check3.passed and check3.severity == dg.AssetCheckSeverity.WARN
    assert "not better" in check3.metadata["decision"].value

    # Serving: every listener with 3+ tracks gets 5 tracks they have not played, each with
    # one of their own tracks as the reason; explicit tracks go when asked.
    matrix = first.to_pandas()
    matrix = matrix[matrix["weight"] > 0]
    played = matrix.groupby("listener_key")["track_id"].agg(set)
    eligible = set(played.index[played.map(len) >= 3])
    assert set(served["listener_key"]) == eligible
    assert (served.groupby("listener_key").size() == 5).all()
    for listener, group in served.groupby("listener_key"):
        assert not set(group["track_id"]) & played[listener]
        assert set(group["because_track_id"]) <= played[listener]
    explicit = {t.id for t in world.tracks() if t.explicit}
    assert explicit & set(served["track_id"]), "the sample world should recommend some"
    assert not explicit & set(clean["track_id"])
    assert (served["model_version"] == "recommender/1").all()

    # A track nobody played, known only by its audio features, has neighbours; so does one
    # first played after the model's training days.
    from_audio = similar[similar["source"] == "content"]
    trained_on = set(
        matrix[(matrix["time_split"] == "train") & (matrix["train_weight"] > 0)]["track_id"]
    )
    assert unplayed and unplayed <= set(from_audio["track_id"])
    assert set(from_audio["track_id"]) == {t.id for t in world.tracks()} - trained_on
    assert (from_audio.groupby("track_id").size() == 10).all()
    from_plays = set(similar[similar["source"] == "listening"]["track_id"])
    assert from_plays == trained_on
    assert set(index["track_id"]) == set(similar["track_id"])
    assert (index["vector"].map(len) == 64).all()
    # The index answers a nearest-neighbour query in DuckDB as similar_tracks does.
    probe = sorted(unplayed)[0]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        nearest = con.execute(
            "select b.track_id from ml.track_embedding_index a, ml.track_embedding_index b "
            "where a.track_id = ? and b.track_id <> a.track_id "
            "order by list_cosine_similarity(a.vector, b.vector) desc limit 3",
            [probe],
        ).fetchall()
    expected = similar[similar["track_id"] == probe].sort_values("rank")["similar_track_id"]
    assert [row[0] for row in nearest] == expected.tolist()[:3]


def _requested(tick: object) -> set[str]:
    """Assets (not checks) an automation tick asks to materialize."""
    return {
        r.key.to_user_string()
        for r in tick.results  # type: ignore[attr-defined]
        if r.true_subset.size and isinstance(r.key, dg.AssetKey)
    }


def _tick(schedule: dg.ScheduleDefinition, instance: dg.DagsterInstance) -> object:
    """What the schedule's function answers on a tick now."""
    with dg.build_schedule_context(instance=instance) as context:
        return schedule(context)


def events_played(lake: ParquetLake) -> list[str]:
    return lake.read("streams", "stream_events")["track_id"].to_pylist()


def _serve(
    defs: dg.Definitions, instance: dg.DagsterInstance, lake: ParquetLake, config: dict
) -> pd.DataFrame:
    result = dg.materialize(
        [*defs.assets, *defs.asset_checks],  # type: ignore[list-item]
        selection=dg.AssetSelection.assets("user_recommendations")
        | dg.AssetSelection.checks_for_assets("user_recommendations"),
        resources=defs.resources,
        instance=instance,
        run_config={"ops": {"user_recommendations": {"config": config}}},
    )
    assert result.success
    return lake.read("ml", "user_recommendations").to_pandas()


def _write_audio_features(lake: ParquetLake, world: SampleWorld, played: set[str]) -> set[str]:
    """Audio features for every catalogue track, shaped by its artist (as a sound follows its
    artist); returns the tracks among them nobody played."""
    import numpy as np

    from spotify_agent_assets.audio.tables import AUDIO_FEATURES
    from spotify_agent_assets.lake.table_contract import to_arrow

    artists = sorted({t.artist_ids[0] for t in world.tracks()})
    centre = {a: np.random.default_rng(i).normal(size=4) for i, a in enumerate(artists)}
    rng = np.random.default_rng(0)
    rows = []
    for track in world.tracks():
        energy, dance, valence, tempo = centre[track.artist_ids[0]] + rng.normal(0, 0.2, 4)
        rows.append(
            {
                "track_id": track.id,
                "path": f"{track.id}.wav",
                "content_hash": track.id,
                "status": "ok",
                "energy": float(energy),
                "danceability": float(dance),
                "valence": float(valence),
                "tempo_bpm": float(100 + 10 * tempo),
            }
        )
    lake.write(to_arrow(AUDIO_FEATURES, rows), "audio", "audio_features")
    return {t.id for t in world.tracks()} - played


def _train(
    defs: dg.Definitions, instance: dg.DagsterInstance, config: dict
) -> tuple[dict, dg.AssetCheckEvaluation]:
    """Materialize recommender_model with ``config``: its metadata and its check's result."""
    result = dg.materialize(
        [*defs.assets],  # type: ignore[list-item]
        selection=dg.AssetSelection.assets("recommender_model"),
        resources=defs.resources,
        instance=instance,
        run_config={"ops": {"recommender_model": {"config": config}}},
    )
    assert result.success
    (materialization,) = result.asset_materializations_for_node("recommender_model")
    metadata = {key: value.value for key, value in materialization.metadata.items()}
    (evaluation,) = [
        e for e in result.get_asset_check_evaluations() if e.check_name == "champion_decision"
    ]
    return metadata, evaluation
