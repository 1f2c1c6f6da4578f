"""Run the Spotify assets in process with resources pointed at a test data dir or emulator."""

from __future__ import annotations

from typing import Any

import dagster as dg

from spotify_agent_assets.defs.resources import build_resources
from spotify_agent_assets.defs.spotify import assets as spotify_assets
from spotify_agent_assets.defs.spotify.checks import spotify_table_checks
from spotify_agent_assets.defs.spotify.resources import SpotifyResource
from spotify_agent_assets.environment import AgentSettings

CATALOGUE_ASSETS = spotify_assets.CATALOGUE_ASSETS


def checks_for(assets: list[dg.AssetsDefinition]) -> list[dg.AssetChecksDefinition]:
    keys = {key for a in assets for key in a.keys}
    return [c for c in spotify_table_checks if any(k.asset_key in keys for k in c.check_keys)]


def emulator_spotify(
    emu: Any, client_id: str, client_secret: str, **overrides: Any
) -> SpotifyResource:
    return SpotifyResource(
        client_id=client_id,
        client_secret=client_secret,
        api_base_url=emu.api_base_url,
        accounts_url=emu.accounts_url,
        use_sample_world=False,
        **overrides,
    )


def materialize(
    settings: AgentSettings,
    assets: list[dg.AssetsDefinition] | None = None,
    *,
    spotify: SpotifyResource | None = None,
    partition_key: str | None = None,
    tags: dict[str, str] | None = None,
    instance: dg.DagsterInstance | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    assets = assets or CATALOGUE_ASSETS
    resources = build_resources(settings)
    if spotify is not None:
        resources["spotify"] = spotify
    selected = {key for a in assets for key in a.keys}
    upstream = [a for a in CATALOGUE_ASSETS if not set(a.keys) & selected]
    return dg.materialize(
        [*assets, *checks_for(assets), *upstream],
        selection=dg.AssetSelection.assets(*selected)
        | dg.AssetSelection.checks_for_assets(*selected),
        resources=resources,
        partition_key=partition_key,
        tags=tags,
        instance=instance,
        raise_on_error=raise_on_error,
    )
