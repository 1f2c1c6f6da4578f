"""The artist roster: which artists (and followed playlists) the team manages.

The roster is the root of the whole Spotify graph, so it is validated completely before any API
call: a typo should fail the first step with one message listing every bad entry (file, list
index, line, value, what was expected) instead of surfacing as a 400 halfway through a sync.

Format (YAML)::

    artists:                       # required, non-empty
      - id: spotify:artist:0OdUWJ0sBjDrqHygGUXeCF   # id, URI or open.spotify.com URL
        name: Band of Horses        # optional, informational
      - 4Z8W4fKeB5YxbusRsdQVPb      # a bare string item is accepted too
    playlists:                     # optional
      - id: https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M

Keys other than `id` and `name` on an entry are ignored, so teams can annotate entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from spotify_agent_assets.spotify.ids import InvalidSpotifyIdError, normalize_spotify_id

DEFAULT_ROSTER_PATH = Path("config/artists.yaml")
# Top-level key -> Spotify kind of its entries.
_SECTIONS: dict[str, str] = {"artists": "artist", "playlists": "playlist"}


class RosterError(ValueError):
    """The roster file is missing or invalid; the message lists every problem found."""


@dataclass(frozen=True)
class RosterEntry:
    """One validated roster entry; `spotify_id` is always the bare base62 id."""

    kind: str
    spotify_id: str
    name: str | None
    source: str  # the roster file
    line: int | None
    reference: str = ""  # the id, URI or URL exactly as written in the file


@dataclass(frozen=True)
class Roster:
    """All validated entries, in file order."""

    artists: tuple[RosterEntry, ...]
    playlists: tuple[RosterEntry, ...]

    @property
    def artist_ids(self) -> tuple[str, ...]:
        return tuple(entry.spotify_id for entry in self.artists)

    @property
    def playlist_ids(self) -> tuple[str, ...]:
        return tuple(entry.spotify_id for entry in self.playlists)


def load_roster(path: str | Path) -> Roster:
    """Read and validate the roster file at `path`; raises `RosterError` on any problem."""
    roster_path = Path(path)
    try:
        text = roster_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RosterError(
            f"roster file {str(roster_path)!r} does not exist (resolved to "
            f"{str(roster_path.resolve())!r}); expected a YAML file with an `artists:` list"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise RosterError(f"cannot read roster file {str(roster_path)!r}: {error}") from error
    return parse_roster(text, source=str(roster_path))


def parse_roster(text: str, source: str) -> Roster:
    """Validate roster YAML `text`; `source` names the file in error messages and entries."""
    try:
        root_node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RosterError(f"roster {source!r} is not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise RosterError(
            f"roster {source!r} must be a YAML mapping with an `artists:` list at the top level, "
            f"got {_describe(data)}"
        )
    problems: list[str] = []
    sections: dict[str, tuple[RosterEntry, ...]] = {}
    for key, kind in _SECTIONS.items():
        section_node = _mapping_child(root_node, key)
        sections[key] = _parse_section(data.get(key), key, kind, section_node, source, problems)
    if "artists" not in data:
        problems.insert(0, "missing required top-level key `artists` (a list of artist ids)")
    elif not sections["artists"] and not problems:
        problems.append("`artists` is empty; expected at least one artist id")
    if problems:
        listing = "\n".join(f"  - {problem}" for problem in problems)
        raise RosterError(f"invalid roster {source!r} ({len(problems)} problem(s)):\n{listing}")
    return Roster(artists=sections["artists"], playlists=sections["playlists"])


def _parse_section(
    value: Any,
    key: str,
    kind: str,
    node: yaml.Node | None,
    source: str,
    problems: list[str],
) -> tuple[RosterEntry, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append(
            f"`{key}`{_at_line(node)} must be a list of {kind} ids, got {_describe(value)}"
        )
        return ()
    entries: list[RosterEntry] = []
    first_seen: dict[str, str] = {}
    for index, item in enumerate(value):
        item_node = node.value[index] if isinstance(node, yaml.SequenceNode) else None
        line = item_node.start_mark.line + 1 if item_node is not None else None
        where = f"{key}[{index}]" + (f" (line {line})" if line is not None else "")
        entry = _parse_entry(item, kind, where, source, line, problems)
        if entry is None:
            continue
        if entry.spotify_id in first_seen:
            problems.append(
                f"{where}: duplicate {kind} id {entry.spotify_id!r}, "
                f"already listed at {first_seen[entry.spotify_id]}; expected each {kind} once"
            )
            continue
        first_seen[entry.spotify_id] = where
        entries.append(entry)
    return tuple(entries)


def _parse_entry(
    item: Any, kind: str, where: str, source: str, line: int | None, problems: list[str]
) -> RosterEntry | None:
    name: str | None = None
    if isinstance(item, dict):
        raw_id = item.get("id")
        raw_name = item.get("name")
        if raw_name is not None:
            if isinstance(raw_name, (dict, list)):
                problems.append(f"{where}: `name` must be text, got {_describe(raw_name)}")
                return None
            # YAML reads a band called `311` as an int; names are text.
            name = str(raw_name)
        if raw_id is None:
            problems.append(
                f"{where}: entry {item!r} has no `id`; expected `id: <{kind} id, URI or URL>`"
            )
            return None
    elif isinstance(item, str):
        raw_id = item
    else:
        problems.append(
            f"{where}: got {_describe(item)}; expected a {kind} id string "
            "or a mapping with `id` (and optional `name`)"
        )
        return None
    if not isinstance(raw_id, str):
        problems.append(f"{where}: `id` must be text, got {_describe(raw_id)}")
        return None
    try:
        spotify_id = normalize_spotify_id(raw_id, kind)
    except InvalidSpotifyIdError as error:
        problems.append(f"{where}: {error}")
        return None
    return RosterEntry(
        kind=kind,
        spotify_id=spotify_id,
        name=name,
        source=source,
        line=line,
        reference=raw_id.strip(),
    )


def _mapping_child(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node
    return None


def _at_line(node: yaml.Node | None) -> str:
    return f" (line {node.start_mark.line + 1})" if node is not None else ""


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (empty document or null)"
    return f"{type(value).__name__} {value!r}"
