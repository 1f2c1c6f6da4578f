"""Spotify genre strings to one of nine genre families: the label of the audio genre head.

Spotify tags artists (not tracks) with free-form, lower-case genre strings, thousands of them
("dance pop", "indie folk", "uk drill", "neo-classical"). `genre_family` reduces one artist's
list to a family of `FAMILIES` with the ordered keyword table `GENRE_KEYWORDS`:

- One genre string: the first keyword of the table that occurs in it (a substring match, so
  "electropop" contains "electro" and "k-pop" contains "pop") gives its family.
- The order settles strings that name two families: specific phrases first ("indie pop" is pop,
  as the sample world files it), then hip hop, electronic, latin, jazz, classical, indie, folk,
  rock and last pop, the most generic word. So "trap latino" is hip hop, "electropop"
  electronic, "latin pop" latin, "indie folk" and "indie rock" indie, "folk rock" folk,
  "pop punk" rock.
- Several genre strings: a majority vote over the strings that map; a tie goes to the family of
  the earliest of the tied strings in the list (Spotify lists an artist's main genre first).
- None when no string maps: an empty list, or only genres outside the table ("ambient",
  "soundtrack", "r&b"); extend the table rather than guessing.

`track_genre` picks the artist whose genres label a track: the primary (first) artist's family,
else the next artist whose genres map.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

FAMILIES: tuple[str, ...] = (
    "pop",
    "indie",
    "hip hop",
    "electronic",
    "jazz",
    "classical",
    "rock",
    "latin",
    "folk",
)

# (keyword, family), tried in this order against each genre string; the first keyword that
# occurs wins. Phrases that would otherwise fall to a broader keyword come first.
GENRE_KEYWORDS: tuple[tuple[str, str], ...] = (
    # Phrases whose words point elsewhere: the sample world files "indie pop" under pop, and
    # "chamber pop" / "baroque pop" are pop with strings, not classical music.
    ("indie pop", "pop"),
    ("chamber pop", "indie"),
    ("baroque pop", "indie"),
    # Hip hop before latin and electronic: "trap latino", "electro hip hop" are rap first.
    ("hip hop", "hip hop"),
    ("hip-hop", "hip hop"),
    ("rap", "hip hop"),  # also "trap"
    ("drill", "hip hop"),
    ("grime", "hip hop"),
    # Electronic before pop: "electropop", "dance pop" stays pop (no keyword below matches).
    ("house", "electronic"),
    ("techno", "electronic"),
    ("edm", "electronic"),
    ("electro", "electronic"),  # also "electronic", "electronica"
    ("trance", "electronic"),
    ("dubstep", "electronic"),
    ("drum and bass", "electronic"),
    # Latin before pop and rock: "latin pop", "latin rock".
    ("latin", "latin"),
    ("reggaeton", "latin"),
    ("salsa", "latin"),
    ("bachata", "latin"),
    ("cumbia", "latin"),
    ("jazz", "jazz"),
    ("bebop", "jazz"),
    ("swing", "jazz"),
    ("classical", "classical"),  # also "neo-classical", "modern classical"
    ("orchestra", "classical"),
    ("baroque", "classical"),
    ("opera", "classical"),
    ("chamber", "classical"),
    # Indie before folk, rock and pop: "indie folk", "indie rock", "bedroom pop".
    ("indie", "indie"),
    ("bedroom", "indie"),
    ("folk", "folk"),
    ("singer-songwriter", "folk"),
    ("americana", "folk"),
    ("bluegrass", "folk"),
    ("country", "folk"),
    ("rock", "rock"),
    ("metal", "rock"),
    ("punk", "rock"),
    ("grunge", "rock"),
    ("pop", "pop"),
)


def _string_family(genre: str) -> str | None:
    text = genre.strip().lower()
    for keyword, family in GENRE_KEYWORDS:
        if keyword in text:
            return family
    return None


def genre_family(genres: Sequence[str]) -> str | None:
    """The family of an artist's genre strings: a majority vote, ties to the earliest string.

    None when no string maps. A bare string is a TypeError, not a list of one genre.
    """
    if isinstance(genres, str):
        # A bare string is a sequence of characters: "pop" would vote p, o, p.
        raise TypeError(f"genres must be a sequence of genre strings, got the string {genres!r}")
    votes: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for position, genre in enumerate(genres):
        family = _string_family(genre)
        if family is not None:
            votes[family] += 1
            first_seen.setdefault(family, position)
    if not votes:
        return None
    return max(votes, key=lambda family: (votes[family], -first_seen[family]))


def track_genre(
    artist_ids: Sequence[str], genres_by_artist: Mapping[str, Sequence[str]]
) -> str | None:
    """A track's family: its primary (first) artist's, else the next artist's that maps.

    None when no artist's genres map; an artist missing from `genres_by_artist` counts as one
    without genres.
    """
    if isinstance(artist_ids, str):
        raise TypeError(
            f"artist_ids must be a sequence of artist ids, got the string {artist_ids!r}"
        )
    for artist_id in artist_ids:
        family = genre_family(genres_by_artist.get(artist_id, ()))
        if family is not None:
            return family
    return None
