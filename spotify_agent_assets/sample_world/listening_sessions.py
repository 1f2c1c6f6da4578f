"""One local day of listening in the sample world: sessions, plays and the planted burst.

`generate_day(listening, local_day)` turns a `ListeningWorld`'s listeners and the day's pick
weights (`_DayState`) into the plays of every session that starts on that local calendar day,
as compact arrays (`_Batch`); `ListeningWorld` cuts UTC days out of them and encodes the table.
This is the generator's hot loop, kept apart from the listeners, the catalogue weights and the
planted events it reads. Random draws happen here in a fixed order per day's stream: moving or
adding a draw changes every later play of the day.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from spotify_agent_assets.sample_world.listener_profiles import _PLATFORM_SHARE, PLATFORMS

if TYPE_CHECKING:
    from spotify_agent_assets.sample_world.listening import ListeningWorld

# Spotify's reason vocabulary; the codes index this tuple in the generated arrays.
REASONS = ("trackdone", "fwdbtn", "backbtn", "clickrow", "playbtn", "appload", "remote", "endplay")
_TRACKDONE, _FWDBTN, _BACKBTN, _CLICKROW, _PLAYBTN, _APPLOAD, _REMOTE, _ENDPLAY = range(8)

# Relative session starts per local hour: commute and evening peaks on weekdays, a late morning
# on weekends.
_WEEKDAY_HOURS = np.array(
    [0.9, 0.5, 0.3, 0.2, 0.2, 0.4, 1.2, 2.6, 3.4, 2.6, 2.2, 2.3,
     2.6, 2.5, 2.4, 2.6, 3.1, 3.6, 3.6, 3.4, 3.1, 2.7, 2.1, 1.5]
)  # fmt: skip
_WEEKEND_HOURS = np.array(
    [1.3, 0.9, 0.6, 0.4, 0.3, 0.3, 0.5, 0.9, 1.5, 2.2, 2.8, 3.1,
     3.2, 3.1, 3.0, 3.0, 3.1, 3.3, 3.4, 3.3, 3.1, 2.8, 2.3, 1.8]
)  # fmt: skip
# Sessions per day relative to the listener's weekday activity, Monday first.
_DAY_OF_WEEK_FACTOR = (1.0, 0.97, 1.0, 1.02, 1.12, 1.32, 1.26)

_MEAN_PLAYS = 12.0  # plays per session on a day with reference catalogue weights
_REPEAT_PREVIOUS = 0.06  # the listener plays the same track again
_REPEAT_FAVOURITE = 0.035  # ... or goes back to their favourite track
_SPIKE_FACTOR = 4.0  # the injected burst adds this many times the artist's organic streams

_HEX_PAIRS = np.frombuffer(b"".join(f"{b:02x}".encode() for b in range(256)), dtype=np.uint16)


def stable_rng(seed: int, namespace: str) -> np.random.Generator:
    """A numpy stream for one listening concern, independent of every other namespace."""
    # SHA-256 rather than hash(): Python salts str hashes per process.
    digest = hashlib.sha256(f"{seed}:listening:{namespace}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "big"))


def _mix64(values: np.ndarray, key: int) -> np.ndarray:
    """SplitMix64's finaliser after XOR with a key: a bijection, so distinct keys stay distinct."""
    x = values.astype(np.uint64) ^ np.uint64(key)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def hex_ids(values: np.ndarray) -> pa.StringArray:
    """uint64 values as 16-char lowercase hex strings, built without a Python loop."""
    # Big-endian bytes through a 256-entry table of two-char pairs: one gather per byte.
    pairs = _HEX_PAIRS[values.astype(">u8").view(np.uint8)]
    offsets = np.arange(0, 16 * (len(values) + 1), 16, dtype=np.int32)
    return pa.StringArray.from_buffers(
        len(values), pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(pairs))
    )


def _segment_starts(lengths: np.ndarray) -> np.ndarray:
    """Index of the first element of each segment in the concatenation."""
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return starts


def _pick_rows(cumulative: np.ndarray, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """For each i, the column j where row `rows[i]` of a row-wise CDF first exceeds `u[i]`.

    Adding the row number to each row's CDF makes the flattened matrix increasing, so one
    searchsorted serves all rows without an (n x columns) temporary.
    """
    width = cumulative.shape[1]
    flat = (cumulative + np.arange(len(cumulative))[:, None]).ravel()
    hit = np.searchsorted(flat, rows + u * (1 - 1e-12), side="right")
    return np.minimum(hit - rows * width, width - 1)


@dataclass(frozen=True)
class _DayState:
    """What listeners can pick from on one day."""

    pool_cdf: np.ndarray  # concatenated per-pool CDFs, pool p occupying values (p, p + 1]
    pool_tracks: np.ndarray  # track number behind each CDF entry
    visible: np.ndarray  # bool per track number
    pool_weight: np.ndarray  # total weight per pool (families, then the chart)


@dataclass
class _Batch:
    """The plays of sessions that START on one local calendar day, as compact arrays."""

    listener: np.ndarray
    track: np.ndarray
    end_us: np.ndarray
    ms_played: np.ndarray
    platform: np.ndarray
    reason_start: np.ndarray
    reason_end: np.ndarray
    shuffle: np.ndarray
    skipped: np.ndarray
    offline: np.ndarray
    session_key: np.ndarray  # uint64, unique per session
    event_key: np.ndarray  # uint64, unique per play

    def take(self, index: np.ndarray) -> _Batch:
        return _Batch(**{name: getattr(self, name)[index] for name in self.__dataclass_fields__})

    @staticmethod
    def concat(batches: Sequence[_Batch]) -> _Batch:
        names = _Batch.__dataclass_fields__
        return _Batch(**{n: np.concatenate([getattr(b, n) for b in batches]) for n in names})


def generate_day(listening: ListeningWorld, local_day: date) -> _Batch:
    """The plays of every session of `listening`'s listeners that starts on `local_day`."""
    rng = stable_rng(listening.seed, f"sessions:{local_day.isoformat()}")
    state = listening._day_state(local_day)
    n = listening.n_listeners
    weekend = local_day.weekday() >= 5

    # Sessions.
    rate = listening._activity * _DAY_OF_WEEK_FACTOR[local_day.weekday()]
    per_listener = rng.poisson(rate)
    session_listener = np.repeat(np.arange(n, dtype=np.int32), per_listener)
    sessions = len(session_listener)
    hours = _WEEKEND_HOURS if weekend else _WEEKDAY_HOURS
    local_hour = rng.choice(24, size=sessions, p=hours / hours.sum())
    local_us = (local_hour * 3600 + rng.integers(0, 3600, size=sessions)) * 1_000_000
    utc_offset_us = listening._offset_min[session_listener] * 60_000_000
    start_us = _epoch_us(local_day) + local_us - utc_offset_us
    primary = listening._platform[session_listener]
    platform = np.where(
        rng.random(sessions) < 0.82,
        primary,
        rng.choice(len(PLATFORMS), size=sessions, p=_PLATFORM_SHARE),
    )
    shuffle = rng.random(sessions) < listening._shuffle_odds[session_listener]
    mobile = platform <= 1
    offline = mobile & (rng.random(sessions) < 0.06)
    # Each pool's pull grows with its total weight against the reference day, and a
    # listener's day grows with the sum: new releases and a surging artist add plays on
    # top of what the listener already plays instead of taking them from genre peers.
    growth = state.pool_weight / np.maximum(listening._reference_weight, 1e-300)
    pull = listening._taste * growth
    ratio = pull.sum(axis=1)
    mean_plays = np.maximum(_MEAN_PLAYS * ratio[session_listener] - 1, 0.1)
    shape = 1.6
    plays = 1 + rng.poisson(rng.gamma(shape, mean_plays / shape))

    batch = _plays(
        listening,
        rng,
        state,
        pull / ratio[:, None],
        session_listener,
        start_us,
        plays,
        platform,
        shuffle,
    )
    batch.offline = np.repeat(offline, plays)
    day_index = (local_day - date(2000, 1, 1)).days
    session_seq = np.arange(sessions, dtype=np.uint64) | np.uint64(day_index << 32)
    batch.session_key = np.repeat(_mix64(session_seq, listening.seed * 7919 + 1), plays)
    if listening._spike is not None and local_day == listening._spike.day:
        batch = _Batch.concat([batch, _spike_plays(listening, rng, state, batch)])
    play_seq = np.arange(len(batch.track), dtype=np.uint64) | np.uint64(day_index << 32)
    batch.event_key = _mix64(play_seq, listening.seed * 104_729 + 2)
    return batch


def _plays(
    listening: ListeningWorld,
    rng: np.random.Generator,
    state: _DayState,
    pool_odds: np.ndarray,
    session_listener: np.ndarray,
    start_us: np.ndarray,
    plays: np.ndarray,
    platform: np.ndarray,
    shuffle: np.ndarray,
) -> _Batch:
    total = int(plays.sum())
    first = _segment_starts(plays)
    session = np.repeat(np.arange(len(plays)), plays)
    listener = session_listener[session]
    position = np.arange(total) - first[session]
    is_first = position == 0
    is_last = position == plays[session] - 1

    # Pool (family or chart) from the listener's taste, then a track by that day's weights.
    pool = _pick_rows(np.cumsum(pool_odds, axis=1), listener, rng.random(total))
    track = state.pool_tracks[_pick_pool(state, pool, rng.random(total))]
    favourite = listening._favourite[listener]
    to_favourite = (rng.random(total) < _REPEAT_FAVOURITE) & state.visible[favourite]
    track = np.where(to_favourite, favourite, track)
    # Repeating the previous play copies from the last play that was not itself a repeat.
    repeat = ~is_first & (rng.random(total) < _REPEAT_PREVIOUS)
    source = np.maximum.accumulate(np.where(repeat, 0, np.arange(total)))
    track = track[source]
    repeat |= to_favourite

    # Off-taste tracks and shuffle get skipped more; a chosen repeat rarely is.
    family = listening._catalogue.family[track]
    taste = listening._taste[:, : len(listening.families)]
    affinity = taste[listener, family] / listening._top_taste[listener]
    shuffled = shuffle[session]
    skip_odds = 0.09 + 0.30 * (1 - affinity) + 0.07 * shuffled - 0.06 * repeat
    skipped = rng.random(total) < skip_odds
    stopped = ~skipped & (
        (is_last & (rng.random(total) < 0.45)) | (~is_last & (rng.random(total) < 0.04))
    )
    reason_end = np.full(total, _TRACKDONE, dtype=np.uint8)
    reason_end[skipped] = np.where(rng.random(int(skipped.sum())) < 0.88, _FWDBTN, _BACKBTN)
    reason_end[stopped] = _ENDPLAY

    duration = listening._catalogue.duration_ms[track]
    ms_played = duration.copy()
    # Skips come within seconds (median ~9 s); a stopped play ends anywhere in the track.
    skip_ms = np.exp(rng.normal(math.log(9_000), 0.9, size=int(skipped.sum())))
    ms_played[skipped] = np.minimum(skip_ms.astype(np.int64) + 400, duration[skipped] - 1)
    stop_share = rng.uniform(0.05, 0.95, size=int(stopped.sum()))
    ms_played[stopped] = (duration[stopped] * stop_share).astype(np.int64)

    # The next play starts for the reason the previous one ended (Spotify's convention);
    # a play stopped mid-session means the listener clicked another row.
    previous_end = np.roll(reason_end, 1)
    reason_start = np.where(previous_end == _ENDPLAY, _CLICKROW, previous_end).astype(np.uint8)
    opener = rng.choice(
        [_CLICKROW, _PLAYBTN, _APPLOAD, _REMOTE], size=len(plays), p=[0.5, 0.25, 0.17, 0.08]
    )
    opener = np.where(platform == PLATFORMS.index("cast"), _REMOTE, opener)
    reason_start[first] = opener

    # A play ends after its own playing time plus a small gap after the previous one.
    gap_us = np.where(is_first, 0, rng.integers(0, 1_500_000, size=total))
    elapsed = np.cumsum(ms_played * 1000 + gap_us)
    elapsed -= np.repeat(elapsed[first] - (ms_played[first] * 1000), plays)
    return _Batch(
        listener=listener.astype(np.int32),
        track=track.astype(np.int32),
        end_us=start_us[session] + elapsed,
        ms_played=ms_played,
        platform=platform[session].astype(np.uint8),
        reason_start=reason_start,
        reason_end=reason_end,
        shuffle=shuffled,
        skipped=skipped,
        offline=np.zeros(total, dtype=bool),
        session_key=np.zeros(total, dtype=np.uint64),
        event_key=np.zeros(total, dtype=np.uint64),
    )


def _spike_plays(
    listening: ListeningWorld, rng: np.random.Generator, state: _DayState, organic: _Batch
) -> _Batch:
    """The injected burst: extra sessions of hijacked accounts looping one artist."""
    assert listening._spike is not None  # noqa: S101 -- type narrowing: called only with a spike planned
    artist = listening._catalogue.artist_ids.index(listening._spike.artist_id)
    own = np.flatnonzero(state.visible & (listening._catalogue.artist == artist))
    organic_plays = int(np.count_nonzero(listening._catalogue.artist[organic.track] == artist))
    target = max(int(_SPIKE_FACTOR * organic_plays), 400)
    per_session = rng.integers(20, 41, size=max(target // 30, 1))
    accounts = rng.choice(listening.n_listeners, size=len(per_session), replace=True)
    # Start in the UTC morning so that even 40 full plays end before midnight.
    day_start = _epoch_us(listening._spike.day)
    start_us = day_start + rng.integers(1_800, 16 * 3600, size=len(per_session)) * 1_000_000
    total = int(per_session.sum())
    session = np.repeat(np.arange(len(per_session)), per_session)
    first = _segment_starts(per_session)
    track = own[rng.integers(0, len(own), size=total)]
    ms_played = listening._catalogue.duration_ms[track]
    elapsed = np.cumsum(ms_played * 1000 + 200_000)
    elapsed -= np.repeat(elapsed[first] - ms_played[first] * 1000 - 200_000, per_session)
    reason_start = np.full(total, _TRACKDONE, dtype=np.uint8)
    reason_start[first] = _CLICKROW
    day_index = (listening._spike.day - date(2000, 1, 1)).days
    keys = np.arange(len(per_session), dtype=np.uint64) | np.uint64((day_index << 32) | 1 << 31)
    return _Batch(
        listener=accounts[session].astype(np.int32),
        track=track.astype(np.int32),
        end_us=start_us[session] + elapsed,
        ms_played=ms_played,
        platform=np.full(total, PLATFORMS.index("web"), dtype=np.uint8),
        reason_start=reason_start,
        reason_end=np.full(total, _TRACKDONE, dtype=np.uint8),
        shuffle=np.zeros(total, dtype=bool),
        skipped=np.zeros(total, dtype=bool),
        offline=np.zeros(total, dtype=bool),
        session_key=np.repeat(_mix64(keys, listening.seed * 7919 + 1), per_session),
        event_key=np.zeros(total, dtype=np.uint64),
    )


def _pick_pool(state: _DayState, pool: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index into `state.pool_tracks` of a weighted pick inside each play's pool."""
    hit = np.searchsorted(state.pool_cdf, pool + u * (1 - 1e-12), side="right")
    return np.minimum(hit, len(state.pool_tracks) - 1)


def _epoch_us(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000
