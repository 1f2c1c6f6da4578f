"""The Spotify layer: ids, the artist roster, JSON parsing and a retrying catalogue client.

Plain Python on top of spotipy and requests, with no Dagster imports, so every piece can be used
from a test or a notebook. The Dagster resource in `defs/` only builds a `SpotifyCatalogClient`
from configuration.
"""

from spotify_agent_assets.spotify.auth import ClientCredentialsAuth
from spotify_agent_assets.spotify.client import (
    DEFAULT_ACCOUNTS_URL,
    DEFAULT_API_BASE_URL,
    PLAYLIST_META_FIELDS,
    SpotifyCatalogClient,
)
from spotify_agent_assets.spotify.errors import (
    SpotifyApiError,
    SpotifyAuthError,
    SpotifyError,
    SpotifyPaginationError,
    SpotifyParseError,
    SpotifyRateLimitedError,
    SpotifyRetriesExhaustedError,
)
from spotify_agent_assets.spotify.ids import (
    InvalidSpotifyIdError,
    is_spotify_id,
    normalize_spotify_id,
    spotify_uri,
    spotify_url,
)
from spotify_agent_assets.spotify.parsing import (
    parse_album,
    parse_artist,
    parse_paging,
    parse_playlist,
    parse_playlist_item,
    parse_track,
    unwrap_batch,
)
from spotify_agent_assets.spotify.retry import ClientStats, RetrySettings
from spotify_agent_assets.spotify.roster import (
    DEFAULT_ROSTER_PATH,
    Roster,
    RosterEntry,
    RosterError,
    load_roster,
    parse_roster,
)

__all__ = [
    "DEFAULT_ACCOUNTS_URL",
    "DEFAULT_API_BASE_URL",
    "DEFAULT_ROSTER_PATH",
    "PLAYLIST_META_FIELDS",
    "ClientCredentialsAuth",
    "ClientStats",
    "InvalidSpotifyIdError",
    "RetrySettings",
    "Roster",
    "RosterEntry",
    "RosterError",
    "SpotifyApiError",
    "SpotifyAuthError",
    "SpotifyCatalogClient",
    "SpotifyError",
    "SpotifyPaginationError",
    "SpotifyParseError",
    "SpotifyRateLimitedError",
    "SpotifyRetriesExhaustedError",
    "is_spotify_id",
    "load_roster",
    "normalize_spotify_id",
    "parse_album",
    "parse_artist",
    "parse_paging",
    "parse_playlist",
    "parse_playlist_item",
    "parse_roster",
    "parse_track",
    "spotify_uri",
    "spotify_url",
    "unwrap_batch",
]
