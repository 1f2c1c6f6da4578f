"""Roster validation: every problem reported at once, with file, index, line and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from spotify_agent_assets.spotify.roster import (
    Roster,
    RosterEntry,
    RosterError,
    load_roster,
    parse_roster,
)

GOOD = """\
artists:
  - id: spotify:artist:0OdUWJ0sBjDrqHygGUXeCF   # Share-menu URI
    name: Band of Horses
  - 4Z8W4fKeB5YxbusRsdQVPb
  - id: https://open.spotify.com/intl-de/artist/1vCWHaC5f2uS3yhpwWbIA6?si=abc
    name: 311
    notes: free-form keys are ignored
playlists:
  - id: https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M
    name: Today's Top Hits
"""


def test_parses_all_entry_shapes() -> None:
    roster = parse_roster(GOOD, source="config/artists.yaml")
    assert roster.artists[0] == RosterEntry(
        kind="artist",
        spotify_id="0OdUWJ0sBjDrqHygGUXeCF",
        name="Band of Horses",
        source="config/artists.yaml",
        line=2,
        reference="spotify:artist:0OdUWJ0sBjDrqHygGUXeCF",
    )
    assert roster.artists[1].name is None
    assert roster.artists[1].line == 4
    assert roster.artists[2].name == "311"  # YAML int coerced back to the name it is
    assert roster.artist_ids == (
        "0OdUWJ0sBjDrqHygGUXeCF",
        "4Z8W4fKeB5YxbusRsdQVPb",
        "1vCWHaC5f2uS3yhpwWbIA6",
    )
    assert roster.playlists[0].kind == "playlist"
    assert roster.playlist_ids == ("37i9dQZF1DXcBWIGoYBM5M",)


def test_playlists_are_optional() -> None:
    roster = parse_roster("artists: [0OdUWJ0sBjDrqHygGUXeCF]\n", source="r.yaml")
    assert roster == Roster(
        artists=(
            RosterEntry(
                "artist", "0OdUWJ0sBjDrqHygGUXeCF", None, "r.yaml", 1, "0OdUWJ0sBjDrqHygGUXeCF"
            ),
        ),
        playlists=(),
    )


def test_load_roster_reads_file(tmp_path: Path) -> None:
    path = tmp_path / "artists.yaml"
    path.write_text(GOOD, encoding="utf-8")
    roster = load_roster(path)
    assert roster.artists[0].source == str(path)
    assert len(roster.artists) == 3


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(RosterError, match=r"nope\.yaml.*does not exist"):
        load_roster(missing)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("artists: [unclosed\n", "not valid YAML"),
        ("", "must be a YAML mapping"),
        ("- 0OdUWJ0sBjDrqHygGUXeCF\n", "must be a YAML mapping"),
        ("playlists: []\n", "missing required top-level key `artists`"),
        ("artists: []\n", "`artists` is empty"),
        ("artists: 0OdUWJ0sBjDrqHygGUXeCF\n", "must be a list of artist ids"),
    ],
)
def test_structural_errors(text: str, fragment: str) -> None:
    with pytest.raises(RosterError) as caught:
        parse_roster(text, source="config/artists.yaml")
    assert fragment in str(caught.value)
    assert "config/artists.yaml" in str(caught.value)


def test_reports_every_bad_entry_with_index_line_and_value() -> None:
    text = """\
artists:
  - 0OdUWJ0sBjDrqHygGUXeCF
  - https://open.spotify.com/track/3n3Ppam7vgaVa1iaRUc9Lp
  - id: tooshort
    name: Typo Band
  - name: No Id Band
  - spotify:artist:0OdUWJ0sBjDrqHygGUXeCF
  - 42
playlists:
  - spotify:artist:0OdUWJ0sBjDrqHygGUXeCF
"""
    with pytest.raises(RosterError) as caught:
        parse_roster(text, source="config/artists.yaml")
    message = str(caught.value)
    assert "6 problem(s)" in message
    assert "artists[1] (line 3)" in message
    assert "track reference where an artist was expected" in message
    assert "artists[2] (line 4)" in message and "'tooshort'" in message
    assert "artists[3] (line 6)" in message and "has no `id`" in message
    assert "artists[4] (line 7): duplicate artist id '0OdUWJ0sBjDrqHygGUXeCF'" in message
    assert "already listed at artists[0] (line 2)" in message
    assert "artists[5] (line 8)" in message and "int 42" in message
    assert "playlists[0] (line 10)" in message


def test_roster_error_is_a_value_error() -> None:
    assert issubclass(RosterError, ValueError)
