"""Spotify's `fields` query parameter: which parts of a playlist answer to send back.

`name,tracks.items(added_at,track(id,name))` selects nested keys with dots and parentheses;
exclusions (`!`) are not supported and refused like any other malformed expression. The sample
API applies a selection in full, to fixed objects as well as to the world's.
"""

from __future__ import annotations

import re
from typing import Any

# A parsed expression: key -> selection inside it (None: the whole value).
FieldTree = dict[str, "FieldTree | None"]

_NAME = re.compile(r"[A-Za-z_]+(?:\.[A-Za-z_]+)*")


class InvalidFieldsError(ValueError):
    """The `fields` expression is not one Spotify would accept (the API answers 400)."""

    def __init__(self, expression: str) -> None:
        super().__init__(f"Invalid fields expression: {expression}")


def parse_fields(expression: str | None) -> FieldTree | None:
    """Parse a `fields` expression; None (no parameter) selects everything."""
    if expression is None:
        return None
    tree, position = _parse_field_list(expression, 0)
    if position != len(expression):
        raise InvalidFieldsError(expression)
    return tree


def select_fields(value: Any, tree: FieldTree | None) -> Any:
    """The parts of `value` that `tree` selects; lists are selected item by item."""
    if tree is None or value is None:
        return value
    if isinstance(value, list):
        return [select_fields(item, tree) for item in value]
    if isinstance(value, dict):
        return {key: select_fields(value[key], sub) for key, sub in tree.items() if key in value}
    return value


def _parse_field_list(text: str, position: int) -> tuple[FieldTree, int]:
    tree: FieldTree = {}
    while True:
        match = _NAME.match(text, position)
        if match is None:
            raise InvalidFieldsError(text)
        position = match.end()
        subtree: FieldTree | None = None
        if position < len(text) and text[position] == "(":
            subtree, position = _parse_field_list(text, position + 1)
            if position >= len(text) or text[position] != ")":
                raise InvalidFieldsError(text)
            position += 1
        *parents, leaf = match.group().split(".")
        node = tree
        for name in parents:
            existing = node.get(name)
            node[name] = existing = existing if existing is not None else {}
            node = existing
        node[leaf] = subtree
        if position < len(text) and text[position] == ",":
            position += 1
            continue
        return tree, position
