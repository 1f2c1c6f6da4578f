"""The ``ml`` group's serving tables, from the champion ``recommender`` model:
``user_recommendations``, ``track_embedding_index`` and ``similar_tracks``.

They follow their inputs by declarative automation: a new ``interaction_matrix`` each day folds
every listener in again (no retraining), a new model version re-serves all three.
"""

from typing import Any

import dagster as dg
import pyarrow as pa

from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.defs.ml.assets import (
    AUDIO_FEATURES,
    RECOMMENDER_MODEL,
    SPOTIFY_ARTISTS,
    SPOTIFY_TRACKS,
    pseudonym_check,
    pseudonym_check_spec,
)
from spotify_agent_assets.defs.ml.resources import MlflowTrackingResource
from spotify_agent_assets.defs.table_checks import build_table_checks
from spotify_agent_assets.defs.table_metadata import contract_metadata
from spotify_agent_assets.recommend.tables import (
    ML_GROUP,
    SIMILAR_TRACKS,
    TRACK_EMBEDDING_INDEX,
    USER_RECOMMENDATIONS,
)


def _champion(mlflow: MlflowTrackingResource) -> tuple[Any, str]:
    """The champion model and its name/version; a clear failure when there is none."""
    from spotify_agent_assets.recommend.registry import champion_version, load_recommender

    version = champion_version(mlflow.tracking_uri, RECOMMENDER_MODEL)
    if version is None:
        raise dg.Failure(
            f"no version of {RECOMMENDER_MODEL} holds the champion alias in {mlflow.tracking_uri}: "
            "materialize recommender_model first",
            allow_retries=False,
        )
    return load_recommender(mlflow.tracking_uri, RECOMMENDER_MODEL, version), (
        f"{RECOMMENDER_MODEL}/{version}"
    )


# Serving tables follow a new matrix (daily) or a new model version (weekly); eager() waits
# while an input was never materialized, so nothing is served before a model exists.
SERVING_AUTOMATION = dg.AutomationCondition.eager()
# Audio features and genres only add vectors for unplayed tracks: the index is built without
# them, so their absence must not hold it back (eager() would wait for them forever).
EMBEDDING_AUTOMATION = (
    dg.AutomationCondition.eager()
    .replace(
        "any_deps_missing",
        dg.AutomationCondition.any_deps_missing().ignore(
            dg.AssetSelection.assets(AUDIO_FEATURES, SPOTIFY_TRACKS, SPOTIFY_ARTISTS)
        ),
    )
    .with_label("eager (content features optional)")
)


class UserRecommendationsConfig(dg.Config):
    """How many tracks per listener, who counts, and whether explicit tracks may be offered."""

    n: int = 20
    min_tracks: int = 3
    exclude_explicit: bool = False


@dg.asset(
    group_name=ML_GROUP,
    kinds={"python", "torch", "parquet"},
    deps=["recommender_model", SPOTIFY_TRACKS],
    automation_condition=SERVING_AUTOMATION,
    check_specs=[pseudonym_check_spec("user_recommendations")],
    metadata=contract_metadata(USER_RECOMMENDATIONS),
)
def user_recommendations(
    context: dg.AssetExecutionContext,
    config: UserRecommendationsConfig,
    lake: LakeResource,
    mlflow: MlflowTrackingResource,
    interaction_matrix: pa.Table,
):
    """The top ``n`` tracks for every listener with at least ``min_tracks`` played tracks,
    from the champion ``recommender`` model, each with the played track that led to it.

    The champion was trained up to its validation days; each listener's vector is folded in
    again from their whole current ``interaction_matrix`` row (fixed track vectors, no
    retraining), so the last days count. Tracks they played are left out, and explicit ones
    too when ``exclude_explicit`` (``spotify.spotify_tracks.explicit``; unknown counts as
    explicit then). ``because_track_id``: the listener's played track most like the
    recommendation.
    """
    import pandas as pd
    import pyarrow.compute as pc

    from spotify_agent_assets.lake.table_contract import arrow_schema
    from spotify_agent_assets.recommend import fold_in
    from spotify_agent_assets.recommend.reasons import explain

    champion, version = _champion(mlflow)
    frame = interaction_matrix.select(["listener_key", "track_id", "weight"]).to_pandas()
    frame = frame[frame["weight"] > 0]
    known = champion.item_positions(frame["track_id"]) >= 0
    history = pd.DataFrame(
        {
            "user_id": frame["listener_key"][known],
            "item_id": frame["track_id"][known],
            "weight": frame["weight"][known],
        }
    )
    model = fold_in(champion, history, replace=True)
    tracks_per_listener = history.groupby("user_id").size()
    listeners = tracks_per_listener.index[tracks_per_listener >= config.min_tracks].tolist()
    explicit = _explicit_tracks(lake, champion.items) if config.exclude_explicit else None
    recs = explain(model, model.recommend_excluding(listeners, n=config.n, exclude_items=explicit))
    as_of = max(interaction_matrix["last_played"].to_pylist())
    table = pa.table(
        {
            "listener_key": recs["user_id"].astype(str),
            "rank": recs["rank"].astype("int64"),
            "track_id": recs["item_id"].astype(str),
            "score": recs["score"],
            "because_track_id": recs["because_item_id"],
            "because_similarity": recs["because_similarity"],
            "model_version": [version] * len(recs),
            "as_of": [as_of] * len(recs),
        },
        schema=arrow_schema(USER_RECOMMENDATIONS),
    )
    context.log.info(
        f"{len(listeners):,} listeners, {table.num_rows:,} recommendations from {version}; "
        f"{int((~known).sum()):,} listening pairs of tracks the model has no vector for"
    )
    yield dg.Output(
        table,
        metadata={
            "model_version": dg.MetadataValue.text(version),
            "listeners": dg.MetadataValue.int(len(listeners)),
            "distinct_tracks": dg.MetadataValue.int(len(pc.unique(table["track_id"]))),
            "pairs_without_vector": dg.MetadataValue.int(int((~known).sum())),
            "explicit_excluded": dg.MetadataValue.int(0 if explicit is None else len(explicit)),
        },
    )
    yield pseudonym_check(table)


def _explicit_tracks(lake: LakeResource, items: Any) -> list[Any]:
    """Tracks to hide when explicit content is excluded: explicit, or of unknown rating."""
    rows = lake.previous_rows("spotify", SPOTIFY_TRACKS.path[-1])
    clean = {row["track_id"] for row in rows if row.get("explicit") is False}
    return [item for item in items.tolist() if item not in clean]


@dg.asset(
    group_name=ML_GROUP,
    kinds={"python", "torch", "parquet"},
    deps=["recommender_model", AUDIO_FEATURES, SPOTIFY_TRACKS, SPOTIFY_ARTISTS],
    automation_condition=EMBEDDING_AUTOMATION,
    metadata=contract_metadata(TRACK_EMBEDDING_INDEX),
)
def track_embedding_index(
    context: dg.AssetExecutionContext, lake: LakeResource, mlflow: MlflowTrackingResource
) -> dg.Output:
    """Every track's vector in the champion model's taste space: the index nearest-neighbour
    search runs over (``similar_tracks``, or ad hoc in DuckDB with ``list_cosine_similarity``).

    Tracks the model learnt from plays are ``listening``; tracks nobody had played in its
    training days get a vector predicted from their content (``source`` = content): their
    audio features (``audio.audio_features``) and their artists' genres
    (``spotify.spotify_tracks``, ``spotify.spotify_artists``), by a ridge map fitted on the
    tracks that have both, so a new release has neighbours before its first play. An exact (flat) index: tens of thousands of tracks are
    scanned in milliseconds, where an approximate index would only add recall loss.
    """
    import numpy as np

    from spotify_agent_assets.lake.table_contract import arrow_schema
    from spotify_agent_assets.recommend.content_vectors import with_content_vectors

    champion, version = _champion(mlflow)
    content = _content_features(context, lake)
    model, added = champion, []
    if content is not None:
        model, added = with_content_vectors(champion, content)
    vectors = model.item_vectors.astype(np.float64)
    from_audio = set(added)
    table = pa.table(
        {
            "track_id": [str(t) for t in model.items],
            "vector": list(vectors),
            "norm": np.linalg.norm(vectors, axis=1),
            "source": ["content" if t in from_audio else "listening" for t in model.items],
            "model_version": [version] * model.n_items,
        },
        schema=arrow_schema(TRACK_EMBEDDING_INDEX),
    )
    context.log.info(
        f"{model.n_items:,} tracks ({len(added):,} from audio features and genres only) "
        f"from {version}"
    )
    return dg.Output(
        table,
        metadata={
            "model_version": dg.MetadataValue.text(version),
            "tracks": dg.MetadataValue.int(model.n_items),
            "tracks_from_content": dg.MetadataValue.int(len(added)),
            "dimensions": dg.MetadataValue.int(int(vectors.shape[1])),
        },
    )


def _content_features(context: dg.AssetExecutionContext, lake: LakeResource) -> Any:
    """Audio features (status ok) and genre shares per track, outer-joined on item_id; None
    when neither is stored."""
    import pyarrow.compute as pc

    from spotify_agent_assets.recommend.content_vectors import genre_features

    parts = []
    if lake.lake().exists("audio", AUDIO_FEATURES.path[-1]):
        features = lake.read_table("audio", AUDIO_FEATURES.path[-1])
        features = features.filter(pc.equal(features["status"], "ok")).to_pandas()
        numeric = features.select_dtypes("number").drop(
            columns=["extractor_version"], errors="ignore"
        )
        parts.append(numeric.assign(item_id=features["track_id"]))
    tracks = lake.previous_rows("spotify", SPOTIFY_TRACKS.path[-1])
    artists = lake.previous_rows("spotify", SPOTIFY_ARTISTS.path[-1])
    if tracks and artists:
        parts.append(
            genre_features(
                {t["track_id"]: t["artist_ids"] or [] for t in tracks},
                {a["artist_id"]: a["genres"] or [] for a in artists},
            )
        )
    if not parts:
        context.log.warning(
            "neither audio.audio_features nor the Spotify tracks and artists are stored: "
            "no vectors for unplayed tracks"
        )
        return None
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part, on="item_id", how="outer")
    return merged


@dg.asset(
    group_name=ML_GROUP,
    kinds={"python", "torch", "parquet"},
    automation_condition=SERVING_AUTOMATION,
    metadata=contract_metadata(SIMILAR_TRACKS),
)
def similar_tracks(context: dg.AssetExecutionContext, track_embedding_index: pa.Table) -> dg.Output:
    """The 10 most similar tracks of every track in ``track_embedding_index``, by the cosine of
    their vectors; ``source`` says whether the track's vector was learnt from plays or
    predicted from its audio features (a track nobody has played yet).
    """
    import numpy as np

    from spotify_agent_assets.lake.table_contract import arrow_schema
    from spotify_agent_assets.recommend.model import nearest_neighbours

    ids = np.array(track_embedding_index["track_id"].to_pylist(), dtype=object)
    vectors = np.array(track_embedding_index["vector"].to_pylist(), dtype=np.float32)
    similar = nearest_neighbours(ids, vectors, np.arange(len(ids)), 10)
    source = dict(zip(ids, track_embedding_index["source"].to_pylist(), strict=True))
    versions = set(track_embedding_index["model_version"].to_pylist())
    version = versions.pop() if len(versions) == 1 else ", ".join(sorted(versions))
    table = pa.table(
        {
            "track_id": similar["item_id"].astype(str),
            "rank": similar["rank"].astype("int64"),
            "similar_track_id": similar["similar_item_id"].astype(str),
            "score": similar["score"],
            "source": [source[t] for t in similar["item_id"]],
            "model_version": [version] * len(similar),
        },
        schema=arrow_schema(SIMILAR_TRACKS),
    )
    context.log.info(f"10 neighbours for each of {len(ids):,} tracks")
    return dg.Output(
        table,
        metadata={
            "model_version": dg.MetadataValue.text(version),
            "tracks": dg.MetadataValue.int(len(ids)),
        },
    )


SERVING_ASSETS: list[dg.AssetsDefinition] = [
    user_recommendations,
    track_embedding_index,
    similar_tracks,
]
SERVING_TABLE_CHECKS = [
    build_table_checks(ML_GROUP, contract)
    for contract in (USER_RECOMMENDATIONS, TRACK_EMBEDDING_INDEX, SIMILAR_TRACKS)
]
