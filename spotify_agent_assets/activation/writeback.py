"""Write-back of curated playlists: plan the calls from what Spotify holds, then make them.

For each playlist the plan is built from its current state:

1. find it: by the spec's ``spotify_playlist_id``, else the id stored by the last write-back
   (when Spotify still has it), else by name among the user's playlists (two with the name is
   an error: we would not know which one to overwrite); else it is missing;
2. if its ``snapshot_id`` is the one at which the last run left it holding this very target
   (same target digest), it is unchanged without reading a single item: an unchanged playlist
   costs one small read and no write;
3. otherwise its items are read and compared with the target; equal lists are unchanged;
4. a missing playlist is created, then its items are set: the first 100 with one replace
   (PUT), every next 100 with an add (POST) at the end. A differing one gets the same replace
   and adds.

The plan is a list of ``PlannedCall`` rows: a dry run records it; a write run makes exactly
these calls in order and records the snapshot id each answered, so the dry-run plan is what a
write run would do against the same state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from spotify_agent_assets.observability.audit_log import record_action
from spotify_agent_assets.spotify.ids import spotify_uri

BATCH = 100


class PlaylistApi(Protocol):
    def my_playlists(self) -> list[dict[str, Any]]: ...
    def playlist_state(self, playlist_id: str) -> dict[str, Any] | None: ...
    def playlist_track_ids(self, playlist_id: str) -> list[str | None]: ...
    def create_playlist(self, name: str, description: str, public: bool) -> dict[str, Any]: ...
    def replace_items(self, playlist_id: str, uris: Sequence[str]) -> str: ...
    def add_items(self, playlist_id: str, uris: Sequence[str], position: int) -> str: ...


class WriteBackError(RuntimeError):
    """The playlists on Spotify do not allow a safe write (named playlist and reason)."""


@dataclass(frozen=True)
class PlaylistTarget:
    key: str
    name: str
    description: str
    public: bool
    track_ids: tuple[str, ...]
    spotify_playlist_id: str | None = None

    @property
    def digest(self) -> str:
        return hashlib.sha256(",".join(self.track_ids).encode()).hexdigest()


@dataclass(frozen=True)
class KnownState:
    """What the last write-back left: the playlist's id, and the snapshot at which it held
    the target with ``target_digest`` (None when it was never known to hold it)."""

    spotify_playlist_id: str | None
    snapshot: str | None
    target_digest: str | None


@dataclass(frozen=True)
class PlannedCall:
    playlist_key: str
    playlist_name: str
    step: int
    action: str  # create, replace, add, unchanged
    spotify_playlist_id: str | None
    found_by: str
    snapshot_before: str | None
    track_uris: tuple[str, ...]
    position: int | None
    target_tracks: int
    current_tracks: int | None
    tracks_added: int
    tracks_removed: int
    target_digest: str
    mode: str = "dry_run"
    executed: bool = False
    snapshot_after: str | None = None

    def row(self) -> dict[str, Any]:
        row = dict(self.__dict__)
        row["track_uris"] = list(self.track_uris)
        return row

    def call(self) -> tuple[str, str | None, tuple[str, ...], int | None]:
        """What goes over the wire (the playlist id only once it exists before the plan)."""
        return (self.action, self.spotify_playlist_id, self.track_uris, self.position)


def known_states(previous_rows: Iterable[Mapping[str, Any]]) -> dict[str, KnownState]:
    """The last write-back table's rows as each playlist's known state."""
    by_key: dict[str, list[Mapping[str, Any]]] = {}
    for row in previous_rows:
        by_key.setdefault(str(row["playlist_key"]), []).append(row)
    states = {}
    for key, rows in by_key.items():
        rows = sorted(rows, key=lambda r: int(r["step"]))
        last = rows[-1]
        playlist_id = next(
            (r["spotify_playlist_id"] for r in rows if r["spotify_playlist_id"]), None
        )
        if last["action"] == "unchanged":
            snapshot = last["snapshot_before"]
        elif last["executed"] and all(r["executed"] for r in rows):
            snapshot = last["snapshot_after"]
        else:
            snapshot = None  # a dry run, or a write that stopped half way
        states[key] = KnownState(playlist_id, snapshot, last["target_digest"] if snapshot else None)
    return states


def plan_playlist(
    api: PlaylistApi,
    target: PlaylistTarget,
    known: KnownState | None,
    library: list[dict[str, Any]] | None,
) -> list[PlannedCall]:
    """The calls that make the playlist hold ``target`` (``unchanged``: none).

    ``library`` is the user's playlists (read once per run, only when some playlist must be
    found by name); ``plan_playlists`` fills it lazily.
    """
    state, found_by = None, "missing"
    for candidate_id, how in (
        (target.spotify_playlist_id, "spec_id"),
        (known.spotify_playlist_id if known else None, "stored_id"),
    ):
        if candidate_id and state is None:
            state = api.playlist_state(candidate_id)
            found_by = how if state is not None else found_by
    if state is None and library is not None:
        named = [p for p in library if p.get("name") == target.name]
        if len(named) > 1:
            raise WriteBackError(
                f"playlist {target.name!r}: {len(named)} playlists of the user have this name; "
                "set spotify_playlist_id in its spec to say which one to write"
            )
        if named:
            state, found_by = named[0], "name"
    uris = tuple(spotify_uri("track", t) for t in target.track_ids)
    base = {
        "playlist_key": target.key,
        "playlist_name": target.name,
        "found_by": found_by,
        "target_tracks": len(uris),
        "target_digest": target.digest,
    }
    if state is None:
        return [
            PlannedCall(
                **base,
                step=1,
                action="create",
                spotify_playlist_id=None,
                snapshot_before=None,
                track_uris=(),
                position=None,
                current_tracks=None,
                tracks_added=len(set(uris)),
                tracks_removed=0,
            ),
            *_item_calls(base, None, None, uris, None, len(set(uris)), 0, first_step=2),
        ]
    playlist_id, snapshot = str(state["id"]), state.get("snapshot_id")
    if (
        known is not None
        and snapshot
        and known.spotify_playlist_id == playlist_id
        and known.snapshot == snapshot
        and known.target_digest == target.digest
    ):
        return [_unchanged(base, playlist_id, snapshot, None)]
    current = api.playlist_track_ids(playlist_id)
    if tuple(current) == target.track_ids:
        return [_unchanged(base, playlist_id, snapshot, len(current))]
    held, wanted = set(current), set(target.track_ids)
    return _item_calls(
        base, playlist_id, snapshot, uris, len(current), len(wanted - held), len(held - wanted)
    )


def plan_playlists(
    api: PlaylistApi, targets: Sequence[PlaylistTarget], known: Mapping[str, KnownState]
) -> list[PlannedCall]:
    library: list[dict[str, Any]] | None = None
    calls = []
    for target in targets:
        state = known.get(target.key)
        needs_name = not target.spotify_playlist_id and not (state and state.spotify_playlist_id)
        if library is None and needs_name:
            library = api.my_playlists()
        planned = plan_playlist(api, target, state, library)
        if planned[0].action == "create" and library is None:
            # The stored id is gone: look for the playlist by name before creating another.
            library = api.my_playlists()
            planned = plan_playlist(api, target, state, library)
        calls.extend(planned)
    return calls


def execute(
    api: PlaylistApi, calls: Sequence[PlannedCall], targets: Sequence[PlaylistTarget]
) -> list[PlannedCall]:
    """Make the planned calls in order; each returned row says what it changed."""
    by_key = {t.key: t for t in targets}
    created: dict[str, str] = {}
    done = []
    for call in calls:
        playlist_id = call.spotify_playlist_id or created.get(call.playlist_key)
        if call.action == "unchanged":
            done.append(replace(call, mode="write"))
            continue
        if call.action == "create":
            target = by_key[call.playlist_key]
            answer = api.create_playlist(target.name, target.description, target.public)
            created[call.playlist_key] = str(answer["id"])
            _audit_call(call, str(answer["id"]), answer.get("snapshot_id"))
            done.append(
                replace(
                    call,
                    mode="write",
                    executed=True,
                    spotify_playlist_id=str(answer["id"]),
                    snapshot_after=answer.get("snapshot_id"),
                )
            )
            continue
        if playlist_id is None:
            raise WriteBackError(f"playlist {call.playlist_name!r}: no id to write items to")
        if call.action == "replace":
            snapshot = api.replace_items(playlist_id, call.track_uris)
        elif call.action == "add":
            assert call.position is not None  # noqa: S101 -- type narrowing: add calls are planned with a position
            snapshot = api.add_items(playlist_id, call.track_uris, call.position)
        else:
            raise WriteBackError(f"unknown planned action {call.action!r}")
        _audit_call(call, playlist_id, snapshot)
        done.append(
            replace(
                call,
                mode="write",
                executed=True,
                spotify_playlist_id=playlist_id,
                snapshot_after=snapshot,
            )
        )
    return done


def _audit_call(call: PlannedCall, playlist_id: str, snapshot: str | None) -> None:
    """The audit record of one write made to Spotify (after Spotify accepted it)."""
    what = {
        "create": f"created playlist {call.playlist_name!r}",
        "replace": f"replaced the items of playlist {call.playlist_name!r} with "
        f"{len(call.track_uris)} tracks",
        "add": f"added {len(call.track_uris)} tracks to playlist {call.playlist_name!r} at "
        f"position {call.position}",
    }[call.action]
    record_action(
        "playlist_write",
        what,
        row_count=len(call.track_uris),
        playlist_key=call.playlist_key,
        spotify_playlist_id=playlist_id,
        call=call.action,
        step=call.step,
        snapshot_after=snapshot,
    )


def _item_calls(
    base: dict[str, Any],
    playlist_id: str | None,
    snapshot: str | None,
    uris: tuple[str, ...],
    current: int | None,
    added: int,
    removed: int,
    first_step: int = 1,
) -> list[PlannedCall]:
    batches = [uris[i : i + BATCH] for i in range(0, len(uris), BATCH)] or [()]
    return [
        PlannedCall(
            **base,
            step=first_step + n,
            action="replace" if n == 0 else "add",
            spotify_playlist_id=playlist_id,
            snapshot_before=snapshot,
            track_uris=batch,
            position=None if n == 0 else n * BATCH,
            current_tracks=current,
            tracks_added=added,
            tracks_removed=removed,
        )
        for n, batch in enumerate(batches)
    ]


def _unchanged(
    base: dict[str, Any], playlist_id: str, snapshot: str | None, current: int | None
) -> PlannedCall:
    return PlannedCall(
        **base,
        step=1,
        action="unchanged",
        spotify_playlist_id=playlist_id,
        snapshot_before=snapshot,
        track_uris=(),
        position=None,
        current_tracks=current,
        tracks_added=0,
        tracks_removed=0,
    )
