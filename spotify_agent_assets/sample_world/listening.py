"""Listeners and their listening events in the sample world: the stream landing zone's source.

`ListeningWorld(world)` invents a population of listeners and, for every UTC day of a window,
the plays they make of the catalogue's tracks. Like the catalogue it is a pure function of
`world.seed`: every concern draws from its own numpy stream seeded by a SHA-256 of
`(seed, "listening", namespace)`, so listening never perturbs the catalogue and a day can be
generated on its own, in any order, with identical results.

Stream event v1 (the landing-zone contract; one row per play, written by `landing_files`):

    event_id      string, not null   16 hex chars, unique and stable for (seed, n_listeners, play)
    listener_id   string, not null   raw account name as the service exports it: either an old
                                     style handle ("mara_k1987") or a newer generated id
                                     ("31" + 26 base32 chars); personal data, pseudonymise on ingest
    track_id      string, not null   22-char base62 Spotify track id
    ts            timestamp[us, UTC] when the play ENDED (Spotify's convention), not null
    ms_played     int64, not null    milliseconds actually played (< duration for partial plays)
    country       string             ISO 3166-1 alpha-2 of the connection
    platform      string             ios, android, desktop, web, cast
    reason_start  string             clickrow, playbtn, appload, remote, trackdone, fwdbtn, backbtn
    reason_end    string             trackdone, fwdbtn, backbtn, endplay
    shuffle       bool               shuffle mode was on
    skipped       bool               the listener skipped the track (reason_end fwdbtn/backbtn)
    offline       bool               played from downloads without a connection
    session_id    string             16 hex chars; plays of one listening session share it

The model, per listener and day: a Poisson number of sessions (by activity level, more on
weekends), started at local times from a diurnal profile (converted to UTC with the country's
offset, so plays of one local day spread over three UTC days); a negative-binomial number of
plays per session; each play picks a genre family from the listener's Dirichlet taste (or, for
about 12%, the global chart) and then a track in it, over the tracks visible that day, with
weight exp((track_popularity - artist_popularity) / 7 + 3 * artist_popularity / 32) of that day;
some plays repeat the previous track or the listener's favourite; skips are likelier off-taste
and on shuffle. Because each listener's total rate follows the sum of their families' weights,
a surging artist adds streams instead of taking them from the artist's genre peers. A play whose
track is not served on its UTC day (released at local midnight further east, or taken down) is
dropped, so a session can show a gap there.

Planted for checks (`ground_truth`): the catalogue's breakout artist surges from its day on (its
popularity jump raises its weights), and one artist gets a one-day burst of artificial streams
("streaming_spike"): about a hundred hijacked accounts looping its catalogue to completion.
`ListeningWorld(world, planted_events=False)` generates the same listeners and sessions without
them: no burst, and pick weights from each artist's organic popularity (the catalogue's
breakout and follower drop left out), so the anomaly backtest can count false incidents on a
world where nothing happened. The catalogue itself (releases, take-downs) is unchanged.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from spotify_agent_assets.sample_world.artist_series import _ArtistSeries
from spotify_agent_assets.sample_world.catalogue import (
    WORLD_START,
    _clamp_popularity,
    namespace_rng,
)
from spotify_agent_assets.sample_world.world import GroundTruthEvent, SampleWorld
from spotify_agent_assets.streams.event_schema import landing_schema

FIRST_DAY = date(2026, 10, 2)
WINDOW_DAYS = 30

# The landing-zone contract is owned by the ingestion side; the generator writes exactly it.
STREAM_EVENT_V1 = landing_schema()

PLATFORMS = ("ios", "android", "desktop", "web", "cast")
_PLATFORM_SHARE = np.array([0.33, 0.40, 0.15, 0.07, 0.05])

# Spotify's reason vocabulary; the codes index this tuple in the generated arrays.
REASONS = ("trackdone", "fwdbtn", "backbtn", "clickrow", "playbtn", "appload", "remote", "endplay")
_TRACKDONE, _FWDBTN, _BACKBTN, _CLICKROW, _PLAYBTN, _APPLOAD, _REMOTE, _ENDPLAY = range(8)

AGE_BANDS = ("13-17", "18-24", "25-34", "35-44", "45-54", "55+")
_AGE_SHARE = np.array([0.06, 0.26, 0.29, 0.18, 0.11, 0.10])

# Skewed like a streaming service's audience: a long tail behind the US. Offsets are standard
# time in minutes (DST ignored: it only shifts the diurnal curve by an hour for some markets).
_COUNTRIES: tuple[tuple[str, float, tuple[int, ...]], ...] = (
    ("US", 0.27, (-300, -300, -360, -420, -480)),
    ("BR", 0.09, (-180,)),
    ("GB", 0.08, (0,)),
    ("DE", 0.07, (60,)),
    ("MX", 0.06, (-360,)),
    ("FR", 0.04, (60,)),
    ("SE", 0.04, (60,)),
    ("CA", 0.04, (-300, -480)),
    ("ES", 0.035, (60,)),
    ("IT", 0.03, (60,)),
    ("NL", 0.03, (60,)),
    ("AU", 0.03, (600,)),
    ("JP", 0.03, (540,)),
    ("IN", 0.03, (330,)),
    ("PL", 0.025, (60,)),
    ("AR", 0.02, (-180,)),
    ("ID", 0.02, (420,)),
    ("PH", 0.02, (480,)),
    ("NG", 0.015, (60,)),
    ("TR", 0.015, (180,)),
)
COUNTRY_CODES = tuple(code for code, _, _ in _COUNTRIES)

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

_CHART_SHARE = 0.12  # plays that come from editorial/algorithmic charts rather than own taste
_MEAN_PLAYS = 12.0  # plays per session on a day with reference catalogue weights
_REPEAT_PREVIOUS = 0.06  # the listener plays the same track again
_REPEAT_FAVOURITE = 0.035  # ... or goes back to their favourite track
_SPIKE_FACTOR = 4.0  # the injected burst adds this many times the artist's organic streams

_HEX_PAIRS = np.frombuffer(b"".join(f"{b:02x}".encode() for b in range(256)), dtype=np.uint16)
_BASE32 = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz234567", dtype=np.uint8)
_HANDLE_WORDS = (
    "mara", "jonas", "lucia", "kofi", "yuna", "elio", "nadia", "oskar", "silas", "ines",
    "theo", "amara", "felix", "leah", "marco", "sofia", "noah", "ella", "ravi", "hana",
    "vinyl", "beats", "tunes", "groove", "echo", "indie", "night", "lofi", "wave", "moon",
)  # fmt: skip


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
class _Catalogue:
    """The catalogue as arrays indexed by track number (order of `world.tracks()`)."""

    track_ids: pa.StringArray
    duration_ms: np.ndarray  # int64
    family: np.ndarray  # int16, index into ListeningWorld.families
    artist: np.ndarray  # int32, index into artist_ids (primary artist)
    artist_ids: tuple[str, ...]


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


class ListeningWorld:
    """Listeners of the sample world and their plays, one UTC day at a time."""

    def __init__(
        self,
        world: SampleWorld,
        *,
        n_listeners: int = 2000,
        first_day: date = FIRST_DAY,
        days: int = WINDOW_DAYS,
        planted_events: bool = True,
    ) -> None:
        if n_listeners < 1 or days < 1:
            raise ValueError("need at least one listener and one day")
        self.world = world
        self.seed = world.seed
        self.n_listeners = n_listeners
        self.first_day = first_day
        self.days = days
        self.last_day = first_day + timedelta(days=days - 1)
        self.planted_events = planted_events
        self._organic: dict[str, _ArtistSeries] = {}
        self._catalogue = self._build_catalogue()
        self.families: tuple[str, ...] = tuple(dict.fromkeys(a.family for a in world.artists()))
        self._build_listeners()
        self._days: dict[date, _DayState] = {}
        self._batches: OrderedDict[date, _Batch] = OrderedDict()
        self._reference_weight = self._day_state(first_day).pool_weight
        self._favourite = self._choose_favourites()
        self._spike: GroundTruthEvent | None = None
        self.ground_truth: tuple[GroundTruthEvent, ...] = ()
        if planted_events:
            self._spike = self._choose_spike()
            self.ground_truth = (*self._surges(), self._spike)

    # ---- public ----------------------------------------------------------------------------

    def window(self) -> list[date]:
        return [self.first_day + timedelta(days=i) for i in range(self.days)]

    def listeners(self) -> pa.Table:
        """One row per listener: profile attributes (taste aligned with `families`)."""
        taste = self._taste[:, : len(self.families)]
        return pa.table(
            {
                "listener_id": self._listener_ids,
                "country": self._listener_country,
                "platform": pa.array(PLATFORMS).take(pa.array(self._platform)),
                "age_band": pa.array(AGE_BANDS).take(pa.array(self._age)),
                "activity": pa.array(self._activity),
                "shuffle_propensity": pa.array(self._shuffle_odds),
                "top_family": pa.array(self.families).take(pa.array(taste.argmax(axis=1))),
                "taste": pa.FixedSizeListArray.from_arrays(pa.array(taste.ravel()), len(taste[0])),
            }
        )

    def events_for_day(self, day: date) -> pa.Table:
        """Every play whose `ts` (end of play) falls in the UTC day, ordered by `ts`."""
        if not self.first_day <= day <= self.last_day:
            raise ValueError(f"{day} is outside the window {self.first_day}..{self.last_day}")
        start = _epoch_us(day)
        end = start + 86_400_000_000
        visible = self._day_state(day).visible
        parts = []
        # A local day's sessions reach from UTC day - 1 (far east) to day + 1 (late nights west).
        # Plays of a track not served on the UTC day (a release at local midnight somewhere
        # ahead, a take-down) are dropped: the catalogue's day is the UTC day.
        for local_day in (day - timedelta(days=1), day, day + timedelta(days=1)):
            batch = self._batch(local_day)
            keep = (batch.end_us >= start) & (batch.end_us < end) & visible[batch.track]
            parts.append(batch.take(np.flatnonzero(keep)))
        merged = _Batch.concat(parts)
        return self._to_table(merged.take(np.argsort(merged.end_us, kind="stable")))

    def events(self) -> Iterator[pa.Table]:
        """`events_for_day` for each day of the window, in order."""
        for day in self.window():
            yield self.events_for_day(day)

    # ---- listeners -------------------------------------------------------------------------

    def _build_catalogue(self) -> _Catalogue:
        artists = self.world.artists()
        artist_index = {artist.id: i for i, artist in enumerate(artists)}
        families = list(dict.fromkeys(a.family for a in artists))
        tracks = self.world.tracks()
        primary = [artist_index[t.artist_ids[0]] for t in tracks]
        return _Catalogue(
            track_ids=pa.array([t.id for t in tracks], pa.string()),
            duration_ms=np.array([t.duration_ms for t in tracks], dtype=np.int64),
            family=np.array([families.index(artists[i].family) for i in primary], dtype=np.int16),
            artist=np.array(primary, dtype=np.int32),
            artist_ids=tuple(a.id for a in artists),
        )

    def _build_listeners(self) -> None:
        rng = stable_rng(self.seed, "listeners")
        n = self.n_listeners
        shares = np.array([share for _, share, _ in _COUNTRIES])
        self._country = rng.choice(len(_COUNTRIES), size=n, p=shares / shares.sum())
        offsets = [rng.choice(_COUNTRIES[c][2]) for c in self._country.tolist()]
        self._offset_min = np.array(offsets, dtype=np.int64)
        self._country_names = pa.array(COUNTRY_CODES)
        self._listener_country = self._country_names.take(pa.array(self._country))
        self._platform = rng.choice(len(PLATFORMS), size=n, p=_PLATFORM_SHARE)
        self._age = rng.choice(len(AGE_BANDS), size=n, p=_AGE_SHARE)
        # Sessions per weekday: a long tail of heavy listeners, many occasional ones.
        self._activity = np.clip(rng.lognormal(math.log(1.0), 0.75, size=n), 0.05, 8.0)
        self._shuffle_odds = rng.beta(2.0, 2.5, size=n)
        # A sparse Dirichlet concentrates each listener on one or two families, which is the
        # signal a recommender should learn; the chart column is shared by everybody.
        taste = rng.dirichlet(np.full(len(self.families), 0.25), size=n)
        self._taste = np.hstack([taste * (1 - _CHART_SHARE), np.full((n, 1), _CHART_SHARE)])
        self._top_taste = self._taste[:, :-1].max(axis=1)
        self._listener_ids = pa.array(_listener_names(rng, n), pa.string())

    def _choose_favourites(self) -> np.ndarray:
        """Each listener's favourite track: a popular one in their top family."""
        rng = stable_rng(self.seed, "favourites")
        state = self._day_state(self.first_day)
        top = self._taste[:, : len(self.families)].argmax(axis=1)
        pick = _pick_pool(state, top, rng.random(self.n_listeners))
        return state.pool_tracks[pick]

    def _surges(self) -> list[GroundTruthEvent]:
        """The catalogue's breakout, restated as what it does to streams."""
        return [
            GroundTruthEvent(
                "breakout",
                event.artist_id,
                event.day,
                f"Daily streams of the breakout artist surge from {event.day} on, following its "
                "popularity jump and the viral single released that day.",
            )
            for event in self.world.ground_truth
            if event.kind == "breakout"
        ]

    def _choose_spike(self) -> GroundTruthEvent:
        rng = stable_rng(self.seed, "anomaly")
        taken = {event.artist_id for event in self.world.ground_truth}
        # An artist with enough organic streams that a burst is a signal rather than noise.
        weights = np.bincount(
            self._catalogue.artist,
            weights=np.where(self._day_state(self.first_day).visible, 1.0, 0.0)
            * self._track_weight(self.first_day),
            minlength=len(self._catalogue.artist_ids),
        )
        order = [i for i in np.argsort(-weights) if self._catalogue.artist_ids[i] not in taken]
        artist_id = self._catalogue.artist_ids[order[int(rng.integers(3, 8))]]
        # A day away from the window's edges and from the catalogue's planted days, so each
        # signal is judged on its own.
        busy = {event.day for event in self.world.ground_truth}
        window = self.window()
        candidates = [
            day for day in window[3:-3] if all(abs((day - other).days) > 1 for other in busy)
        ]
        if not candidates:
            candidates = [window[len(window) // 2]]
        day = candidates[int(rng.integers(len(candidates)))]
        artist = self.world.artist(artist_id)
        return GroundTruthEvent(
            "streaming_spike",
            artist_id,
            day,
            f"{artist.name if artist else artist_id} gets a burst of artificial streams on "
            f"{day}: hijacked accounts loop the catalogue (about {_SPIKE_FACTOR:.0f}x the "
            "organic daily streams, all plays to completion).",
        )

    # ---- one day ---------------------------------------------------------------------------

    def _popularity(self, artist_id: str, day: date) -> int:
        """The artist's popularity that day; organic (no planted event) without planted events."""
        if self.planted_events:
            return self.world.popularity(artist_id, day)
        series = self._organic.get(artist_id)
        if series is None:
            # The world's own random stream for the series, without its events: the same
            # organic path, so only the planted boosts and cuts are missing.
            rng = namespace_rng(self.seed, f"artist-series:{artist_id}")
            artist = self.world.artist(artist_id)
            assert artist is not None, artist_id  # noqa: S101 -- type narrowing: ids come from the world's own catalogue
            series = self._organic[artist_id] = _ArtistSeries(rng, artist, ())
        index = (day - WORLD_START).days
        series.extend_to(index)
        return series.popularity[index]

    def _track_weight(self, day: date) -> np.ndarray:
        """Zipf-like pick weight per track number (0 where not visible)."""
        tracks = self.world.tracks()
        popularity = {a: self._popularity(a, day) for a in self._catalogue.artist_ids}
        artist_pop = np.array([popularity[a] for a in self._catalogue.artist_ids], np.float64)
        if self.planted_events:
            track_pop = np.array([self.world.track_popularity(t.id, day) for t in tracks], float)
        else:  # world.track_popularity, on the organic artist popularity
            track_pop = np.array(
                [
                    _clamp_popularity(popularity[t.artist_ids[0]] + t.popularity_offset)
                    if self.world.track_visible(t.id, day)
                    else 0
                    for t in tracks
                ],
                float,
            )
        artist_pop = artist_pop[self._catalogue.artist]
        # The track's standing in its artist's catalogue makes the Zipf-like head (one or two
        # hits per artist); the artist's popularity moves all of its tracks together.
        return np.exp((track_pop - artist_pop) / 7 + 3 * artist_pop / 32)

    def _day_state(self, day: date) -> _DayState:
        state = self._days.get(day)
        if state is not None:
            return state
        visible_ids = {t.id for t in self.world.visible_tracks(day)}
        visible = np.array([t.id in visible_ids for t in self.world.tracks()])
        weight = np.where(visible, self._track_weight(day), 0.0)
        pools = [
            np.flatnonzero(visible & (self._catalogue.family == f))
            for f in range(len(self.families))
        ]
        pools.append(np.flatnonzero(visible))  # the chart: everything, by the same weights
        cdfs, totals = [], []
        for number, pool in enumerate(pools):
            cumulative = np.cumsum(weight[pool])
            totals.append(cumulative[-1] if len(pool) else 0.0)
            cdfs.append(number + cumulative / max(cumulative[-1] if len(pool) else 1.0, 1e-300))
        state = _DayState(
            pool_cdf=np.concatenate(cdfs),
            pool_tracks=np.concatenate(pools),
            visible=visible,
            pool_weight=np.array(totals),
        )
        self._days[day] = state
        return state

    def _batch(self, local_day: date) -> _Batch:
        batch = self._batches.get(local_day)
        if batch is None:
            batch = self._generate(local_day)
            self._batches[local_day] = batch
            # Sequential days reuse the two neighbours; more would only hold memory.
            while len(self._batches) > 3:
                self._batches.popitem(last=False)
        return batch

    def _generate(self, local_day: date) -> _Batch:
        rng = stable_rng(self.seed, f"sessions:{local_day.isoformat()}")
        state = self._day_state(local_day)
        n = self.n_listeners
        weekend = local_day.weekday() >= 5

        # Sessions.
        rate = self._activity * _DAY_OF_WEEK_FACTOR[local_day.weekday()]
        per_listener = rng.poisson(rate)
        session_listener = np.repeat(np.arange(n, dtype=np.int32), per_listener)
        sessions = len(session_listener)
        hours = _WEEKEND_HOURS if weekend else _WEEKDAY_HOURS
        local_hour = rng.choice(24, size=sessions, p=hours / hours.sum())
        local_us = (local_hour * 3600 + rng.integers(0, 3600, size=sessions)) * 1_000_000
        utc_offset_us = self._offset_min[session_listener] * 60_000_000
        start_us = _epoch_us(local_day) + local_us - utc_offset_us
        primary = self._platform[session_listener]
        platform = np.where(
            rng.random(sessions) < 0.82,
            primary,
            rng.choice(len(PLATFORMS), size=sessions, p=_PLATFORM_SHARE),
        )
        shuffle = rng.random(sessions) < self._shuffle_odds[session_listener]
        mobile = platform <= 1
        offline = mobile & (rng.random(sessions) < 0.06)
        # Each pool's pull grows with its total weight against the reference day, and a
        # listener's day grows with the sum: new releases and a surging artist add plays on
        # top of what the listener already plays instead of taking them from genre peers.
        growth = state.pool_weight / np.maximum(self._reference_weight, 1e-300)
        pull = self._taste * growth
        ratio = pull.sum(axis=1)
        mean_plays = np.maximum(_MEAN_PLAYS * ratio[session_listener] - 1, 0.1)
        shape = 1.6
        plays = 1 + rng.poisson(rng.gamma(shape, mean_plays / shape))

        batch = self._plays(
            rng, state, pull / ratio[:, None], session_listener, start_us, plays, platform, shuffle
        )
        batch.offline = np.repeat(offline, plays)
        day_index = (local_day - date(2000, 1, 1)).days
        session_seq = np.arange(sessions, dtype=np.uint64) | np.uint64(day_index << 32)
        batch.session_key = np.repeat(_mix64(session_seq, self.seed * 7919 + 1), plays)
        if self._spike is not None and local_day == self._spike.day:
            batch = _Batch.concat([batch, self._spike_plays(rng, state, batch)])
        play_seq = np.arange(len(batch.track), dtype=np.uint64) | np.uint64(day_index << 32)
        batch.event_key = _mix64(play_seq, self.seed * 104_729 + 2)
        return batch

    def _plays(
        self,
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
        favourite = self._favourite[listener]
        to_favourite = (rng.random(total) < _REPEAT_FAVOURITE) & state.visible[favourite]
        track = np.where(to_favourite, favourite, track)
        # Repeating the previous play copies from the last play that was not itself a repeat.
        repeat = ~is_first & (rng.random(total) < _REPEAT_PREVIOUS)
        source = np.maximum.accumulate(np.where(repeat, 0, np.arange(total)))
        track = track[source]
        repeat |= to_favourite

        # Off-taste tracks and shuffle get skipped more; a chosen repeat rarely is.
        family = self._catalogue.family[track]
        taste = self._taste[:, : len(self.families)]
        affinity = taste[listener, family] / self._top_taste[listener]
        shuffled = shuffle[session]
        skip_odds = 0.09 + 0.30 * (1 - affinity) + 0.07 * shuffled - 0.06 * repeat
        skipped = rng.random(total) < skip_odds
        stopped = ~skipped & (
            (is_last & (rng.random(total) < 0.45)) | (~is_last & (rng.random(total) < 0.04))
        )
        reason_end = np.full(total, _TRACKDONE, dtype=np.uint8)
        reason_end[skipped] = np.where(rng.random(int(skipped.sum())) < 0.88, _FWDBTN, _BACKBTN)
        reason_end[stopped] = _ENDPLAY

        duration = self._catalogue.duration_ms[track]
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

    def _spike_plays(self, rng: np.random.Generator, state: _DayState, organic: _Batch) -> _Batch:
        """The injected burst: extra sessions of hijacked accounts looping one artist."""
        assert self._spike is not None  # noqa: S101 -- type narrowing: called only with a spike planned
        artist = self._catalogue.artist_ids.index(self._spike.artist_id)
        own = np.flatnonzero(state.visible & (self._catalogue.artist == artist))
        organic_plays = int(np.count_nonzero(self._catalogue.artist[organic.track] == artist))
        target = max(int(_SPIKE_FACTOR * organic_plays), 400)
        per_session = rng.integers(20, 41, size=max(target // 30, 1))
        accounts = rng.choice(self.n_listeners, size=len(per_session), replace=True)
        # Start in the UTC morning so that even 40 full plays end before midnight.
        day_start = _epoch_us(self._spike.day)
        start_us = day_start + rng.integers(1_800, 16 * 3600, size=len(per_session)) * 1_000_000
        total = int(per_session.sum())
        session = np.repeat(np.arange(len(per_session)), per_session)
        first = _segment_starts(per_session)
        track = own[rng.integers(0, len(own), size=total)]
        ms_played = self._catalogue.duration_ms[track]
        elapsed = np.cumsum(ms_played * 1000 + 200_000)
        elapsed -= np.repeat(elapsed[first] - ms_played[first] * 1000 - 200_000, per_session)
        reason_start = np.full(total, _TRACKDONE, dtype=np.uint8)
        reason_start[first] = _CLICKROW
        day_index = (self._spike.day - date(2000, 1, 1)).days
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
            session_key=np.repeat(_mix64(keys, self.seed * 7919 + 1), per_session),
            event_key=np.zeros(total, dtype=np.uint64),
        )

    def _to_table(self, batch: _Batch) -> pa.Table:
        listener = pa.array(batch.listener)
        reasons = pa.array(REASONS)
        columns = [
            hex_ids(batch.event_key),
            self._listener_ids.take(listener),
            self._catalogue.track_ids.take(pa.array(batch.track)),
            pa.array(batch.end_us, pa.timestamp("us", tz="UTC")),
            pa.array(batch.ms_played, pa.int64()),
            self._listener_country.take(listener),
            pa.array(PLATFORMS).take(pa.array(batch.platform)),
            reasons.take(pa.array(batch.reason_start)),
            reasons.take(pa.array(batch.reason_end)),
            pa.array(batch.shuffle),
            pa.array(batch.skipped),
            pa.array(batch.offline),
            hex_ids(batch.session_key),
        ]
        return pa.Table.from_arrays(columns, schema=STREAM_EVENT_V1)


def _pick_pool(state: _DayState, pool: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index into `state.pool_tracks` of a weighted pick inside each play's pool."""
    hit = np.searchsorted(state.pool_cdf, pool + u * (1 - 1e-12), side="right")
    return np.minimum(hit, len(state.pool_tracks) - 1)


def _epoch_us(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1_000_000


def _listener_names(rng: np.random.Generator, n: int) -> list[str]:
    """Account names: old-style handles for early accounts, generated ids for newer ones."""
    generated = rng.random(n) < 0.65
    chars = _BASE32[rng.integers(0, 32, size=(n, 26))]
    words = rng.integers(0, len(_HANDLE_WORDS), size=(n, 2))
    numbers = rng.integers(1, 10_000, size=n)
    style = rng.integers(0, 3, size=n)
    names: list[str] = []
    seen: set[str] = set()
    for i in range(n):
        if generated[i]:
            name = "31" + chars[i].tobytes().decode()
        else:
            first, second = _HANDLE_WORDS[words[i, 0]], _HANDLE_WORDS[words[i, 1]]
            name = (
                f"{first}{numbers[i]}",
                f"{first}_{second}{numbers[i] % 100}",
                f"{first}.{second}",
            )[style[i]]
        while name in seen:  # handles are unique on the service: the newcomer adds a digit
            name += str(int(rng.integers(0, 10)))
        seen.add(name)
        names.append(name)
    return names


def generate_bench_events(n_events: int, out_dir: Path, *, seed: int = 7) -> list[Path]:
    """Write exactly `n_events` stream event v1 rows as Parquet files of about a million rows.

    A bigger audience (about a million plays per UTC day) makes each file one day, so memory
    stays bounded by three days of compact arrays plus one day's table whatever `n_events` is.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    n_listeners = 45_000
    per_day_estimate = n_listeners * 18
    days = max(3, math.ceil(n_events / per_day_estimate * 1.3) + 2)
    listening = ListeningWorld(SampleWorld(seed), n_listeners=n_listeners, days=days)
    written: list[Path] = []
    remaining = n_events
    for day in listening.window():
        if remaining <= 0:
            break
        table = listening.events_for_day(day)
        table = table.slice(0, min(remaining, table.num_rows))
        path = out_dir / f"events-{len(written):05d}.parquet"
        pq.write_table(table, path, compression="zstd")
        remaining -= table.num_rows
        written.append(path)
    if remaining > 0:
        raise RuntimeError(f"window too short: {remaining} events left to write")
    return written


def measure_generation(listening: ListeningWorld) -> tuple[int, float]:
    """(events, seconds) to generate the whole window: the figure to quote as events/s."""
    started = time.perf_counter()
    count = sum(table.num_rows for table in listening.events())
    return count, time.perf_counter() - started
