"""The tables curation reads, made up over the sample world's catalogue for tests: features,
neighbours and recommendations drawn from a seeded generator (so the same seed gives the same
tables), written to a lake as the upstream assets would store them."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from spotify_agent_assets.activation.curation import CurationInputs
from spotify_agent_assets.activation.curation_tables import inputs_from_rows
from spotify_agent_assets.lake import ParquetLake
from spotify_agent_assets.sample_world.world import SampleWorld

KEYS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def upstream_rows(world: SampleWorld, seed: int = 3) -> dict[tuple[str, str], list[dict[str, Any]]]:
    rng = random.Random(seed)
    tracks = sorted(world.tracks(), key=lambda t: t.id)
    ids = [t.id for t in tracks]
    features = [
        {
            "track_id": t.id,
            # A few silent tracks: curation must leave them out.
            "status": "silent" if i % 40 == 0 else "ok",
            "tempo_bpm": None if i % 13 == 0 else rng.uniform(70, 160),
            "key": None if i % 17 == 0 else rng.choice(KEYS),
            "mode": rng.choice(("major", "minor")),
            "energy": rng.uniform(0.3, 0.9),
            "valence": rng.uniform(0.1, 0.8),
            "danceability": rng.uniform(0.1, 0.9),
        }
        for i, t in enumerate(tracks)
    ]
    similar = []
    for track_id in ids:
        others = rng.sample([o for o in ids if o != track_id], 10)
        scores = sorted((rng.uniform(0.3, 0.99) for _ in others), reverse=True)
        similar += [
            {"track_id": track_id, "rank": r + 1, "similar_track_id": o, "score": s}
            for r, (o, s) in enumerate(zip(others, scores, strict=True))
        ]
    recommendations = []
    for n in range(80):
        listener = hashlib.sha256(f"listener-{n}".encode()).hexdigest()
        for track_id in rng.sample(ids, 20):
            recommendations.append(
                {
                    "listener_key": listener,
                    "track_id": track_id,
                    "because_track_id": rng.choice(ids),
                }
            )
    return {
        ("spotify", "spotify_artists"): [
            {"artist_id": a.id, "name": a.name} for a in sorted(world.artists(), key=lambda a: a.id)
        ],
        ("spotify", "spotify_tracks"): [
            {
                "track_id": t.id,
                "name": t.name,
                "artist_ids": list(t.artist_ids),
                "explicit": t.explicit,
                "duration_ms": t.duration_ms,
            }
            for t in tracks
        ],
        ("audio", "audio_features"): features,
        ("ml", "user_recommendations"): recommendations,
        ("ml", "similar_tracks"): similar,
    }


def curation_inputs(rows: dict[tuple[str, str], list[dict[str, Any]]]) -> CurationInputs:
    return inputs_from_rows(rows)


def write_upstream(lake: ParquetLake, rows: dict[tuple[str, str], list[dict[str, Any]]]) -> None:
    for (group, name), table_rows in rows.items():
        lake.write(pa.Table.from_pylist(table_rows), group, name)


def write_specs(path: Path, playlists: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"playlists": playlists}, sort_keys=False))
    return path


def top_artists(world: SampleWorld, n: int) -> list[str]:
    """The ``n`` artists with the most tracks (ties by id)."""
    counts: dict[str, int] = {}
    for track in world.tracks():
        counts[track.artist_ids[0]] = counts.get(track.artist_ids[0], 0) + 1
    return sorted(counts, key=lambda a: (-counts[a], a))[:n]
