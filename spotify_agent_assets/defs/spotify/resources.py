"""Resources of the Spotify domain: the roster file and the catalogue client."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import TYPE_CHECKING

import dagster as dg

from spotify_agent_assets.spotify.roster import Roster, load_roster

if TYPE_CHECKING:
    from spotify_agent_assets.sample_world.world import SampleWorld
    from spotify_agent_assets.spotify.client import SpotifyCatalogClient

DEFAULT_API_BASE_URL = "https://api.spotify.com/v1/"
DEFAULT_ACCOUNTS_URL = "https://accounts.spotify.com/api/token"
# The sample world is frozen at this day for the "current state" tables, so a fresh clone
# always produces the same catalogue; snapshots replay any day of its history.
SAMPLE_WORLD_AS_OF = "2026-10-31"


class RosterResource(dg.ConfigurableResource):
    """The roster file: the artists (and playlists) the team manages.

    Path from ``SPOTIFY_AGENT_ROSTER`` (default ``config/artists.yaml``). Loading validates every
    entry before anything else runs, so a bad id never costs an API call.
    """

    path: str

    def load(self) -> Roster:
        return load_roster(self.path)


@lru_cache(maxsize=4)
def _sample_world(seed: int) -> SampleWorld:
    from spotify_agent_assets.sample_world.world import SampleWorld

    return SampleWorld(seed=seed)


class SpotifyResource(dg.ConfigurableResource):
    """Spotify Web API access through spotipy, or the bundled sample world when allowed.

    Credentials come only from ``SPOTIFY_CLIENT_ID`` / ``SPOTIFY_CLIENT_SECRET`` (``dg.EnvVar``);
    ``SPOTIFY_API_BASE_URL`` and ``SPOTIFY_ACCOUNTS_URL`` point it at another server (the test
    emulator). With ``use_sample_world`` the same spotipy client talks to the sample world
    through an in-process transport, so local runs exercise the production code path.
    """

    client_id: str | None = None
    client_secret: str | None = None
    api_base_url: str = DEFAULT_API_BASE_URL
    accounts_url: str = DEFAULT_ACCOUNTS_URL
    market: str | None = "US"
    use_sample_world: bool = False
    sample_seed: int = 7
    sample_as_of: str = SAMPLE_WORLD_AS_OF
    request_timeout_s: float = 10.0
    max_attempts: int = 6

    @property
    def serves_history(self) -> bool:
        """Whether past days can be asked for (the sample world replays them; Spotify cannot)."""
        return self.use_sample_world

    def catalog_client(self, as_of: dt.date | None = None) -> SpotifyCatalogClient:
        """A fresh client (own session and call counters) for one asset computation.

        ``as_of`` picks the day the sample world answers for; the live API always answers now.
        """

        from spotify_agent_assets.spotify.client import RetrySettings, SpotifyCatalogClient

        retry = RetrySettings(max_attempts=self.max_attempts, timeout_s=self.request_timeout_s)
        if self.use_sample_world:
            from spotify_agent_assets.sample_world.api import SampleWorldApi
            from spotify_agent_assets.sample_world.transport import (
                SAMPLE_WORLD_BASE_URL,
                mount_sample_world,
            )

            day = as_of or dt.date.fromisoformat(self.sample_as_of)
            from spotify_agent_assets.observability.http_trace import traced_session

            session = traced_session()
            mount_sample_world(session, SampleWorldApi(_sample_world(self.sample_seed), as_of=day))
            return SpotifyCatalogClient(
                client_id="sample-world",
                client_secret="sample-world",  # noqa: S106 -- the sample world's public fake secret
                api_base_url=f"{SAMPLE_WORLD_BASE_URL}v1/",
                accounts_url=f"{SAMPLE_WORLD_BASE_URL}api/token",
                market=self.market,
                retry=retry,
                session=session,
            )
        if not self.client_id or not self.client_secret:
            raise dg.Failure(
                "Spotify credentials are missing: set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET "
                "(the sample world is only used locally when neither is set)"
            )
        return SpotifyCatalogClient(
            client_id=self.client_id,
            client_secret=self.client_secret,
            api_base_url=self.api_base_url,
            accounts_url=self.accounts_url,
            market=self.market,
            retry=retry,
        )
