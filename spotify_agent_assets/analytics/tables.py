"""Column contracts of the Python analytics tables (``<lake>/analytics/<table>/``).

The methods build their tables with these schemas (``arrow_schema(ARTIST_TRENDS)`` and so on),
so the stored table, its checks and its column docs in the UI come from one declaration.
Definitions of the figures: ``analytics.trends``, ``analytics.anomalies``, ``analytics.report``.
"""

from __future__ import annotations

from spotify_agent_assets.lake.table_contract import Column, TableContract

S, I32, INT, F, B, D, L = "string", "int32", "int64", "float64", "bool", "date", "list<string>"

ANALYTICS_GROUP = "analytics"

ARTIST_TRENDS = TableContract(
    name="artist_trends",
    key=("artist_id", "date"),
    columns=(
        Column("artist_id", S, "Spotify artist id", nullable=False),
        Column("artist_name", S, "Artist name (latest in artist_daily_metrics)"),
        Column("date", D, "UTC day the figures end on (a complete day)", nullable=False),
        Column("streams", INT, "Streams that day (plays of at least 30 s)"),
        Column("streams_7d", INT, "Streams of the 7 days ending on date; null if a day is missing"),
        Column("growth_7d", F, "streams_7d over the 7 days before, minus 1"),
        Column("streams_28d", INT, "Streams of the growth_28d window ending on date"),
        Column("growth_28d", F, "Last growth_28d_window_days over as many days before, minus 1"),
        Column(
            "growth_28d_window_days",
            I32,
            "Window of growth_28d: 28, or whole weeks while history is shorter; null below 14",
        ),
        Column("momentum", F, "growth_7d minus the weekly rate implied by growth_28d"),
        Column("followers", INT, "Followers in that day's snapshot"),
        Column("follower_growth_1d", F, "Relative follower change against the day before"),
        Column("follower_growth_7d", F, "Relative follower change against 7 days before"),
        Column("streams_z", F, "Weekday-adjusted robust z of the day's streams"),
        Column("follower_z", F, "Robust z of the day's follower log-change (28 days before)"),
        Column(
            "breakout_signal",
            B,
            "streams_z >= 4 and follower_z >= 4 within the last 3 days",
            nullable=False,
        ),
        Column(
            "is_breakout",
            B,
            "A signal day with another signal day within 2 days",
            nullable=False,
        ),
        Column(
            "breakout_day",
            D,
            "First is_breakout day of the artist in the 28 days ending on date",
        ),
        Column(
            "trend_status",
            S,
            "breakout, rising (growth_7d >= +15%), falling (<= -15%), steady or "
            "insufficient_history",
            nullable=False,
        ),
    ),
)

STREAMING_ANOMALIES = TableContract(
    name="streaming_anomalies",
    key=("level", "entity_id", "metric", "date"),
    columns=(
        Column("level", S, "artist (an artist incident) or track (a track on its own)", False),
        Column("entity_id", S, "Spotify artist or track id", nullable=False),
        Column("entity_name", S, "Artist or track name"),
        Column("artist_id", S, "The artist itself, or the track's primary artist"),
        Column("date", D, "UTC day of the incident (a complete day)", nullable=False),
        Column("metric", S, "Series the day was flagged in (streams)", nullable=False),
        Column(
            "kind",
            S,
            "spike or drop (one day), level_shift (a change point: the new level is the baseline "
            "from this day on)",
            nullable=False,
        ),
        Column("direction", S, "up or down against the baseline", nullable=False),
        Column("value", F, "The day's raw streams", nullable=False),
        Column(
            "expected",
            F,
            "Trailing 28-day median since the last change point, on that weekday's scale",
            nullable=False,
        ),
        Column(
            "dispersion",
            F,
            "Negative-binomial alpha (variance = mu + alpha mu^2) from the entity's window",
            nullable=False,
        ),
        Column("p_value", F, "Two-sided negative-binomial p-value of the day", nullable=False),
        Column(
            "q_value",
            F,
            "Benjamini-Hochberg adjusted p over all tests of that day (significant <= 0.01)",
            nullable=False,
        ),
        Column(
            "track_ids",
            L,
            "Artist incident: its tracks that went the same way that day (not incidents "
            "themselves); empty for a track",
            nullable=False,
        ),
        Column("track_names", L, "Names of track_ids, in the same order", nullable=False),
        Column("method", S, "The detector and its thresholds, in words", nullable=False),
    ),
)

WEEKLY_ARTIST_REPORT = TableContract(
    name="weekly_artist_report",
    key=("artist_id", "week"),
    columns=(
        Column("artist_id", S, "Spotify artist id", nullable=False),
        Column("artist_name", S, "Artist name"),
        Column("week", S, "ISO week reported, e.g. 2026-W44", nullable=False),
        Column("week_start", D, "Monday of the week", nullable=False),
        Column("week_end", D, "Last day reported (the last complete day)", nullable=False),
        Column("streams", INT, "Streams of the week", nullable=False),
        Column("streams_change", F, "Against the same weekdays of the week before, minus 1"),
        Column("trend_status", S, "artist_trends' status on the last day"),
        Column(
            "anomalies",
            INT,
            "Incidents of the artist and of its tracks on their own that week",
            nullable=False,
        ),
        Column("markdown_uri", S, "The Markdown report", nullable=False),
        Column("html_uri", S, "The self-contained HTML report", nullable=False),
        Column("chart_uris", L, "PNG charts of the report", nullable=False),
    ),
)
