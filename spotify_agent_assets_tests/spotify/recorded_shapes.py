"""Recorded Spotify objects and the OpenAPI description of their fields, for the parsing tests.

The recordings and the spec live outside the repository (`../shared/data/spotify-api`); they are
read in place, never copied in, and tests that need them skip with the path when it is absent.
Which fields a test bends is derived from the spec: every property of a recorded object that the
spec leaves out of `required` or marks `nullable`, two levels deep (`followers.total`,
`images[].width`), and the key `id` whatever the spec says about it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml

SPOTIFY_API_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "spotify-api"
RECORDINGS = SPOTIFY_API_DATA / "recorded-responses" / "data"
OPENAPI = SPOTIFY_API_DATA / "openapi" / "fixed-spotify-open-api.yml"
MAX_DEPTH = 2  # segments of a bent path: `followers.total`, `images[].width`

Mode = Literal["null", "drop"]


def shared_data_available() -> bool:
    return RECORDINGS.is_dir() and OPENAPI.is_file()


def require_shared_data() -> None:
    if not shared_data_available():
        pytest.skip(f"the shared Spotify API data is not available at {SPOTIFY_API_DATA}")


def recording(relative: str) -> Any:
    require_shared_data()
    return json.loads((RECORDINGS / relative).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Shape:
    """One kind of Spotify object: where a recorded example is and which schema describes it."""

    name: str
    schema: str
    file: str
    pick: Callable[[Any], dict[str, Any]]

    def recorded(self) -> dict[str, Any]:
        return copy.deepcopy(self.pick(recording(self.file)))


SHAPES = {
    shape.name: shape
    for shape in (
        Shape("artist", "ArtistObject", "artists/GetArtistRequest.json", lambda d: d),
        Shape("album", "AlbumObject", "albums/GetAlbumRequest.json", lambda d: d),
        Shape(
            "release",  # an item of an artist's releases listing
            "ArtistDiscographyAlbumObject",
            "artists/GetArtistsAlbumsRequest.json",
            lambda d: d["items"][0],
        ),
        Shape("track", "TrackObject", "tracks/GetTrackRequest.json", lambda d: d),
        Shape("playlist", "PlaylistObject", "playlists/GetPlaylistRequest.json", lambda d: d),
        Shape(
            "playlist_item",
            "PlaylistTrackObject",
            "playlists/GetPlaylistsItemsRequest.json",
            lambda d: d["items"][0],
        ),
    )
}


@dataclass(frozen=True)
class Bend:
    """One field of one shape nulled or dropped; `[]` in `path` means every element."""

    shape: str
    path: str
    mode: Mode

    @property
    def label(self) -> str:
        return f"{self.shape}:{self.mode}:{self.path}"

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        bent = copy.deepcopy(obj)
        _bend(bent, self.path.split("."), self.mode)
        return bent


def _bend(node: Any, parts: list[str], mode: Mode) -> None:
    head, rest = parts[0], parts[1:]
    name, each = (head[:-2], True) if head.endswith("[]") else (head, False)
    if not isinstance(node, dict):
        return
    if not rest:
        if mode == "drop":
            node.pop(name, None)
        else:
            node[name] = None
        return
    children = node.get(name)
    for child in children if each and isinstance(children, list) else [children]:
        _bend(child, rest, mode)


def all_bends() -> list[Bend]:
    """The bends of every shape; none when the shared data is absent (the tests then skip)."""
    if not shared_data_available():
        return []
    return [bend for name in SHAPES for bend in bends(name)]


def bends(shape_name: str) -> list[Bend]:
    """Every optional or nullable field of the recorded object, nulled and (if present) dropped."""
    shape = SHAPES[shape_name]
    sample = shape.recorded()
    paths = ["id"] if "id" in sample else []
    paths += [p for p in _optional_paths(_schema(shape.schema), sample, "", 1) if p != "id"]
    found = []
    for path in paths:
        found.append(Bend(shape_name, path, "null"))
        if _present(sample, path.split(".")):
            found.append(Bend(shape_name, path, "drop"))
    return found


def _present(node: Any, parts: list[str]) -> bool:
    head = parts[0]
    name = head.removesuffix("[]")
    if not isinstance(node, dict) or name not in node:
        return False
    if len(parts) == 1:
        return True
    child = node[name]
    children = child if head.endswith("[]") and isinstance(child, list) else [child]
    return any(_present(c, parts[1:]) for c in children)


def _optional_paths(schema: dict[str, Any], sample: Any, prefix: str, depth: int) -> Iterator[str]:
    required = set(schema.get("required", ()))
    for name, prop in schema.get("properties", {}).items():
        prop = _resolve(prop, sample.get(name) if isinstance(sample, dict) else None)
        path = f"{prefix}{name}"
        if name not in required or prop.get("nullable"):
            yield path
        if depth >= MAX_DEPTH or not isinstance(sample, dict):
            continue
        value = sample.get(name)
        if isinstance(value, dict) and prop.get("properties"):
            yield from _optional_paths(prop, value, f"{path}.", depth + 1)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            items = _resolve(prop.get("items", {}), value[0])
            if items.get("properties"):
                yield from _optional_paths(items, value[0], f"{path}[].", depth + 1)


# The record cannot be stored without these: bending them quarantines it, naming the field.
KEY_FIELDS = {"id"}

# What bending a field does to the parsed row (column -> value); a field not listed here must
# leave every column as it was. Lists: absent means unknown (null); a list whose entries have
# no id (local files' artists) is known to hold no link ([]).
_NO_ARTISTS = {"artist_ids": [], "primary_artist_id": None}
_UNKNOWN_ARTISTS = {"artist_ids": None, "primary_artist_id": None}
EFFECTS: dict[str, dict[str, dict[str, Any]]] = {
    "artist": {
        "external_urls": {"spotify_url": None},
        "external_urls.spotify": {"spotify_url": None},
        "followers": {"followers": None},
        "followers.total": {"followers": None},
        "genres": {"genres": None},
        "images": {"image_url": None},
        "name": {"name": None},
        "popularity": {"popularity": None},
        "uri": {"uri": None},
    },
    "album": {
        "artists[].id": _NO_ARTISTS,
        "external_ids.upc": {"upc": None},
    },
    "release": {
        "artists[].id": _NO_ARTISTS,
    },
    "track": {
        "artists": _UNKNOWN_ARTISTS,
        "artists[].id": _NO_ARTISTS,
        "available_markets": {"available_markets": None},
        "disc_number": {"disc_number": None},
        "duration_ms": {"duration_ms": None},
        "explicit": {"explicit": None},
        "external_ids": {"isrc": None},
        "external_ids.isrc": {"isrc": None},
        "name": {"name": None},
        "popularity": {"popularity": None},
        "track_number": {"track_number": None},
        "uri": {"uri": None},
    },
    "playlist": {
        "collaborative": {"collaborative": None},
        "description": {"description": None},
        "followers": {"followers": None},
        "followers.total": {"followers": None},
        "name": {"name": None},
        "owner": {"owner_id": None, "owner_name": None},
        "owner.display_name": {"owner_name": None},
        "owner.id": {"owner_id": None},
        "snapshot_id": {"snapshot_id": None},
        "tracks": {"total_items": None},
        "uri": {"uri": None},
    },
    "playlist_item": {
        "added_at": {"added_at": None},
        "added_by": {"added_by": None},
        "added_by.id": {"added_by": None},
        "track": {
            "item_type": "missing",
            "item_id": None,
            "item_uri": None,
            "item_name": None,
            "duration_ms": None,
            "primary_artist_id": None,
            "album_id": None,
        },
        "track.album": {"album_id": None},
        "track.artists": {"primary_artist_id": None},
        "track.duration_ms": {"duration_ms": None},
        "track.id": {"item_id": None},
        "track.name": {"item_name": None},
        "track.uri": {"item_uri": None},
    },
}


def expected_row(bend: Bend, baseline: dict[str, Any]) -> dict[str, Any]:
    """The row the bent object must give: the baseline with the bend's effects."""
    return {**baseline, **EFFECTS[bend.shape].get(bend.path, {})}


@cache
def _spec() -> dict[str, Any]:
    require_shared_data()
    return yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))


def _schema(name: str) -> dict[str, Any]:
    return _resolve({"$ref": f"#/components/schemas/{name}"}, None)


def _resolve(schema: dict[str, Any], sample: Any) -> dict[str, Any]:
    """`$ref`, `allOf` and `oneOf` folded into one schema (properties, required, nullable)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _resolve(
            {**_spec()["components"]["schemas"][name], **_without(schema, "$ref")}, sample
        )
    if "oneOf" in schema:
        # The discriminator is `type` (a playlist item's track is a TrackObject or EpisodeObject).
        options = [_resolve(option, sample) for option in schema["oneOf"]]
        kind = sample.get("type") if isinstance(sample, dict) else None
        chosen = next(
            (o for o in options if kind in o.get("properties", {}).get("type", {}).get("enum", ())),
            options[0],
        )
        return {**chosen, **_without(schema, "oneOf")}
    merged = _without(schema, "allOf")
    merged["properties"] = dict(schema.get("properties", {}))
    merged["required"] = list(schema.get("required", ()))
    for part in schema.get("allOf", ()):
        resolved = _resolve(part, sample)
        merged["properties"] = {**resolved.get("properties", {}), **merged["properties"]}
        merged["required"] += resolved.get("required", [])
        for key in ("nullable", "items", "type"):
            if key in resolved and key not in merged:
                merged[key] = resolved[key]
    return merged


def _without(schema: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k != key}
