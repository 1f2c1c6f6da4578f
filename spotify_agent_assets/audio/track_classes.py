"""Train both classification heads on the stored features and label every analysed track.

Content type (music / speech / other / silence, `labels.CONTENT_TYPES`) learns from the curated
labels file (`labels`); genre family learns from the artists' Spotify genres
(`genres.track_genre`), on the tracks labelled music only (a speech, animal or near-silent clip
says nothing of its artist's family). Every track with
features (status ok, silent or too_short; a failed analysis has none) gets a content type, and a
genre when its predicted content type is music. Models: `classification`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from spotify_agent_assets.audio.classification import (
    CONTENT_TYPE_FEATURES,
    GENRE_FEATURES,
    TrainedClassifier,
    train_classifier,
)

CLASSIFIABLE = frozenset({"ok", "silent", "too_short"})


class NotEnoughLabelsError(ValueError):
    """A head has too few labelled tracks (or classes) to be trained and measured."""


@dataclass(frozen=True)
class TrackClasses:
    rows: list[dict[str, Any]]
    content_type: TrainedClassifier
    genre: TrainedClassifier | None
    genre_note: str | None  # why there is no genre model


def classify_tracks(
    features: Sequence[Mapping[str, Any]],
    content_labels: Mapping[str, str],
    genre_labels: Mapping[str, str | None],
    *,
    random_state: int = 0,
) -> TrackClasses:
    """Rows of ``track_classification`` (without model versions) and the two trained heads.

    ``features`` are ``audio_features`` rows. Raises `NotEnoughLabelsError` when the content
    type cannot be trained; a genre head that cannot be trained leaves ``genre`` None and says
    why in ``genre_note``.
    """
    usable = [row for row in features if row.get("status") in CLASSIFIABLE]
    labelled = [row for row in usable if row["track_id"] in content_labels]
    try:
        content_model = _train(labelled, content_labels, CONTENT_TYPE_FEATURES, random_state)
    except ValueError as error:
        raise NotEnoughLabelsError(
            f"content type cannot be trained from {len(labelled)} labelled track(s) with "
            f"features: {error}"
        ) from error

    music = [
        row
        for row in labelled
        if content_labels[row["track_id"]] == "music" and genre_labels.get(row["track_id"])
    ]
    genre_model, genre_note = None, None
    try:
        genre_model = _train(music, genre_labels, GENRE_FEATURES, random_state)
    except ValueError as error:
        genre_note = (
            f"genre not trained: {len(music)} music track(s) with a genre family from their "
            f"artists' Spotify genres; {error}"
        )

    content = content_model.predict(usable)
    genres = genre_model.predict(usable) if genre_model is not None else [None] * len(usable)
    rows = []
    for row, kind, genre in zip(usable, content, genres, strict=True):
        is_music = kind.label == "music" and genre is not None
        rows.append(
            {
                "track_id": row["track_id"],
                "content_hash": row["content_hash"],
                "content_type": kind.label,
                "content_type_probability": kind.probability,
                "content_type_probabilities": json.dumps(kind.probabilities, sort_keys=True),
                "content_type_drivers": [d.describe() for d in kind.drivers],
                "content_type_label": content_labels.get(row["track_id"]),
                "genre": genre.label if is_music else None,
                "genre_probability": genre.probability if is_music else None,
                "genre_probabilities": (
                    json.dumps(genre.probabilities, sort_keys=True) if is_music else None
                ),
                "genre_drivers": [d.describe() for d in genre.drivers] if is_music else [],
                "genre_label": genre_labels.get(row["track_id"]),
            }
        )
    return TrackClasses(rows, content_model, genre_model, genre_note)


def _train(
    rows: Sequence[Mapping[str, Any]],
    labels: Mapping[str, Any],
    feature_names: Sequence[str],
    random_state: int,
) -> TrainedClassifier:
    targets = [labels[row["track_id"]] for row in rows]
    return train_classifier(rows, targets, feature_names, random_state=random_state)
