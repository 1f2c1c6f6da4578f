"""Spotify id normalisation: every shape the Share menu produces, and clear rejections."""

from __future__ import annotations

import pytest

from spotify_agent_assets.spotify.ids import (
    InvalidSpotifyIdError,
    is_spotify_id,
    normalize_spotify_id,
    spotify_uri,
    spotify_url,
)

ARTIST = "0OdUWJ0sBjDrqHygGUXeCF"


@pytest.mark.parametrize(
    "value",
    [
        ARTIST,
        f"  {ARTIST}\n",
        f"spotify:artist:{ARTIST}",
        f"https://open.spotify.com/artist/{ARTIST}",
        f"https://open.spotify.com/artist/{ARTIST}/",
        f"https://open.spotify.com/artist/{ARTIST}?si=4f1a2b3c4d5e",
        f"https://open.spotify.com/intl-de/artist/{ARTIST}?si=abc",
        f"https://open.spotify.com/intl-pt/artist/{ARTIST}/?si=abc",
        f"http://open.spotify.com/artist/{ARTIST}",
        f"open.spotify.com/artist/{ARTIST}",
    ],
)
def test_accepts_every_artist_reference_shape(value: str) -> None:
    assert normalize_spotify_id(value, "artist") == ARTIST


@pytest.mark.parametrize("kind", ["album", "track", "playlist", "episode", "show"])
def test_other_catalogue_kinds(kind: str) -> None:
    assert normalize_spotify_id(f"spotify:{kind}:{ARTIST}", kind) == ARTIST
    assert normalize_spotify_id(f"https://open.spotify.com/{kind}/{ARTIST}", kind) == ARTIST


def test_legacy_user_playlist_uri() -> None:
    uri = "spotify:user:spotify:playlist:59ZbFPES4DQwEjBpWHzrtC"
    assert normalize_spotify_id(uri, "playlist") == "59ZbFPES4DQwEjBpWHzrtC"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("spotify", "spotify"),
        ("spotify:user:spotify_espa%C3%B1a", "spotify_españa"),
        ("https://open.spotify.com/user/1234567890?si=x", "1234567890"),
    ],
)
def test_user_ids_are_free_form(value: str, expected: str) -> None:
    assert normalize_spotify_id(value, "user") == expected


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (f"https://open.spotify.com/track/{ARTIST}", "track reference where an artist"),
        (f"spotify:album:{ARTIST}", "album reference"),
        ("", "empty"),
        ("   ", "empty"),
        (ARTIST[:-1], "22-character base62"),
        (ARTIST + "x", "22-character base62"),
        (ARTIST[:-1] + "-", "22-character base62"),
        ("spotify:artist", "not a valid Spotify URI"),
        ("https://example.com/artist/" + ARTIST, "22-character"),
        ("https://open.spotify.com/artist/", "not an open.spotify.com link"),
    ],
)
def test_rejections_name_the_value_and_expectation(value: str, fragment: str) -> None:
    with pytest.raises(InvalidSpotifyIdError) as caught:
        normalize_spotify_id(value, "artist")
    message = str(caught.value)
    assert repr(value) in message
    assert fragment in message
    assert "expected" in message


def test_rejects_non_string_and_unknown_kind() -> None:
    with pytest.raises(InvalidSpotifyIdError, match="must be a string"):
        normalize_spotify_id(12345, "artist")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown Spotify kind"):
        normalize_spotify_id(ARTIST, "song")


def test_uri_url_and_predicate() -> None:
    assert spotify_uri("artist", f"https://open.spotify.com/artist/{ARTIST}") == (
        f"spotify:artist:{ARTIST}"
    )
    assert spotify_url("track", ARTIST) == f"https://open.spotify.com/track/{ARTIST}"
    assert is_spotify_id(ARTIST)
    assert not is_spotify_id(f"spotify:artist:{ARTIST}")
    assert not is_spotify_id(ARTIST[:-1])
    with pytest.raises(InvalidSpotifyIdError):
        spotify_uri("artist", "nope")
