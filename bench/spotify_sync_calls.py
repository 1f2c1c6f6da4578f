"""API calls of a full and a repeat Spotify sync of the sample world, against the minimum possible.

Runs the catalogue assets twice (fresh lake, then unchanged world) against the HTTP emulator and
counts the requests it received per endpoint, then derives from the world itself the fewest
calls any client obeying Spotify's batch and page limits could make. Prints a Markdown table.

    .venv/bin/python bench/spotify_sync_calls.py
"""

from __future__ import annotations

import math
import sys
import tempfile
from collections import Counter
from pathlib import Path

import dagster as dg
import yaml

from spotify_agent_assets.defs.resources import build_resources
from spotify_agent_assets.defs.spotify import assets as spotify_assets
from spotify_agent_assets.defs.spotify.resources import SpotifyResource
from spotify_agent_assets.environment import load_settings
from spotify_agent_assets.sample_world.emulator import SpotifyEmulator
from spotify_agent_assets.sample_world.world import DEFAULT_AS_OF, SampleWorld
from spotify_agent_assets.spotify.sync import ALBUM_GROUPS

CATALOGUE = spotify_assets.CATALOGUE_ASSETS


def endpoint(path: str) -> str:
    parts = path.strip("/").split("/")[1:]  # drop "v1"
    if parts[0] == "playlists":
        return "playlist items" if len(parts) > 2 else "playlist"
    if parts[0] == "artists":
        return "artist albums" if len(parts) > 2 else "artists"
    if parts[0] == "albums":
        return "album tracks" if len(parts) > 2 else "albums"
    return parts[0]


def minimum_calls(world: SampleWorld) -> tuple[Counter[str], Counter[str]]:
    day = DEFAULT_AS_OF
    artists = [artist_id for artist_id, _ in world.roster()]
    listed = {
        artist_id: [
            a for a, group in world.artist_album_ids(artist_id, day) if group in ALBUM_GROUPS
        ]
        for artist_id in artists
    }
    albums = list(dict.fromkeys(a for ids in listed.values() for a in ids))
    tracks = {a: world.album_track_ids(a, day) for a in albums}
    playlists = world.playlist_ids()
    items = {p: len(world.playlist_entries(p, day)) for p in playlists}

    full: Counter[str] = Counter()
    full["artists"] = math.ceil(len(artists) / 50)
    full["artist albums"] = sum(max(1, math.ceil(len(ids) / 50)) for ids in listed.values())
    full["albums"] = math.ceil(len(albums) / 20)
    # A full album embeds its first 50 tracks; only longer albums need more pages.
    full["album tracks"] = sum(max(0, math.ceil(len(t) / 50) - 1) for t in tracks.values())
    full["tracks"] = math.ceil(len({t for ts in tracks.values() for t in ts}) / 50)
    # The playlist endpoint embeds the first 100 items, so metadata + items can share a call.
    full["playlist"] = len(playlists)
    full["playlist items"] = sum(max(0, math.ceil(n / 100) - 1) for n in items.values())

    repeat: Counter[str] = Counter()
    repeat["artists"] = full["artists"]
    repeat["artist albums"] = full["artist albums"]  # the only way to discover new releases
    repeat["playlist"] = len(playlists)  # the only way to see a changed snapshot_id
    return full, repeat


def run_sync(emulator: SpotifyEmulator, data_dir: Path, roster: Path) -> Counter[str]:
    settings = load_settings(
        {"SPOTIFY_AGENT_DATA_DIR": str(data_dir), "SPOTIFY_AGENT_ROSTER": str(roster)}
    )
    resources = build_resources(settings)
    resources["spotify"] = SpotifyResource(
        client_id="bench-id",
        client_secret="bench-secret",
        api_base_url=emulator.api_base_url,
        accounts_url=emulator.accounts_url,
    )
    emulator.reset_log()
    result = dg.materialize(CATALOGUE, resources=resources, instance=dg.DagsterInstance.ephemeral())
    if not result.success:
        sys.exit("sync failed")
    calls = Counter(endpoint(r.path) for r in emulator.requests if r.path.startswith("/v1/"))
    calls["token"] = sum(1 for r in emulator.requests if r.path.endswith("/api/token"))
    return calls


def main() -> None:
    world = SampleWorld(seed=7)
    full_min, repeat_min = minimum_calls(world)
    with (
        tempfile.TemporaryDirectory() as tmp,
        SpotifyEmulator(world, credentials=("bench-id", "bench-secret")) as emulator,
    ):
        roster = Path(tmp) / "artists.yaml"
        roster.write_text(
            yaml.safe_dump(
                {
                    "artists": [{"id": a} for a, _ in world.roster()],
                    "playlists": [{"id": p} for p in world.playlist_ids()],
                }
            )
        )
        full = run_sync(emulator, Path(tmp) / "data", roster)
        repeat = run_sync(emulator, Path(tmp) / "data", roster)

    rows = [
        "artists",
        "artist albums",
        "albums",
        "album tracks",
        "tracks",
        "playlist",
        "playlist items",
    ]
    print("| endpoint | full sync | minimum | repeat sync | minimum |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in rows:
        print(f"| {name} | {full[name]} | {full_min[name]} | {repeat[name]} | {repeat_min[name]} |")
    total = lambda c: sum(c[n] for n in rows)  # noqa: E731
    print(
        f"| **API calls** | **{total(full)}** | **{total(full_min)}** | **{total(repeat)}** | **{total(repeat_min)}** |"
    )
    print(f"| token requests | {full['token']} | 1 | {repeat['token']} | 1 |")


if __name__ == "__main__":
    main()
