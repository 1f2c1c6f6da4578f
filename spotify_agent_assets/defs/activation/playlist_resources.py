"""Resources of curated playlists: the spec file and the user's Spotify account."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import dagster as dg

from spotify_agent_assets.defs.spotify.resources import (
    DEFAULT_ACCOUNTS_URL,
    DEFAULT_API_BASE_URL,
    SAMPLE_WORLD_AS_OF,
    _sample_world,
)

if TYPE_CHECKING:
    from spotify_agent_assets.activation.playlist_client import SpotifyPlaylistClient
    from spotify_agent_assets.activation.playlist_spec import PlaylistSpec


class PlaylistSpecsResource(dg.ConfigurableResource):
    """The curated playlist specs (``SPOTIFY_AGENT_PLAYLISTS``, default
    ``config/playlists.yaml``), validated in full when loaded."""

    path: str

    def load(self) -> list[PlaylistSpec]:
        from spotify_agent_assets.activation.playlist_spec import load_playlist_specs

        return load_playlist_specs(self.path)


class SpotifyUserResource(dg.ConfigurableResource):
    """The Spotify account curated playlists are written to, by a user refresh token.

    ``refresh_token`` comes only from ``SPOTIFY_REFRESH_TOKEN`` (``dg.EnvVar``), the app's
    credentials from ``SPOTIFY_CLIENT_ID`` / ``SPOTIFY_CLIENT_SECRET``. With
    ``use_sample_world`` (local, no credentials) the sample world's user answers in-process:
    a dry run plans against it, and it holds nothing between runs.
    """

    client_id: str | None = None
    client_secret: str | None = None
    refresh_token: str | None = None
    api_base_url: str = DEFAULT_API_BASE_URL
    accounts_url: str = DEFAULT_ACCOUNTS_URL
    use_sample_world: bool = False
    sample_seed: int = 7
    sample_as_of: str = SAMPLE_WORLD_AS_OF
    request_timeout_s: float = 10.0
    max_attempts: int = 6

    def playlist_client(self) -> SpotifyPlaylistClient:
        from spotify_agent_assets.activation.playlist_client import SpotifyPlaylistClient
        from spotify_agent_assets.spotify.retry import RetrySettings

        retry = RetrySettings(max_attempts=self.max_attempts, timeout_s=self.request_timeout_s)
        if self.use_sample_world:
            from spotify_agent_assets.observability.http_trace import traced_session
            from spotify_agent_assets.sample_world.api import SAMPLE_REFRESH_TOKEN, SampleWorldApi
            from spotify_agent_assets.sample_world.transport import (
                SAMPLE_WORLD_API_URL,
                SAMPLE_WORLD_TOKEN_URL,
                mount_sample_world,
            )

            session = traced_session()
            day = dt.date.fromisoformat(self.sample_as_of)
            mount_sample_world(session, SampleWorldApi(_sample_world(self.sample_seed), as_of=day))
            return SpotifyPlaylistClient(
                client_id="sample-world",
                client_secret="sample-world",  # noqa: S106 -- the sample world's public fake secret
                refresh_token=SAMPLE_REFRESH_TOKEN,
                api_base_url=SAMPLE_WORLD_API_URL,
                accounts_url=SAMPLE_WORLD_TOKEN_URL,
                retry=retry,
                session=session,
            )
        missing = [
            name
            for name, value in (
                ("SPOTIFY_CLIENT_ID", self.client_id),
                ("SPOTIFY_CLIENT_SECRET", self.client_secret),
                ("SPOTIFY_REFRESH_TOKEN", self.refresh_token),
            )
            if not value
        ]
        if missing:
            raise dg.Failure(
                f"playlist write-back needs {', '.join(missing)} (a user refresh token with the "
                "playlist-modify scopes); nothing was read or written",
                allow_retries=False,
            )
        assert self.client_id and self.client_secret and self.refresh_token  # noqa: S101 -- type narrowing: missing values raised above
        return SpotifyPlaylistClient(
            client_id=self.client_id,
            client_secret=self.client_secret,
            refresh_token=self.refresh_token,
            api_base_url=self.api_base_url,
            accounts_url=self.accounts_url,
            retry=retry,
        )
