"""Write-back against the Spotify emulator: the plan is what a write does, a second write makes
no write calls, items go in batches of 100, and failures are safe."""

from __future__ import annotations

from typing import Any

import pytest

from spotify_agent_assets.activation.playlist_client import (
    AmbiguousWriteError,
    SpotifyPlaylistClient,
)
from spotify_agent_assets.activation.writeback import (
    PlannedCall,
    PlaylistTarget,
    WriteBackError,
    execute,
    known_states,
    plan_playlists,
)
from spotify_agent_assets.sample_world.api import SAMPLE_REFRESH_TOKEN
from spotify_agent_assets.sample_world.emulator import FaultPlan, SpotifyEmulator
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets.spotify.errors import SpotifyAuthError
from spotify_agent_assets.spotify.retry import RetrySettings
from spotify_agent_assets_tests.conftest import EMULATOR_ID, EMULATOR_SECRET


def client_for(emulator: SpotifyEmulator, refresh_token: str = SAMPLE_REFRESH_TOKEN) -> Any:
    return SpotifyPlaylistClient(
        client_id=EMULATOR_ID,
        client_secret=EMULATOR_SECRET,
        refresh_token=refresh_token,
        api_base_url=emulator.api_base_url,
        accounts_url=emulator.accounts_url,
        retry=RetrySettings(base_delay_s=0.0, max_attempts=3, timeout_s=5),
    )


def targets_for(world: SampleWorld, sizes: dict[str, int], offset: int = 0) -> list[PlaylistTarget]:
    ids = sorted(t.id for t in world.tracks())
    return [
        PlaylistTarget(
            key=name.lower().replace(" ", "-"),
            name=name,
            description=f"{name} for tests",
            public=False,
            track_ids=tuple(ids[offset + n : offset + n + size]),
        )
        for n, (name, size) in enumerate(sizes.items())
    ]


def write_requests(emulator: SpotifyEmulator) -> list[Any]:
    return [r for r in emulator.requests if r.path.startswith("/v1/") and r.method != "GET"]


def as_sent(calls: list[PlannedCall]) -> list[tuple[str, str, str | None]]:
    """What each planned call puts on the wire: method, endpoint, position."""
    wire = {
        "create": ("POST", "me/playlists"),
        "replace": ("PUT", "items"),
        "add": ("POST", "items"),
    }
    return [
        (*wire[c.action], None if c.position is None else str(c.position))
        for c in calls
        if c.action != "unchanged"
    ]


def recorded(emulator: SpotifyEmulator) -> list[tuple[str, str, str | None]]:
    """The write requests the emulator answered, in the same terms (it keeps no bodies: the
    URIs sent are checked through what the playlists hold)."""
    return [
        (
            r.method,
            "me/playlists" if r.path.endswith("/me/playlists") else r.path.rsplit("/", 1)[1],
            r.query.get("position", [None])[0],
        )
        for r in write_requests(emulator)
    ]


def test_dry_run_plan_is_what_the_write_does_and_a_second_write_makes_none(
    emulator: SpotifyEmulator, world: SampleWorld
) -> None:
    targets = targets_for(world, {"Short list": 30, "Long list": 250})
    client = client_for(emulator)
    plan = plan_playlists(client, targets, {})
    assert not write_requests(emulator)  # planning writes nothing
    assert [c.action for c in plan] == ["create", "replace", "create", "replace", "add", "add"]
    assert [len(c.track_uris) for c in plan if c.playlist_key == "long-list"] == [0, 100, 100, 50]

    done = execute(client, plan, targets)
    assert recorded(emulator) == as_sent(plan)
    assert [(c.action, c.track_uris, c.position) for c in done] == [
        (c.action, c.track_uris, c.position) for c in plan
    ]
    assert all(c.executed and c.snapshot_after for c in done)
    store = emulator.api.user_playlists
    for target in targets:
        playlist_id = next(c.spotify_playlist_id for c in done if c.playlist_key == target.key)
        assert tuple(store.track_ids(playlist_id)) == target.track_ids
    writes = store.writes
    assert writes == 6

    # The second run: the snapshot ids are the ones the first left, so nothing is even read.
    emulator.reset_log()
    again = plan_playlists(client, targets, known_states(c.row() for c in done))
    assert [c.action for c in again] == ["unchanged", "unchanged"]
    assert execute(client, again, targets) and store.writes == writes
    assert not write_requests(emulator)
    assert not [r for r in emulator.requests if r.path.endswith("/items")]

    # Without the stored state the playlists are found by name and compared item by item.
    fresh = plan_playlists(client_for(emulator), targets, {})
    assert [(c.action, c.found_by) for c in fresh] == [("unchanged", "name")] * 2
    assert store.writes == writes


def test_a_changed_target_replaces_then_adds(emulator: SpotifyEmulator, world: SampleWorld) -> None:
    client = client_for(emulator)
    first = targets_for(world, {"Mix": 120})
    done = execute(client, plan_playlists(client, first, {}), first)
    changed = targets_for(world, {"Mix": 150}, offset=60)
    plan = plan_playlists(client, changed, known_states(c.row() for c in done))
    assert [(c.action, c.found_by, len(c.track_uris), c.position) for c in plan] == [
        ("replace", "stored_id", 100, None),
        ("add", "stored_id", 50, 100),
    ]
    assert plan[0].current_tracks == 120
    assert (plan[0].tracks_added, plan[0].tracks_removed) == (90, 60)
    assert plan[0].snapshot_before == done[-1].snapshot_after
    execute(client, plan, changed)
    playlist_id = plan[0].spotify_playlist_id
    assert tuple(emulator.api.user_playlists.track_ids(playlist_id)) == changed[0].track_ids


def test_a_stored_id_that_is_gone_is_looked_up_by_name(
    emulator: SpotifyEmulator, world: SampleWorld
) -> None:
    client = client_for(emulator)
    targets = targets_for(world, {"Mix": 10})
    done = execute(client, plan_playlists(client, targets, {}), targets)
    rows = [c.row() | {"spotify_playlist_id": "0" * 22} for c in done]
    plan = plan_playlists(client, targets, known_states(rows))
    assert [(c.action, c.found_by) for c in plan] == [("unchanged", "name")]


def test_two_playlists_of_the_name_are_refused(
    emulator: SpotifyEmulator, world: SampleWorld
) -> None:
    client = client_for(emulator)
    for _ in range(2):
        client.create_playlist("Twice", "", False)
    with pytest.raises(WriteBackError, match="2 playlists of the user have this name"):
        plan_playlists(client, targets_for(world, {"Twice": 5}), {})


def test_a_write_of_unknown_outcome_is_not_repeated(
    emulator: SpotifyEmulator, world: SampleWorld
) -> None:
    client = client_for(emulator)
    targets = targets_for(world, {"Mix": 10})
    plan = plan_playlists(client, targets, {})
    emulator.faults = FaultPlan(rate=1.0, kinds=("503",))
    with pytest.raises(AmbiguousWriteError):
        execute(client, plan, targets)
    assert len(write_requests(emulator)) == 1  # one POST, not retried
    emulator.faults = FaultPlan()


def test_a_rate_limited_write_waits_and_is_made_once(
    emulator: SpotifyEmulator, world: SampleWorld
) -> None:
    client = client_for(emulator)
    targets = targets_for(world, {"Mix": 10})
    plan = plan_playlists(client, targets, {})
    emulator.faults = FaultPlan(rate=0.5, kinds=("429_retry_after_zero",), seed=4)
    done = execute(client, plan, targets)
    emulator.faults = FaultPlan()
    assert emulator.count(faulted=True) >= 1
    assert emulator.api.user_playlists.writes == 2
    assert tuple(emulator.api.user_playlists.track_ids(done[-1].spotify_playlist_id)) == (
        targets[0].track_ids
    )


def test_a_refused_refresh_token_fails_without_showing_it(emulator: SpotifyEmulator) -> None:
    secret = "user-refresh-token-that-must-not-leak"
    client = client_for(emulator, refresh_token=secret)
    with pytest.raises(SpotifyAuthError) as raised:
        client.my_playlists()
    assert "refresh token" in str(raised.value)
    assert secret not in str(raised.value) and secret not in repr(client)
    assert EMULATOR_SECRET not in repr(client)
