"""Playlist specs are validated strictly: every error names the field's path."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from spotify_agent_assets.activation.playlist_spec import (
    MOODS,
    PlaylistSpecError,
    check_seeds,
    load_playlist_specs,
    parse_playlist_specs,
)
from spotify_agent_assets.environment import PROJECT_ROOT
from spotify_agent_assets.sample_world.world import SampleWorld

ARTIST = "mwSytecg5buHYUJjpS4Joy"
GOOD: dict[str, Any] = {
    "name": "Evening",
    "seeds": {"artists": [ARTIST]},
    "mood": "chill",
    "length": 20,
}


def _doc(*changes: dict[str, Any]) -> dict[str, Any]:
    return {
        "playlists": [
            copy.deepcopy(GOOD) | {"name": f"Playlist {n}"} | change
            for n, change in enumerate(changes)
        ]
    }


def _error(document: Any) -> PlaylistSpecError:
    with pytest.raises(PlaylistSpecError) as raised:
        parse_playlist_specs(document, "playlists.yaml")
    return raised.value


@pytest.mark.parametrize(
    ("change", "drop", "field", "words"),
    [
        ({"mood": "sleepy"}, (), "playlists[2].mood", "unknown mood 'sleepy'"),
        ({"duration_minutes": -5}, ("length",), "playlists[2].duration_minutes", "impossible"),
        ({"duration_minutes": 0}, ("length",), "playlists[2].duration_minutes", "impossible"),
        ({"duration_minutes": 5000}, ("length",), "playlists[2].duration_minutes", "impossible"),
        ({"length": 0}, (), "playlists[2].length", "impossible"),
        ({"length": 20000}, (), "playlists[2].length", "impossible"),
        ({"duration_minutes": 30}, (), "playlists[2].length", "exactly one"),
        ({}, ("length",), "playlists[2].length", "exactly one"),
        ({"target": {"energy": 1.4}}, (), "playlists[2].target.energy", "out of range"),
        ({"target": {"tempo_bpm": 400}}, (), "playlists[2].target.tempo_bpm", "out of range"),
        ({"target": {"loudness": 3}}, (), "playlists[2].target.loudness", "unknown target"),
        ({"max_per_artst": 2}, (), "playlists[2].max_per_artst", "unknown key"),
        ({"max_per_artist": 0}, (), "playlists[2].max_per_artist", ">= 1"),
        ({"explicit": "no"}, (), "playlists[2].explicit", "true or false"),
        ({"segment": "vips"}, (), "playlists[2].segment", "unknown segment"),
        ({"seeds": {}}, (), "playlists[2].seeds", "at least one seed"),
        ({"seeds": {"artist": [ARTIST]}}, (), "playlists[2].seeds.artist", "unknown key"),
        ({"seeds": {"artists": ["not-an-id"]}}, (), "playlists[2].seeds.artists[0]", "artist"),
        ({"name": "Playlist 0"}, (), "playlists[2].name", "repeats the name"),
    ],
)
def test_bad_spec_names_the_field(
    change: dict[str, Any], drop: tuple[str, ...], field: str, words: str
) -> None:
    error = _error(_with_drop(change, drop))
    assert error.field == field
    assert field in str(error) and words in str(error)
    assert str(error).startswith("playlists.yaml: ")


def _with_drop(change: dict[str, Any], drop: tuple[str, ...]) -> dict[str, Any]:
    document = _doc({}, {}, change)
    for key in drop:
        document["playlists"][2].pop(key)
    return document


def test_unknown_mood_lists_the_moods() -> None:
    error = _error(_doc({"mood": "sleepy"}))
    assert all(mood in str(error) for mood in MOODS)


def test_top_level_must_be_the_playlists_list() -> None:
    assert _error({"playlist": []}).field == "(top level)"
    assert _error({"playlists": []}).field == "playlists"
    assert _error({"playlists": ["x"]}).field == "playlists[0]"


def test_unknown_seed_artist_or_track_names_the_field(world: SampleWorld) -> None:
    artists = {a.id for a in world.artists()}
    tracks = {t.id for t in world.tracks()}
    unknown = "0" * 22
    specs = parse_playlist_specs(_doc({}, {"seeds": {"artists": [ARTIST, unknown]}}))
    with pytest.raises(PlaylistSpecError) as raised:
        check_seeds(specs, artists, tracks, "playlists.yaml")
    assert raised.value.field == "playlists[1].seeds.artists[1]"
    assert "unknown artist" in str(raised.value)
    specs = parse_playlist_specs(_doc({"seeds": {"tracks": [unknown]}}))
    with pytest.raises(PlaylistSpecError) as raised:
        check_seeds(specs, artists, tracks)
    assert raised.value.field == "playlists[0].seeds.tracks[0]"


def test_mood_targets_with_overrides_and_uri_seeds() -> None:
    (spec,) = parse_playlist_specs(
        _doc({"seeds": {"artists": [f"spotify:artist:{ARTIST}"]}, "target": {"tempo_bpm": 128}})
    )
    assert spec.seed_artists == (ARTIST,)
    assert spec.target == {**MOODS["chill"], "tempo_bpm": 128.0}
    assert spec.key == "playlist-0"
    assert spec.explicit is True and spec.max_per_artist == 3 and spec.public is False


def test_digest_follows_the_content() -> None:
    first, same = (parse_playlist_specs(_doc({}))[0] for _ in range(2))
    other = parse_playlist_specs(_doc({"length": 21}))[0]
    assert first.digest() == same.digest() != other.digest()


def test_the_shipped_specs_are_valid_over_the_sample_world(world: SampleWorld) -> None:
    specs = load_playlist_specs(PROJECT_ROOT / "config" / "playlists.yaml")
    assert len(specs) >= 3
    check_seeds(specs, {a.id for a in world.artists()}, {t.id for t in world.tracks()})


def test_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(PlaylistSpecError, match="cannot be read"):
        load_playlist_specs(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("playlists: [\n")
    with pytest.raises(PlaylistSpecError, match="not valid YAML"):
        load_playlist_specs(broken)
