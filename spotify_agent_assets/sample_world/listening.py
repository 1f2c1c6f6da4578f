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

This module holds `ListeningWorld`: the listeners, the day's pick weights, the planted events and
the table encoding. The audience's vocabularies and account names are in `listener_profiles`;
the sessions and plays of one local day (the hot loop) are in `listening_sessions`.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
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
from spotify_agent_assets.sample_world.listener_profiles import (
    _AGE_SHARE,
    _COUNTRIES,
    _PLATFORM_SHARE,
    AGE_BANDS,
    COUNTRY_CODES,
    PLATFORMS,
    _listener_names,
)
from spotify_agent_assets.sample_world.listening_sessions import (
    _SPIKE_FACTOR,
    REASONS,
    _Batch,
    _DayState,
    _epoch_us,
    _pick_pool,
    generate_day,
    hex_ids,
    stable_rng,
)
from spotify_agent_assets.sample_world.world import GroundTruthEvent, SampleWorld
from spotify_agent_assets.streams.event_schema import landing_schema

FIRST_DAY = date(2026, 10, 2)
WINDOW_DAYS = 30

# The landing-zone contract is owned by the ingestion side; the generator writes exactly it.
STREAM_EVENT_V1 = landing_schema()

_CHART_SHARE = 0.12  # plays that come from editorial/algorithmic charts rather than own taste


@dataclass(frozen=True)
class _Catalogue:
    """The catalogue as arrays indexed by track number (order of `world.tracks()`)."""

    track_ids: pa.StringArray
    duration_ms: np.ndarray  # int64
    family: np.ndarray  # int16, index into ListeningWorld.families
    artist: np.ndarray  # int32, index into artist_ids (primary artist)
    artist_ids: tuple[str, ...]


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
            batch = generate_day(self, local_day)
            self._batches[local_day] = batch
            # Sequential days reuse the two neighbours; more would only hold memory.
            while len(self._batches) > 3:
                self._batches.popitem(last=False)
        return batch

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
