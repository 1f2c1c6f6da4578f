"""What `docker compose config` checks, without an engine: interpolation and the file's shape.

``interpolate`` resolves ``${VAR}`` references the way Compose does (``$$`` escapes, ``:-``/``-``
defaults, ``:?``/``?`` required, ``:+``/``+`` alternatives). ``COMPOSE_SCHEMA`` is the part of
the Compose specification this project's compose.yaml uses, written here from the
specification's text (no schema is downloaded): every key outside it fails validation, as an
unknown key fails ``docker compose config``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# ${NAME}, ${NAME<op><word>} or $NAME; "$$" is a literal dollar sign.
_REFERENCE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<word>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class InterpolationError(ValueError):
    """A required variable is unset, or a ``$`` starts no valid reference."""


def referenced_variables(text: str) -> set[str]:
    """Every variable name ``text`` refers to (``$$`` escapes excluded)."""
    names = set()
    for match in _REFERENCE.finditer(text):
        name = match.group("braced") or match.group("bare")
        if name:
            names.add(name)
            names |= referenced_variables(match.group("word") or "")
    return names


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """``value`` (a loaded YAML document) with every string's references resolved from ``env``."""
    if isinstance(value, str):
        return _interpolate_text(value, env)
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    return value


def _interpolate_text(text: str, env: Mapping[str, str]) -> str:
    out, position = [], 0
    for match in _REFERENCE.finditer(text):
        out.append(_literal(text, text[position : match.start()]))
        position = match.end()
        if match.group("escaped"):
            out.append("$")
            continue
        name = match.group("braced") or match.group("bare")
        op, word = match.group("op"), _interpolate_text(match.group("word") or "", env)
        value = env.get(name)
        # With a colon, an empty value counts as unset (Compose's rule, as in the shell).
        unset = value is None or (op is not None and op.startswith(":") and value == "")
        if op in (":-", "-"):
            out.append(word if unset else value)
        elif op in (":?", "?"):
            if unset:
                raise InterpolationError(f"required variable {name} is missing a value: {word}")
            out.append(value)
        elif op in (":+", "+"):
            out.append("" if unset else word)
        else:
            out.append(value or "")
    out.append(_literal(text, text[position:]))
    return "".join(out)


def _literal(text: str, segment: str) -> str:
    """A stretch between references; a ``$`` in it starts no valid reference."""
    if "$" in segment:
        raise InterpolationError(f"invalid reference in {text!r}: a lone '$' (write '$$')")
    return segment


_STRING_LIST = {"type": "array", "items": {"type": "string"}}
_COMMAND = {"oneOf": [{"type": "string"}, _STRING_LIST]}
_DURATION = {"type": "string", "pattern": r"^([0-9]+(\.[0-9]+)?(us|ms|s|m|h))+$"}
_ENVIRONMENT = {
    "oneOf": [
        {
            "type": "object",
            "patternProperties": {
                "^[A-Za-z_][A-Za-z0-9_]*$": {"type": ["string", "number", "boolean", "null"]}
            },
            "additionalProperties": False,
        },
        {
            "type": "array",
            "items": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*(=.*)?$"},
        },
    ]
}
_HEALTHCHECK = {
    "type": "object",
    "properties": {
        "test": {
            "oneOf": [
                {"type": "string"},
                {
                    "type": "array",
                    "minItems": 1,
                    "items": {"type": "string"},
                    "prefixItems": [{"enum": ["CMD", "CMD-SHELL", "NONE"]}],
                },
            ]
        },
        "interval": _DURATION,
        "timeout": _DURATION,
        "retries": {"type": "integer", "minimum": 0},
        "start_period": _DURATION,
        "start_interval": _DURATION,
        "disable": {"type": "boolean"},
    },
    "required": ["test"],
    "additionalProperties": False,
}
_DEPENDS_ON = {
    "oneOf": [
        _STRING_LIST,
        {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "condition": {
                        "enum": [
                            "service_started",
                            "service_healthy",
                            "service_completed_successfully",
                        ]
                    },
                    "restart": {"type": "boolean"},
                    "required": {"type": "boolean"},
                },
                "required": ["condition"],
                "additionalProperties": False,
            },
        },
    ]
}
_BUILD = {
    "oneOf": [
        {"type": "string"},
        {
            "type": "object",
            "properties": {
                "context": {"type": "string"},
                "dockerfile": {"type": "string"},
                "args": {
                    "type": "object",
                    "additionalProperties": {"type": ["string", "number", "null"]},
                },
                "target": {"type": "string"},
            },
            "additionalProperties": False,
        },
    ]
}
_SERVICE = {
    "type": "object",
    "properties": {
        "image": {"type": "string"},
        "build": _BUILD,
        "pull_policy": {"enum": ["always", "never", "missing", "if_not_present", "build"]},
        "command": _COMMAND,
        "entrypoint": _COMMAND,
        "environment": _ENVIRONMENT,
        "env_file": {"oneOf": [{"type": "string"}, _STRING_LIST]},
        "volumes": {"type": "array", "items": {"type": "string"}},
        "ports": {"type": "array", "items": {"type": "string"}},
        "networks": _STRING_LIST,
        "depends_on": _DEPENDS_ON,
        "healthcheck": _HEALTHCHECK,
        "restart": {"enum": ["no", "always", "on-failure", "unless-stopped"]},
        "init": {"type": "boolean"},
        "user": {"type": "string"},
        "working_dir": {"type": "string"},
        "read_only": {"type": "boolean"},
    },
    "anyOf": [{"required": ["image"]}, {"required": ["build"]}],
    "additionalProperties": False,
}
_NAMED = {
    "type": "object",
    "patternProperties": {"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$": {"type": ["object", "null"]}},
    "additionalProperties": False,
}
COMPOSE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$"},
        "services": {
            "type": "object",
            "minProperties": 1,
            "patternProperties": {"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$": _SERVICE},
            "additionalProperties": False,
        },
        "networks": _NAMED,
        "volumes": _NAMED,
    },
    "patternProperties": {"^x-": {}},
    "required": ["services"],
    "additionalProperties": False,
}


def schema_errors(document: Mapping[str, Any]) -> list[str]:
    """Where ``document`` (interpolated) breaks ``COMPOSE_SCHEMA``, one line per error."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(COMPOSE_SCHEMA)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
        for error in validator.iter_errors(document)
    ]
