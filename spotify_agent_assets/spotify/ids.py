"""Spotify ids, URIs and open.spotify.com URLs.

People paste whatever the Spotify app's "Share" menu gives them into the roster: a URI, a URL
with a `?si=` tracking parameter, a URL with an `intl-de/` locale segment. Everything downstream
keys on the bare 22-character base62 id, so this module turns all of those into that id and
rejects anything else with a message that says what was expected.

User ids are the exception: they are free-form account names (`spotify`, `spotify_españa`,
`1234567890`), not base62, so for kind `user` any non-empty token without whitespace, `:`, `/`
or `?` is accepted and URL-encoded ids are decoded.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

SPOTIFY_ID_LENGTH = 22
CATALOG_KINDS: frozenset[str] = frozenset(
    {"artist", "album", "track", "playlist", "episode", "show"}
)
KINDS: frozenset[str] = CATALOG_KINDS | {"user"}

_BASE62_ID = re.compile(rf"[0-9A-Za-z]{{{SPOTIFY_ID_LENGTH}}}")
_USER_ID = re.compile(r"[^\s:/?#]+")
_URL_HOST = "open.spotify.com"
# Spotify's share links may carry a locale segment such as `intl-de` or `intl-pt`.
_LOCALE_SEGMENT = re.compile(r"intl-[a-z]{2}(?:-[a-z]{2})?", re.IGNORECASE)


class InvalidSpotifyIdError(ValueError):
    """A value is not a Spotify id, URI or URL of the expected kind."""


def is_spotify_id(value: str) -> bool:
    """True when `value` is a bare 22-character base62 catalogue id."""
    return isinstance(value, str) and _BASE62_ID.fullmatch(value) is not None


def spotify_uri(kind: str, spotify_id: str) -> str:
    """`spotify:<kind>:<id>` for an id that is first validated with `normalize_spotify_id`."""
    return f"spotify:{kind}:{normalize_spotify_id(spotify_id, kind)}"


def spotify_url(kind: str, spotify_id: str) -> str:
    """`https://open.spotify.com/<kind>/<id>` for an id validated with `normalize_spotify_id`."""
    return f"https://{_URL_HOST}/{kind}/{normalize_spotify_id(spotify_id, kind)}"


def normalize_spotify_id(value: str, kind: str) -> str:
    """Return the bare id of `value`: an id, a `spotify:` URI or an open.spotify.com URL.

    Raises `InvalidSpotifyIdError` naming the value and what was expected when the value is
    empty, malformed, or points at a different kind (a track URL where an artist is expected).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown Spotify kind {kind!r}; expected one of {sorted(KINDS)}")
    if not isinstance(value, str):
        raise InvalidSpotifyIdError(
            f"Spotify {kind} id must be a string, got {type(value).__name__} {value!r}"
        )
    text = value.strip()
    if not text:
        raise InvalidSpotifyIdError(f"empty Spotify {kind} id {value!r}; {_expected(kind)}")
    if text.lower().startswith("spotify:"):
        found_kind, raw_id = _split_uri(text, value, kind)
    elif _URL_HOST in text.lower():
        found_kind, raw_id = _split_url(text, value, kind)
    else:
        found_kind, raw_id = kind, text
    if found_kind != kind:
        raise InvalidSpotifyIdError(
            f"{value!r} is a Spotify {found_kind} reference where "
            f"{_article(kind)} {kind} was expected; {_expected(kind)}"
        )
    return _check_id(raw_id, value, kind)


def _article(kind: str) -> str:
    return "an" if kind[0] in "aeiou" else "a"


def _expected(kind: str) -> str:
    if kind == "user":
        return "expected a user id, spotify:user:<id> or https://open.spotify.com/user/<id>"
    return (
        f"expected a {SPOTIFY_ID_LENGTH}-character base62 id, spotify:{kind}:<id> "
        f"or https://{_URL_HOST}/{kind}/<id>"
    )


def _split_uri(text: str, original: str, kind: str) -> tuple[str, str]:
    parts = text.split(":")
    # Legacy playlist URIs embed the owner: spotify:user:<owner>:playlist:<id>.
    if len(parts) == 5 and parts[1] == "user" and parts[3] == "playlist":
        return "playlist", parts[4]
    if len(parts) != 3:
        raise InvalidSpotifyIdError(f"{original!r} is not a valid Spotify URI; {_expected(kind)}")
    return parts[1], parts[2]


def _split_url(text: str, original: str, kind: str) -> tuple[str, str]:
    # Tolerate a missing scheme: people paste `open.spotify.com/...` from the address bar.
    parsed = urlsplit(text if "://" in text else f"https://{text}")
    segments = [segment for segment in parsed.path.split("/") if segment]
    if segments and _LOCALE_SEGMENT.fullmatch(segments[0]):
        segments = segments[1:]
    if parsed.hostname != _URL_HOST or len(segments) != 2:
        raise InvalidSpotifyIdError(
            f"{original!r} is not an open.spotify.com link to a {kind}; {_expected(kind)}"
        )
    return segments[0], segments[1]


def _check_id(raw_id: str, original: str, kind: str) -> str:
    if kind == "user":
        user_id = unquote(raw_id)
        if _USER_ID.fullmatch(user_id):
            return user_id
    elif _BASE62_ID.fullmatch(raw_id):
        return raw_id
    raise InvalidSpotifyIdError(
        f"{original!r} does not contain a valid Spotify {kind} id ({raw_id!r}); {_expected(kind)}"
    )
