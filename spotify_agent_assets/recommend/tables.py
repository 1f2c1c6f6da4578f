"""Column contracts of the ``ml`` group's lake tables (``<lake>/ml/<table>/``)."""

from __future__ import annotations

from spotify_agent_assets.lake.table_contract import Column, TableContract

S, INT, F, D, VEC = "string", "int64", "float64", "date", "list<float64>"

ML_GROUP = "ml"

INTERACTION_MATRIX = TableContract(
    name="interaction_matrix",
    key=("listener_key", "track_id"),
    columns=(
        Column(
            "listener_key", S, "Pseudonymous listener (HMAC of the listener id)", nullable=False
        ),
        Column("track_id", S, "Spotify track id", nullable=False),
        Column("plays", INT, "Plays of the track by the listener up to as_of", nullable=False),
        Column("skips", INT, "Plays reported as skipped (null skip flags do not count)"),
        Column("listening_ms", INT, "Milliseconds listened over those plays"),
        Column("first_played", D, "UTC day of the first play", nullable=False),
        Column("last_played", D, "UTC day of the last play up to as_of", nullable=False),
        Column(
            "weight",
            F,
            "Implicit feedback as of as_of: sum over plays of 0.5^(age / half-life) times "
            "(completion - skip penalty if skipped), at least 0 (recommend.interaction_matrix)",
            nullable=False,
        ),
        Column(
            "train_weight",
            F,
            "The same weight from the plays before the validation days only, as of the day "
            "before them (0 for pairs first played in the validation days)",
            nullable=False,
        ),
        Column(
            "time_split",
            S,
            "train (first played before the last validation_days days) or validation",
            nullable=False,
        ),
        Column(
            "holdout_split",
            S,
            "train or holdout: a fixed share of each listener's tracks, chosen by a hash of "
            "the pair, held out (listeners with enough tracks only)",
            nullable=False,
        ),
    ),
)

USER_RECOMMENDATIONS = TableContract(
    name="user_recommendations",
    key=("listener_key", "rank"),
    columns=(
        Column(
            "listener_key", S, "Pseudonymous listener (HMAC of the listener id)", nullable=False
        ),
        Column("rank", INT, "1 = the best recommendation for the listener", nullable=False),
        Column("track_id", S, "Recommended Spotify track id", nullable=False),
        Column("score", F, "Predicted preference (user vector . track vector)", nullable=False),
        Column(
            "because_track_id",
            S,
            "The listener's played track most like the recommended one (cosine of vectors)",
        ),
        Column("because_similarity", F, "Cosine similarity of those two tracks' vectors"),
        Column(
            "model_version", S, "Registered model (name/version) that scored it", nullable=False
        ),
        Column(
            "as_of", D, "Last closed day of listening behind the listener's vector", nullable=False
        ),
    ),
)

TRACK_EMBEDDING_INDEX = TableContract(
    name="track_embedding_index",
    key=("track_id",),
    columns=(
        Column("track_id", S, "Spotify track id", nullable=False),
        Column(
            "vector",
            VEC,
            "The track's vector in the champion model's taste space (cosine similarity of two "
            "vectors: list_cosine_similarity in DuckDB)",
            nullable=False,
        ),
        Column(
            "norm", F, "Length of the vector (how much the model knows the track)", nullable=False
        ),
        Column(
            "source",
            S,
            "listening (learnt by the model) or content (predicted from the track's audio "
            "features and its artists' genres: nobody had played it in the model's training "
            "days)",
            nullable=False,
        ),
        Column(
            "model_version", S, "Registered model (name/version) of the vectors", nullable=False
        ),
    ),
)

SIMILAR_TRACKS = TableContract(
    name="similar_tracks",
    key=("track_id", "rank"),
    columns=(
        Column("track_id", S, "Spotify track id", nullable=False),
        Column("rank", INT, "1 = the most similar track", nullable=False),
        Column(
            "similar_track_id", S, "A track whose vector points most the same way", nullable=False
        ),
        Column("score", F, "Cosine similarity of the two tracks' vectors", nullable=False),
        Column(
            "source",
            S,
            "Where track_id's vector comes from: listening (the model) or content (predicted "
            "from its audio features and genres: a track nobody has played yet)",
            nullable=False,
        ),
        Column(
            "model_version", S, "Registered model (name/version) of the vectors", nullable=False
        ),
    ),
)
