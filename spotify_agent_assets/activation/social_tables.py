"""Column contract of ``activation.social_media_metrics`` (``<lake>/activation/<table>/date=``)."""

from __future__ import annotations

from spotify_agent_assets.lake.table_contract import Column, TableContract

SOCIAL_MEDIA_METRICS = TableContract(
    name="social_media_metrics",
    key=("date", "artist_id", "platform"),
    columns=(
        Column("date", "date", "Day the numbers describe (the partition)", nullable=False),
        Column("artist_id", "string", "Spotify artist id of the roster artist", nullable=False),
        Column("platform", "string", "youtube, lastfm, or an imported platform", nullable=False),
        Column(
            "source_id",
            "string",
            "The account's own id there: YouTube channel id, Last.fm MusicBrainz id (or name), "
            "the import's handle",
            nullable=False,
        ),
        Column(
            "followers",
            "int64",
            "Subscribers / followers; null where the platform does not report it or hides it",
        ),
        Column("views", "int64", "Views (YouTube), scrobbles (Last.fm), plays or views (imports)"),
        Column("listeners", "int64", "Distinct listeners (Last.fm) or reach (imports)"),
        Column(
            "source",
            "string",
            "youtube_api, lastfm_api or import:<file name>",
            nullable=False,
        ),
        Column("captured_at", "timestamp", "When the run fetched or read it (UTC)", nullable=False),
    ),
)
