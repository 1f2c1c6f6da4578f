"""The stored tables curation reads, and how their rows become ``CurationInputs``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spotify_agent_assets.activation.curation import (
    AudioFeatures,
    CatalogueTrack,
    CurationInputs,
    index_recommendations,
    index_similar,
)

# (group, table) -> the columns curation reads from it.
CURATION_COLUMNS: dict[tuple[str, str], tuple[str, ...]] = {
    ("spotify", "spotify_artists"): ("artist_id", "name"),
    ("spotify", "spotify_tracks"): ("track_id", "name", "artist_ids", "explicit", "duration_ms"),
    ("audio", "audio_features"): (
        "track_id",
        "status",
        "tempo_bpm",
        "key",
        "mode",
        "energy",
        "valence",
        "danceability",
    ),
    ("ml", "user_recommendations"): ("listener_key", "track_id", "because_track_id"),
    ("ml", "similar_tracks"): ("track_id", "rank", "similar_track_id", "score"),
}


def inputs_from_rows(tables: Mapping[tuple[str, str], list[dict[str, Any]]]) -> CurationInputs:
    """The stored tables' rows (``CURATION_COLUMNS`` of each) as curation's inputs; only
    audio features with status ok count."""
    tracks = {
        r["track_id"]: CatalogueTrack(
            r["track_id"],
            r["name"] or "",
            tuple(r["artist_ids"] or ()),
            r["explicit"],
            r["duration_ms"],
        )
        for r in tables[("spotify", "spotify_tracks")]
    }
    features = {
        r["track_id"]: AudioFeatures(
            r["tempo_bpm"], r["key"], r["mode"], r["energy"], r["valence"], r["danceability"]
        )
        for r in tables[("audio", "audio_features")]
        if r["status"] == "ok"
    }
    return CurationInputs(
        tracks=tracks,
        artist_names={
            r["artist_id"]: r["name"] or r["artist_id"]
            for r in tables[("spotify", "spotify_artists")]
        },
        features=features,
        similar=index_similar(tables[("ml", "similar_tracks")]),
        recommendations=index_recommendations(tables[("ml", "user_recommendations")]),
    )
