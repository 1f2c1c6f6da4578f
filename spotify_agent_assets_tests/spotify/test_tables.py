"""The Spotify table contracts: only what we compute ourselves may refuse null."""

from __future__ import annotations

from spotify_agent_assets.spotify.tables import CONTRACTS

# Values the sync or the roster produces itself, never read from a Spotify answer.
COMPUTED = {
    "synced_at",
    "fetched_at",
    "first_seen_at",
    "captured_at",
    "position",
    "date",
    "attempts",
    "first_asked_at",
    "last_asked_at",
}


def test_only_keys_and_computed_values_are_non_nullable() -> None:
    # The OpenAPI spec leaves every field of an artist, track, playlist and playlist item
    # optional, and Spotify omits even "required" ones (an album's label); a column filled from
    # an answer must take null, or one missing field sinks the whole table.
    strict = {
        (contract.name, c.name)
        for contract in CONTRACTS.values()
        for c in contract.columns
        if not c.nullable
    }
    allowed = {
        (contract.name, c.name)
        for contract in CONTRACTS.values()
        for c in contract.columns
        if c.name in contract.key or c.name in COMPUTED
    }
    assert strict <= allowed, sorted(strict - allowed)
    assert ("spotify_playlists", "snapshot_id") not in strict
    assert ("playlist_tracks", "snapshot_id") not in strict
