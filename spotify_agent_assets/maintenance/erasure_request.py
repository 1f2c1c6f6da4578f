"""An erasure request: raw listener ids read from a file, checked, and hashed at once.

Raw ids never travel as run config (Dagster keeps run config in its run storage and shows it
in the UI): the job's config names a request file, a JSON object ``{"listener_ids": [...]}``
written by the operator, which the job deletes once the erasure is verified. What a listener
id may look like follows the landing zone: any non-blank text is a listener to ingestion
(``streams.validation``), real ids are Spotify usernames (``31qapnisqbbvw7fwwjmre2nraw6o``,
``lucia_lucia95``) and extended-history exports name a folder after them. So an id here is 1
to ``MAX_LISTENER_ID_CHARS`` characters with no white space, no control character and no path
separator. Errors name the entry by its position, never by its value.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from spotify_agent_assets.streams.erased_listeners import ledger_digest
from spotify_agent_assets.streams.pseudonymize import PseudonymKey, pseudonymize_one

MAX_LISTENER_ID_CHARS = 128
MAX_REQUEST_IDS = 10_000
REQUEST_FIELD = "listener_ids"


class ErasureRequestError(ValueError):
    """The request file, or one of its entries, is not a valid erasure request."""


@dataclass(frozen=True)
class ErasureRequest:
    """The listeners to erase. ``raw_ids`` stay in memory only and never reach a repr."""

    raw_ids: tuple[str, ...]
    pseudonyms: tuple[str, ...]

    @property
    def digests(self) -> tuple[str, ...]:
        """The ledger digests, in request order."""
        return tuple(ledger_digest(p) for p in self.pseudonyms)

    @property
    def erasure_id(self) -> str:
        """Stable for the same set of listeners, so a re-run resumes the same journal."""
        joined = "\n".join(sorted(set(self.digests)))
        return hashlib.sha256(joined.encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"ErasureRequest({len(self.raw_ids)} listener(s), id={self.erasure_id})"

    __str__ = __repr__


def listener_id_problem(value: object) -> str | None:
    """Why ``value`` cannot be a listener id (the message never quotes it), or None."""
    if not isinstance(value, str):
        return f"is a {type(value).__name__}, expected a string"
    if not value:
        return "is empty"
    if not value.strip():
        return "is only white space"
    if len(value) > MAX_LISTENER_ID_CHARS:
        return f"has {len(value)} characters, at most {MAX_LISTENER_ID_CHARS} expected"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") for c in value):
        return "contains a control or unassigned character"
    if any(c.isspace() for c in value):
        return "contains white space"
    if "/" in value or "\\" in value:
        return "contains a path separator"
    return None


def validate_listener_ids(entries: object) -> list[str]:
    """``entries`` as a list of listener ids, or ``ErasureRequestError`` naming the first
    wrong entry by position (1-based)."""
    if not isinstance(entries, list) or not entries:
        raise ErasureRequestError(
            f"'{REQUEST_FIELD}' must be a non-empty list of listener ids (strings)"
        )
    if len(entries) > MAX_REQUEST_IDS:
        raise ErasureRequestError(
            f"'{REQUEST_FIELD}' has {len(entries)} entries, at most {MAX_REQUEST_IDS} expected"
        )
    seen: dict[str, int] = {}
    for position, value in enumerate(entries, start=1):
        problem = listener_id_problem(value)
        if problem is not None:
            raise ErasureRequestError(
                f"entry {position} of '{REQUEST_FIELD}' {problem}; a listener id is 1 to "
                f"{MAX_LISTENER_ID_CHARS} characters without white space, control characters "
                "or path separators"
            )
        if value in seen:
            raise ErasureRequestError(
                f"entry {position} of '{REQUEST_FIELD}' repeats entry {seen[value]}"
            )
        seen[value] = position
    return list(entries)


def read_request_file(path: str | Path) -> list[str]:
    """The listener ids of a request file (``{"listener_ids": [...]}``, UTF-8 JSON)."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ErasureRequestError(f"erasure request file {path} does not exist") from None
    except UnicodeDecodeError:
        raise ErasureRequestError(f"erasure request file {path} is not UTF-8 text") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        # The position only: the message of a decode error may quote the id being typed.
        raise ErasureRequestError(
            f"erasure request file {path} is not JSON (line {error.lineno}, column "
            f'{error.colno}); expected {{"{REQUEST_FIELD}": ["<id>", ...]}}'
        ) from None
    if not isinstance(document, dict) or set(document) != {REQUEST_FIELD}:
        raise ErasureRequestError(
            f"erasure request file {path} must be a JSON object with exactly one key, "
            f"'{REQUEST_FIELD}'"
        )
    try:
        return validate_listener_ids(document[REQUEST_FIELD])
    except ErasureRequestError as error:
        raise ErasureRequestError(f"erasure request file {path}: {error}") from None


def load_request(path: str | Path, key: PseudonymKey) -> ErasureRequest:
    """Read, validate and hash the request in ``path`` (the file is left in place)."""
    raw_ids = read_request_file(path)
    return ErasureRequest(
        raw_ids=tuple(raw_ids), pseudonyms=tuple(pseudonymize_one(i, key) for i in raw_ids)
    )
