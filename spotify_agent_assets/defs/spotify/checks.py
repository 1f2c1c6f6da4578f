"""Asset checks on the Spotify tables as stored in the lake: keys and schema contracts."""

import dagster as dg

from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.spotify.tables import (
    ARTIST_ROSTER,
    ARTIST_SNAPSHOTS,
    PLAYLIST_TRACKS,
    SPOTIFY_ALBUMS,
    SPOTIFY_ARTISTS,
    SPOTIFY_PLAYLISTS,
    SPOTIFY_TRACKS,
    TableContract,
    key_violations,
    schema_differences,
)


def build_table_checks(group: str, contract: TableContract) -> list[dg.AssetChecksDefinition]:
    """A blocking key check (unique, not null) and a schema check for one stored table.

    Both read what is in the lake, not the in-memory frame, so they also catch files left by an
    older version of the code.
    """
    asset_key = dg.AssetKey(contract.name)
    key_text = ", ".join(contract.key)

    @dg.asset_check(
        asset=asset_key,
        name="key_unique_not_null",
        blocking=True,
        description=f"({key_text}) is unique and never null across the stored table.",
    )
    def key_check(lake: LakeResource) -> dg.AssetCheckResult:
        report = key_violations(lake.read_table(group, contract.name), contract.key)
        return dg.AssetCheckResult(
            passed=report.ok,
            description=None if report.ok else f"key ({key_text}) violated",
            metadata={
                "rows": report.rows,
                "null_keys": report.null_keys,
                "duplicate_keys": report.duplicate_keys,
                "examples": dg.MetadataValue.json(report.examples),
            },
        )

    @dg.asset_check(
        asset=asset_key,
        name="schema_matches_contract",
        description=f"Stored columns and types equal the {contract.name} contract.",
    )
    def schema_check(lake: LakeResource) -> dg.AssetCheckResult:
        problems = schema_differences(contract, lake.read_table(group, contract.name).schema)
        return dg.AssetCheckResult(
            passed=not problems,
            metadata={"differences": dg.MetadataValue.json(problems)},
        )

    return [key_check, schema_check]


spotify_table_checks = [
    check
    for group, contract in (
        ("spotify", ARTIST_ROSTER),
        ("spotify", SPOTIFY_ARTISTS),
        ("spotify_history", ARTIST_SNAPSHOTS),
        ("spotify", SPOTIFY_ALBUMS),
        ("spotify", SPOTIFY_TRACKS),
        ("spotify", SPOTIFY_PLAYLISTS),
        ("spotify", PLAYLIST_TRACKS),
    )
    for check in build_table_checks(group, contract)
]
