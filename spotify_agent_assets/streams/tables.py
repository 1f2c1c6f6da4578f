"""Column contracts of the tables stream ingestion writes (``<lake>/streams/<table>/``).

The Arrow schemas ingestion builds its tables with (``event_schema.stream_events_schema``,
``quarantine_schema``) are derived from these, so what is written, what is checked and what
the UI describes cannot drift apart.
"""

from __future__ import annotations

from spotify_agent_assets.lake.parquet_lake import DISTINCT_VALUES, RANDOM_IDS
from spotify_agent_assets.lake.table_contract import Column, TableContract

S, INT, B, D, T = "string", "int64", "bool", "date", "timestamp"

STREAMS_GROUP = "streams"

STREAM_EVENTS = TableContract(
    name="stream_events",
    key=("event_id",),
    columns=(
        Column("date", D, "UTC day of ts: the partition the event is stored in", nullable=False),
        Column(
            "event_id",
            S,
            "Stable id of the play: the producer's, or for extended-history exports a SHA-256 "
            "of listener key, ts, track and ms_played",
            nullable=False,
        ),
        Column(
            "listener_key",
            S,
            "Keyed HMAC-SHA-256 (64 hex digits) of the listener id; the raw id is never stored",
            nullable=False,
        ),
        Column("track_id", S, "Spotify track id played", nullable=False),
        Column("ts", T, "When the play ended (UTC, microseconds)", nullable=False),
        Column("ms_played", INT, "Milliseconds actually played", nullable=False),
        Column("country", S, "ISO 3166-1 alpha-2 country of the connection; null when unknown"),
        Column("platform", S, "Client platform as the producer reports it"),
        Column("reason_start", S, "Why the play started (trackdone, clickrow, fwdbtn, ...)"),
        Column("reason_end", S, "Why the play ended (trackdone, endplay, fwdbtn, ...)"),
        Column("shuffle", B, "Played in shuffle mode"),
        Column("skipped", B, "The listener skipped the track"),
        Column("offline", B, "Played offline"),
        Column("session_id", S, "Producer's listening-session id, when given"),
        Column(
            "source_file",
            S,
            "Landing file the event came from, relative to the landing zone (an extended-"
            "history export's listener folder replaced by a pseudonym)",
            nullable=False,
        ),
        Column(
            "source_format",
            S,
            "Landing-file format: jsonl, csv, parquet or extended_history",
            nullable=False,
        ),
    ),
)

# How the lake writes stream_events' columns whose values are nearly all different (see
# ``lake.parquet_lake``): ids and listener digests are random (a day's file has no dictionary
# for them and their min/max prune nothing); ts and ms_played keep their statistics, which
# DuckDB prunes time ranges with. A third of the ingestion's Parquet writing went to
# dictionaries built and dropped, and statistics of 64-character digests.
STREAM_EVENTS_WRITE_HINTS = {
    "event_id": RANDOM_IDS,
    "listener_key": RANDOM_IDS,
    "session_id": RANDOM_IDS,
    "ts": DISTINCT_VALUES,
    "ms_played": DISTINCT_VALUES,
}

STREAM_QUARANTINE = TableContract(
    name="stream_quarantine",
    key=("source_file", "line"),
    columns=(
        Column(
            "date",
            D,
            "Partition the record is filed under: its file's earliest event day, else the "
            "file's YYYY-MM-DD/ folder, else the day it landed",
            nullable=False,
        ),
        Column("source_file", S, "Landing file the record came from", nullable=False),
        Column("line", INT, "1-based line (JSON Lines, CSV) or record number in the file"),
        Column("reason", S, "Why the record was refused", nullable=False),
        Column("raw", S, "The record as text, listener id redacted, at most 2,000 characters"),
        Column(
            "listener_key",
            S,
            "HMAC of the record's listener id (null without one), so erasure requests find it",
        ),
        Column(
            "quarantined_at",
            T,
            "When the file landed (its modification time), so a re-run gives the same rows",
            nullable=False,
        ),
    ),
)
