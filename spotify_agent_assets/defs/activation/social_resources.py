"""The social platforms as a resource: the accounts file, the import folder, the API keys."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from spotify_agent_assets.environment import DEFAULT_SOCIAL_ACCOUNTS

if TYPE_CHECKING:
    from collections.abc import Collection

    from spotify_agent_assets.activation.social_connector import ArtistAccount, SocialConnector


class SocialMediaResource(dg.ConfigurableResource):
    """Where social numbers come from. The keys are bound as ``dg.EnvVar``
    (``YOUTUBE_API_KEY``, ``LASTFM_API_KEY``); a platform without its key is off, and the
    asset's metadata says so. Import files are read from ``import_dir`` (a local folder)."""

    accounts_path: str = Field(
        default=str(DEFAULT_SOCIAL_ACCOUNTS),
        description="YAML: each roster artist's accounts (SPOTIFY_AGENT_SOCIAL_ACCOUNTS).",
    )
    import_dir: str = Field(description="<landing>/social: hand-kept CSV/JSON exports.")
    youtube_api_key: str | None = Field(default=None, description="dg.EnvVar('YOUTUBE_API_KEY').")
    lastfm_api_key: str | None = Field(default=None, description="dg.EnvVar('LASTFM_API_KEY').")
    youtube_api_url: str | None = Field(default=None, description="YouTube Data API v3 base URL.")
    lastfm_api_url: str | None = Field(default=None, description="Last.fm API base URL.")

    def accounts(self, roster_ids: Collection[str]) -> list[ArtistAccount]:
        from spotify_agent_assets.activation.social_accounts import load_social_accounts

        return load_social_accounts(self.accounts_path, roster_ids)

    def connectors(self) -> tuple[list[SocialConnector], dict[str, str]]:
        """The connectors that have a key, and why the others are off."""
        from spotify_agent_assets.activation.social_lastfm import LASTFM, LastfmConnector
        from spotify_agent_assets.activation.social_youtube import YOUTUBE, YouTubeConnector

        connectors: list[SocialConnector] = []
        off: dict[str, str] = {}
        if self.youtube_api_key:
            url = {"base_url": self.youtube_api_url} if self.youtube_api_url else {}
            connectors.append(YouTubeConnector(api_key=self.youtube_api_key, **url))
        else:
            off[YOUTUBE] = "off: YOUTUBE_API_KEY is not set"
        if self.lastfm_api_key:
            url = {"base_url": self.lastfm_api_url} if self.lastfm_api_url else {}
            connectors.append(LastfmConnector(api_key=self.lastfm_api_key, **url))
        else:
            off[LASTFM] = "off: LASTFM_API_KEY is not set"
        return connectors, off

    def secrets(self) -> list[str]:
        """The key values, so a message can be checked against them before it is shown."""
        return [k for k in (self.youtube_api_key, self.lastfm_api_key) if k]

    @property
    def import_folder(self) -> Path:
        return Path(self.import_dir)
