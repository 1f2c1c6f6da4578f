"""The bundled sample world: an invented, seeded Spotify catalogue and the Web API over it.

`SampleWorld` generates the catalogue, `SampleWorldApi` answers Web API requests from it,
`SpotifyEmulator` serves that over HTTP with switchable faults, and `mount_sample_world` serves it
in-process to a `requests.Session` (local mode without Spotify credentials).
"""

from spotify_agent_assets.sample_world.api import SampleWorldApi
from spotify_agent_assets.sample_world.api_requests import ApiResponse
from spotify_agent_assets.sample_world.emulator import (
    ALL_FAULT_KINDS,
    FaultPlan,
    RecordedRequest,
    SpotifyEmulator,
)
from spotify_agent_assets.sample_world.transport import (
    SAMPLE_WORLD_API_URL,
    SAMPLE_WORLD_BASE_URL,
    SAMPLE_WORLD_TOKEN_URL,
    SampleWorldAdapter,
    mount_sample_world,
)
from spotify_agent_assets.sample_world.world import (
    BREAKOUT_DAY,
    DEFAULT_AS_OF,
    FOLLOWER_DROP_DAY,
    WORLD_START,
    Album,
    Artist,
    GroundTruthEvent,
    Playlist,
    PlaylistEntry,
    SampleWorld,
    Track,
    namespace_rng,
)

__all__ = [
    "ALL_FAULT_KINDS",
    "BREAKOUT_DAY",
    "DEFAULT_AS_OF",
    "FOLLOWER_DROP_DAY",
    "SAMPLE_WORLD_API_URL",
    "SAMPLE_WORLD_BASE_URL",
    "SAMPLE_WORLD_TOKEN_URL",
    "WORLD_START",
    "Album",
    "ApiResponse",
    "Artist",
    "FaultPlan",
    "GroundTruthEvent",
    "Playlist",
    "PlaylistEntry",
    "RecordedRequest",
    "SampleWorld",
    "SampleWorldAdapter",
    "SampleWorldApi",
    "SpotifyEmulator",
    "Track",
    "mount_sample_world",
    "namespace_rng",
]
