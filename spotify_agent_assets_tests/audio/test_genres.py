from __future__ import annotations

import pytest

from spotify_agent_assets.audio.genres import FAMILIES, GENRE_KEYWORDS, genre_family, track_genre
from spotify_agent_assets.sample_world.catalogue import GENRE_FAMILIES
from spotify_agent_assets.sample_world.world import SampleWorld

SAMPLE_GENRES = [(genre, family) for family, genres in GENRE_FAMILIES.items() for genre in genres]


@pytest.mark.parametrize(("genre", "family"), SAMPLE_GENRES)
def test_every_sample_world_genre_maps_to_its_family(genre: str, family: str) -> None:
    assert genre_family([genre]) == family


@pytest.mark.parametrize(
    ("genre", "family"),
    [
        ("uk drill", "hip hop"),
        ("trap latino", "hip hop"),
        ("melodic drill", "hip hop"),
        ("deep house", "electronic"),
        ("drum and bass", "electronic"),
        ("electronica", "electronic"),
        ("bachata", "latin"),
        ("latin rock", "latin"),
        ("bebop", "jazz"),
        ("baroque", "classical"),
        ("chamber pop", "indie"),
        ("folk rock", "folk"),
        ("country", "folk"),
        ("pop punk", "rock"),
        ("nu metal", "rock"),
        ("k-pop", "pop"),
        ("Dance Pop", "pop"),
    ],
)
def test_real_world_genres_follow_the_keyword_order(genre: str, family: str) -> None:
    assert genre_family([genre]) == family


def test_the_table_only_names_known_families() -> None:
    assert {family for _, family in GENRE_KEYWORDS} == set(FAMILIES)
    assert set(GENRE_FAMILIES) == set(FAMILIES)


def test_several_genres_vote_and_ties_go_to_the_earliest() -> None:
    assert genre_family(["trap", "indie folk", "bedroom pop"]) == "indie"
    assert genre_family(["house", "techno", "pop", "dance pop", "latin pop"]) == "electronic"
    assert genre_family(["folk", "house"]) == "folk"
    assert genre_family(["house", "folk"]) == "electronic"
    # Unknown genres do not vote and do not break ties.
    assert genre_family(["ambient", "jazz", "rock"]) == "jazz"


def test_nothing_that_maps_is_none() -> None:
    assert genre_family([]) is None
    assert genre_family(["ambient", "soundtrack"]) is None


def test_a_bare_string_is_refused() -> None:
    with pytest.raises(TypeError, match="sequence of genre strings"):
        genre_family("pop")
    with pytest.raises(TypeError, match="sequence of artist ids"):
        track_genre("a1", {})


def test_track_genre_takes_the_first_artist_that_maps() -> None:
    genres = {"a1": ["ambient"], "a2": ["trap"], "a3": ["folk"], "a4": ["house"]}
    assert track_genre(["a4", "a2"], genres) == "electronic"
    assert track_genre(["a1", "a3", "a2"], genres) == "folk"
    assert track_genre(["missing", "a2"], genres) == "hip hop"
    assert track_genre(["a1"], genres) is None
    assert track_genre([], genres) is None


def test_every_sample_world_artist_maps_to_its_family() -> None:
    world = SampleWorld()
    for artist in world.artists():
        assert genre_family(artist.genres) == artist.family, artist.name
