"""Curation: candidates with reasons, filters, harmonic order, determinism."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from spotify_agent_assets.activation.curation import (
    CurationInputs,
    curate,
    seed_track_ids,
    spec_findings,
)
from spotify_agent_assets.activation.harmonic_order import (
    TrackSound,
    camelot,
    camelot_distance,
    harmonic_share,
    order_tracks,
    path_cost,
)
from spotify_agent_assets.activation.playlist_spec import PlaylistSpec, parse_playlist_specs
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.activation.playlist_world import (
    curation_inputs,
    top_artists,
    upstream_rows,
)


@pytest.fixture(scope="module")
def rows(world: SampleWorld) -> dict[tuple[str, str], list[dict[str, Any]]]:
    return upstream_rows(world)


@pytest.fixture(scope="module")
def inputs(rows: dict[tuple[str, str], list[dict[str, Any]]]) -> CurationInputs:
    return curation_inputs(rows)


def _spec(world: SampleWorld, **entry: Any) -> PlaylistSpec:
    base = {"name": "Test", "seeds": {"artists": top_artists(world, 2)}, "length": 20}
    return parse_playlist_specs({"playlists": [base | entry]})[0]


def test_camelot_wheel() -> None:
    assert camelot("A", "minor") == "8A" and camelot("C", "major") == "8B"
    assert camelot("G#", "minor") == "1A" and camelot("B", "major") == "1B"
    assert camelot(None, "major") is None and camelot("H", "major") is None
    assert camelot_distance("8A", "8B") == 1  # relative major/minor
    assert camelot_distance("12A", "1A") == 1  # the wheel wraps
    assert camelot_distance("8A", "9A") == 1
    assert camelot_distance("8A", "2B") == 7


def test_order_is_smoother_than_the_input_and_deterministic() -> None:
    rng = random.Random(11)
    keys = ("C", "D", "E", "F", "G", "A", "B", "F#")
    sounds = [
        TrackSound(
            f"t{n:02d}",
            rng.uniform(70, 160),
            rng.choice(keys),
            rng.choice(("major", "minor")),
            rng.uniform(0.2, 0.9),
        )
        for n in range(30)
    ]
    path = order_tracks(sounds)
    assert sorted(s.track_id for s in path) == sorted(s.track_id for s in sounds)
    assert path_cost(path) < path_cost(sounds) / 2
    assert (harmonic_share(path) or 0) > (harmonic_share(sounds) or 0)
    shuffled = list(sounds)
    rng.shuffle(shuffled)
    assert order_tracks(shuffled) == path
    assert path[0].energy == min(s.energy for s in sounds)  # builds up from the calmest


def test_every_track_has_a_reason_and_the_filters_hold(
    world: SampleWorld, inputs: CurationInputs
) -> None:
    spec = _spec(world, explicit=False, max_per_artist=2, length=25, mood="upbeat")
    playlist, segment = curate(spec, inputs)
    assert len(playlist) == 25
    assert [item.position for item in playlist] == list(range(1, 26))
    assert len({item.track.track_id for item in playlist}) == 25
    assert all(item.candidate.reason for item in playlist)
    assert all(item.track.explicit is False for item in playlist)
    assert max(Counter(i.track.primary_artist_id for i in playlist).values()) <= 2
    assert all(item.track.track_id in inputs.features for item in playlist)
    assert {item.candidate.source for item in playlist} >= {"seed", "similar"}
    assert 0 < segment <= 80
    seeds = set(seed_track_ids(spec, inputs))
    for item in playlist:
        if item.candidate.source == "seed":
            assert item.track.track_id in seeds and "seed artist" in item.candidate.reason
        if item.candidate.source == "similar":
            assert item.candidate.reason.startswith("similar to '")
        if item.candidate.source == "recommended":
            assert f"listeners in segment {spec.segment}" in item.candidate.reason
    assert playlist[0].transition_cost is None
    assert all(item.transition_cost is not None for item in playlist[1:])


def test_the_mood_moves_the_playlist(world: SampleWorld, inputs: CurationInputs) -> None:
    def mean_energy(mood: str) -> float:
        playlist, _ = curate(_spec(world, mood=mood, length=15, max_per_artist=20), inputs)
        return sum(i.features.energy or 0 for i in playlist) / len(playlist)

    assert mean_energy("energetic") > mean_energy("calm") + 0.1


def test_explicit_tracks_only_when_allowed(world: SampleWorld, inputs: CurationInputs) -> None:
    explicit = {t.track_id for t in inputs.tracks.values() if t.explicit}
    assert explicit  # the sample world has some
    allowed, _ = curate(_spec(world, explicit=True, length=200, max_per_artist=200), inputs)
    refused, _ = curate(_spec(world, explicit=False, length=200, max_per_artist=200), inputs)
    assert {i.track.track_id for i in allowed} & explicit
    assert not {i.track.track_id for i in refused} & explicit


def test_duration_is_filled_within_the_slack(world: SampleWorld, inputs: CurationInputs) -> None:
    spec = _spec(world, length=None, duration_minutes=45, max_per_artist=5)
    playlist, _ = curate(spec, inputs)
    minutes = sum(i.track.duration_ms or 0 for i in playlist) / 60_000
    assert 45 <= minutes <= 50


def test_segments_differ_and_keep_no_listener_keys(
    world: SampleWorld, inputs: CurationInputs
) -> None:
    seeds = {"tracks": [sorted(inputs.tracks)[0]]}
    fans, fans_size = curate(_spec(world, seeds=seeds, segment="seed_listeners"), inputs)
    everyone, all_size = curate(_spec(world, seeds=seeds, segment="all_listeners"), inputs)
    assert 0 < fans_size < all_size == 80
    assert [i.track.track_id for i in fans] != [i.track.track_id for i in everyone]
    keys = set(inputs.recommendations)
    for item in [*fans, *everyone]:
        assert not any(key in item.candidate.reason for key in keys)


def test_same_inputs_same_playlist_in_any_row_order(
    world: SampleWorld, rows: dict[tuple[str, str], list[dict[str, Any]]], inputs: CurationInputs
) -> None:
    spec = _spec(world, mood="chill", length=30, max_per_artist=3)
    first, _ = curate(spec, inputs)
    shuffled = {key: list(table) for key, table in rows.items()}
    rng = random.Random(5)
    for table in shuffled.values():
        rng.shuffle(table)
    again, _ = curate(spec, curation_inputs(shuffled))
    assert [(i.track.track_id, i.candidate.reason) for i in again] == [
        (i.track.track_id, i.candidate.reason) for i in first
    ]


def test_spec_findings_flag_shortfalls_and_broken_rules(
    world: SampleWorld, inputs: CurationInputs
) -> None:
    spec = _spec(world, explicit=False, max_per_artist=1, length=20)
    playlist, _ = curate(spec, inputs)
    assert spec_findings(spec, playlist) == ([], [])
    greedy = _spec(world, explicit=False, max_per_artist=1, length=5000)
    found, _ = curate(greedy, inputs)
    broken, short = spec_findings(greedy, found)
    assert not broken and short == [f"Test: {len(found)} of 5000 tracks"]
    # The same tracks judged by a stricter spec: the check sees what selection did not do.
    stricter = _spec(world, explicit=False, max_per_artist=1, length=20)
    doubled = [*playlist, playlist[0]]
    broken, _ = spec_findings(stricter, doubled)
    assert any("twice" in b for b in broken) and any("more than 1" in b for b in broken)
