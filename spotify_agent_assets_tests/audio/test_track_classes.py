"""Both heads trained from stored feature rows, and the rows of track_classification."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from spotify_agent_assets.audio.feature_names import FEATURE_NAMES
from spotify_agent_assets.audio.track_classes import NotEnoughLabelsError, classify_tracks

GENRES = ("rock", "jazz", "classical")


def feature_rows(rng: np.random.Generator) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Music (three genre families with distinct tempi), speech and near-silence."""
    rows, kinds = [], {}
    for n in range(150):
        kind = "music" if n < 120 else "speech" if n < 140 else "other"
        row: dict[str, Any] = dict.fromkeys(FEATURE_NAMES, 0.5)
        row |= {"extractor_version": "1", "status": "ok", "key": "C", "mode": "major"}
        speech = kind == "speech"
        row |= {
            "speechiness": (0.85 if speech else 0.3) + 0.03 * rng.normal(),
            "zcr_active_cv": (0.9 if speech else 0.3) + 0.05 * rng.normal(),
            "modulation_4hz": (0.1 if speech else 0.03) + 0.005 * rng.normal(),
            "key_confidence": (0.3 if speech else 0.8) + 0.05 * rng.normal(),
            "loudness_db": -20 + rng.normal(),
            "tempo_bpm": (80, 120, 160)[n % 3] + 3 * rng.normal(),
        }
        if kind == "other":
            row |= {"status": "silent", "loudness_db": -70 + rng.normal(), "tempo_bpm": None}
        track_id = f"track{n:017d}"
        rows.append(row | {"track_id": track_id, "content_hash": f"h{n}"})
        kinds[track_id] = kind
    failed = dict.fromkeys(FEATURE_NAMES) | {"status": "failed"}
    rows.append(failed | {"track_id": "failed00000000000000000", "content_hash": "hf"})
    return rows, kinds


def test_every_analysed_track_gets_a_content_type_and_music_a_genre() -> None:
    rows, kinds = feature_rows(np.random.default_rng(1))
    genres = {t: GENRES[int(t[-3:]) % 3] for t, k in kinds.items() if k == "music"}
    result = classify_tracks(rows, kinds, genres)
    assert result.genre is not None and result.genre_note is None
    assert result.content_type.metrics.accuracy == pytest.approx(1.0)
    assert result.genre.metrics.accuracy > 0.9
    by_track = {row["track_id"]: row for row in result.rows}
    assert len(by_track) == 150  # the failed analysis has no features to classify
    for track_id, kind in kinds.items():
        row = by_track[track_id]
        assert row["content_type"] == kind == row["content_type_label"]
        assert sum(json.loads(row["content_type_probabilities"]).values()) == pytest.approx(1)
        assert row["content_type_drivers"]
        if kind == "music":
            assert row["genre"] == genres[track_id]
            # Tempo is the only genre feature that varies here; a prediction may also rest on
            # the intercept alone (no positive driver).
            assert all(d.startswith("tempo_bpm=") for d in row["genre_drivers"])
        else:
            assert row["genre"] is None and row["genre_probability"] is None


def test_without_genres_only_the_genre_head_is_missing_and_says_why() -> None:
    rows, kinds = feature_rows(np.random.default_rng(2))
    result = classify_tracks(rows, kinds, {})
    assert result.genre is None
    assert "genre not trained: 0 music track(s)" in result.genre_note
    assert all(row["genre"] is None for row in result.rows)


def test_too_few_labels_for_the_content_type_is_an_error_saying_so() -> None:
    rows, kinds = feature_rows(np.random.default_rng(3))
    few = {t: k for t, k in kinds.items() if k == "music"}
    with pytest.raises(NotEnoughLabelsError, match="content type cannot be trained from 120"):
        classify_tracks(rows, few, {})
