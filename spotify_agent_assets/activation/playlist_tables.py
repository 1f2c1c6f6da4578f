"""Column contracts of the curated playlist tables (``<lake>/activation/<table>/``)."""

from __future__ import annotations

from spotify_agent_assets.lake.table_contract import Column, TableContract

S, INT, F, B, LS = "string", "int64", "float64", "bool", "list<string>"

ACTIVATION_GROUP = "activation"

CURATED_PLAYLISTS = TableContract(
    name="curated_playlists",
    key=("playlist_key", "position"),
    columns=(
        Column("playlist_key", S, "The spec's stable key (its name, slugged)", nullable=False),
        Column("playlist_name", S, "Playlist name as written to Spotify", nullable=False),
        Column("position", INT, "1-based play position (harmonic order)", nullable=False),
        Column("track_id", S, "Spotify track id", nullable=False),
        Column("track_name", S, "Track name (spotify.spotify_tracks)"),
        Column("primary_artist_id", S, "The track's first artist (the per-artist cap counts it)"),
        Column(
            "source",
            S,
            "Where the candidate came from: seed, similar (ml.similar_tracks) or recommended "
            "(ml.user_recommendations of the segment)",
            nullable=False,
        ),
        Column("reason", S, "Why the track is in the playlist, in words", nullable=False),
        Column(
            "relevance",
            F,
            "0..1: seed 1, cosine similarity, or listeners recommended it relative to the segment's top track",
        ),
        Column("mood_distance", F, "Mean distance to the spec's audio targets (0 = on target)"),
        Column("tempo_bpm", F, "Tempo used for ordering (audio.audio_features)"),
        Column("camelot", S, "Camelot code of the key and mode (8A = A minor), if tonal"),
        Column("energy", F, "Energy used for ordering and fit (0..1)"),
        Column("valence", F, "Valence used for fit (0..1)"),
        Column("duration_ms", INT, "Track duration (spotify.spotify_tracks)"),
        Column(
            "transition_cost",
            F,
            "Cost of the step from the previous track: Camelot steps + 6% tempo steps + 0.1 "
            "energy steps (null for the first)",
        ),
        Column("segment", S, "The listener segment whose recommendations counted"),
        Column("segment_listeners", INT, "How many listeners the segment holds (no keys)"),
        Column("spec_digest", S, "SHA-256 of the spec the playlist was curated from", False),
    ),
)

PLAYLIST_WRITE_PLAN = TableContract(
    name="playlist_write_plan",
    key=("playlist_key", "step"),
    columns=(
        Column("playlist_key", S, "The spec's stable key", nullable=False),
        Column("playlist_name", S, "Playlist name on Spotify", nullable=False),
        Column("step", INT, "Order of the call within the playlist's plan (1-based)", False),
        Column(
            "action",
            S,
            "create (POST /me/playlists), replace (PUT items: the first 100), add (POST items: "
            "each next 100) or unchanged (no call)",
            nullable=False,
        ),
        Column("spotify_playlist_id", S, "The playlist's id (null: not created yet)"),
        Column(
            "found_by", S, "How the playlist was found: spec_id, stored_id, name or missing", False
        ),
        Column("snapshot_before", S, "The playlist's snapshot_id when the plan was made"),
        Column("track_uris", LS, "URIs the call sends (replace and add; at most 100)"),
        Column("position", INT, "Where add inserts (the items before it)"),
        Column("target_tracks", INT, "Tracks the playlist should hold", nullable=False),
        Column("current_tracks", INT, "Tracks it held (null when missing or not read)"),
        Column("tracks_added", INT, "Target tracks it did not hold", nullable=False),
        Column("tracks_removed", INT, "Held tracks not in the target", nullable=False),
        Column("target_digest", S, "SHA-256 of the target track list, in order", False),
        Column("mode", S, "dry_run (planned only) or write", nullable=False),
        Column("executed", B, "Whether the call was made in this run", nullable=False),
        Column("snapshot_after", S, "snapshot_id Spotify answered (executed calls)"),
    ),
)
