"""Asset checks on the Spotify tables as stored in the lake: keys and schema contracts."""

from spotify_agent_assets.defs.table_checks import build_table_checks
from spotify_agent_assets.spotify.tables import (
    ARTIST_ROSTER,
    ARTIST_SNAPSHOTS,
    PLAYLIST_TRACKS,
    SPOTIFY_ALBUMS,
    SPOTIFY_ARTISTS,
    SPOTIFY_PLAYLISTS,
    SPOTIFY_TRACKS,
    SPOTIFY_UNRESOLVED_TRACKS,
)

spotify_table_checks = [
    build_table_checks(group, contract)
    for group, contract in (
        ("spotify", ARTIST_ROSTER),
        ("spotify", SPOTIFY_ARTISTS),
        ("spotify_history", ARTIST_SNAPSHOTS),
        ("spotify", SPOTIFY_ALBUMS),
        ("spotify", SPOTIFY_TRACKS),
        ("spotify", SPOTIFY_UNRESOLVED_TRACKS),
        ("spotify", SPOTIFY_PLAYLISTS),
        ("spotify", PLAYLIST_TRACKS),
    )
]
