"""Column contract of ``activation.generated_content`` (``<lake>/activation/generated_content/``).

One row per generated item; the item itself is a file beside the table, under
``files/`` (texts as UTF-8, cover art as PNG, jingles as WAV), so the table is its index.
"""

from __future__ import annotations

from spotify_agent_assets.lake.table_contract import Column, TableContract

S, INT, B, D, LS = "string", "int64", "bool", "date", "list<string>"

GENERATED_CONTENT = TableContract(
    name="generated_content",
    key=("content_id",),
    columns=(
        Column("content_id", S, "<kind>:<subject_type>:<subject_id>: stable across runs", False),
        Column(
            "kind",
            S,
            "insight_post (weekly, per artist), playlist_description, cover_art (640x640 PNG) "
            "or jingle (WAV)",
            nullable=False,
        ),
        Column("subject_type", S, "artist or playlist", nullable=False),
        Column("subject_id", S, "Spotify artist id or the playlist spec's key", nullable=False),
        Column("subject_name", S, "Artist or playlist name", nullable=False),
        Column("period", S, "ISO week of an insight post; null for other items"),
        Column("text", S, "The text of a text item (null for images and audio)"),
        Column("uri", S, "Where the file is in the lake", nullable=False),
        Column("sha256", S, "SHA-256 of the file's bytes", nullable=False),
        Column("bytes", INT, "Size of the file", nullable=False),
        Column(
            "generator",
            S,
            "local (templates, offline) or llm:<model> (the OpenAI-compatible endpoint); "
            "cover art and jingles: local",
            nullable=False,
        ),
        Column(
            "fallback_reason",
            S,
            "Why the endpoint's text was refused and the local text used (a guardrail or "
            "the endpoint's failure class); null when none was refused",
        ),
        Column(
            "checks_passed",
            LS,
            "Guardrails the stored item passed (length, no_listener_data, numbers_match_facts; "
            "png_640x640; wav_format)",
            nullable=False,
        ),
        Column(
            "facts",
            S,
            "JSON: the figures and names the item was generated from (each number in a text "
            "must be one of them)",
            nullable=False,
        ),
        Column("sources", LS, "Tables the facts came from", nullable=False),
        Column(
            "as_of",
            D,
            "Last day of the analytics a post reflects; null for other items (jingles and "
            "playlists are not of a week)",
        ),
    ),
)
