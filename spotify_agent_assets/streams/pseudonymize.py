"""Keyed pseudonyms for listener ids: hex HMAC-SHA256 under one long-lived secret key.

The key comes from ``SPOTIFY_AGENT_PSEUDONYM_KEY`` (hex or base64, at least 32 bytes) or, when
that is unset, from ``<data_dir>/secrets/pseudonym.key``, created once with 32 random bytes and
mode 0600. It is never rotated behind anyone's back: a changed key would give every listener a
new pseudonym, splitting their history and defeating GDPR erasure lookups, so an unreadable or
short key file is an error, not a reason to make a new one. The key never appears in reprs,
logs or error messages; ``fingerprint`` identifies it safely.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import stat
from collections.abc import Iterable, Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pyarrow as pa

KEY_ENV_VAR = "SPOTIFY_AGENT_PSEUDONYM_KEY"
KEY_FILE = Path("secrets") / "pseudonym.key"
MIN_KEY_BYTES = 32

log = logging.getLogger(__name__)


class PseudonymKeyError(ValueError):
    """The configured key is missing, malformed or too short (the message never holds it)."""


class PseudonymKey:
    """An HMAC key. Equality and hashing go by fingerprint; the secret stays private."""

    __slots__ = ("_secret", "source")

    def __init__(
        self, secret: bytes, source: Literal["env", "file", "explicit"] = "explicit"
    ) -> None:
        if len(secret) < MIN_KEY_BYTES:
            raise PseudonymKeyError(
                f"pseudonym key has {len(secret)} bytes, needs at least {MIN_KEY_BYTES}"
            )
        self._secret = bytes(secret)
        self.source = source

    @property
    def fingerprint(self) -> str:
        """A short, one-way id of the key, safe to log, to tell whether the key changed."""
        return hmac.new(self._secret, b"spotify-agent key fingerprint", hashlib.sha256).hexdigest()[
            :12
        ]

    def hex_digests(self, values: Iterable[str]) -> list[str]:
        """Hex HMAC-SHA256 of each value.

        HMAC is ``H((K ^ opad) || H((K ^ ipad) || m))``: the two keyed SHA-256 states are
        computed once and copied per value, where ``hmac.digest`` sets up both from the key
        every time (less than half the CPU for a run's 200k listeners, the same digests).
        """
        inner, outer = _keyed_states(self._secret)
        start_inner, start_outer = inner.copy, outer.copy
        digests = []
        for value in values:
            state = start_inner()
            state.update(value.encode("utf-8"))
            final = start_outer()
            final.update(state.digest())
            digests.append(final.hexdigest())
        return digests

    def __repr__(self) -> str:
        return f"PseudonymKey(source={self.source!r}, fingerprint={self.fingerprint!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PseudonymKey) and hmac.compare_digest(self._secret, other._secret)

    def __hash__(self) -> int:
        return hash(self.fingerprint)


def _keyed_states(secret: bytes) -> tuple[Any, Any]:
    """SHA-256 states after the HMAC inner and outer key blocks (RFC 2104)."""
    block = hashlib.sha256().block_size
    if len(secret) > block:
        secret = hashlib.sha256(secret).digest()
    secret = secret.ljust(block, b"\0")
    inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in secret))
    outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in secret))
    return inner, outer


def load_pseudonym_key(data_dir: str | Path, environ: Mapping[str, str]) -> PseudonymKey:
    """The key from ``environ[SPOTIFY_AGENT_PSEUDONYM_KEY]``, else the local key file.

    ``environ`` is passed in (not read from ``os.environ`` here) so the environment module
    stays the one place that reads ``SPOTIFY_AGENT_*`` variables.
    """
    value = environ.get(KEY_ENV_VAR, "").strip()
    if value:
        secret = _decode_key(value, where=f"environment variable {KEY_ENV_VAR}")
        return PseudonymKey(secret, source="env")
    return PseudonymKey(_load_or_create_key_file(Path(data_dir) / KEY_FILE), source="file")


def _decode_key(value: str, *, where: str) -> bytes:
    text = value.strip()
    secret: bytes | None = None
    if len(text) % 2 == 0 and all(c in "0123456789abcdefABCDEF" for c in text):
        secret = bytes.fromhex(text)
    else:
        for decoder in (base64.b64decode, base64.urlsafe_b64decode):
            try:
                secret = decoder(text + "=" * (-len(text) % 4), validate=True)
                break
            except (binascii.Error, ValueError, TypeError):
                continue
    if secret is None:
        raise PseudonymKeyError(f"{where} is neither hex nor base64")
    if len(secret) < MIN_KEY_BYTES:
        raise PseudonymKeyError(
            f"{where} decodes to {len(secret)} bytes; a pseudonym key needs at least "
            f"{MIN_KEY_BYTES} random bytes (e.g. `python -c 'import secrets; "
            f"print(secrets.token_hex(32))'`)"
        )
    return secret


def _load_or_create_key_file(path: Path) -> bytes:
    if not path.exists():
        _create_key_file(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning(
            "pseudonym key file %s is readable by others (mode %o); chmod 600 it", path, mode
        )
    return _decode_key(path.read_text(), where=f"key file {path}")


def _create_key_file(path: Path) -> None:
    """Write a fresh key aside and hard-link it into place: two processes racing to create it
    both end up using whichever key landed first, and nobody ever reads a half-written file."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(MIN_KEY_BYTES) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        # Another process may win the race; then its key is the key.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def pseudonymize_one(listener_id: str, key: PseudonymKey) -> str:
    """The pseudonym of one id (what GDPR erasure searches the tables for)."""
    return key.hex_digests([listener_id])[0]


def pseudonymize(
    ids: pa.Array | pa.ChunkedArray,
    key: PseudonymKey,
    *,
    cache: MutableMapping[str, str] | None = None,
) -> pa.Array:
    """Hex HMAC-SHA256 of every id (nulls stay null), as a string array of the same length.

    HMAC runs once per distinct id (listeners repeat a lot), then the digests are spread back
    by the dictionary indices. ``cache`` carries digests across calls, e.g. across the row
    groups of one ingestion run; it holds raw ids, so keep it in memory and short-lived.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks() if ids.num_chunks else pa.array([], pa.string())
    if not pa.types.is_string(ids.type):
        ids = pc.cast(ids, pa.string())
    encoded = pc.dictionary_encode(ids)
    uniques = encoded.dictionary.to_pylist()
    if cache is None:
        digests = key.hex_digests(uniques)
    else:
        missing = [value for value in uniques if value not in cache]
        cache.update(zip(missing, key.hex_digests(missing), strict=True))
        digests = [cache[value] for value in uniques]
    return pa.array(digests, pa.string()).take(encoded.indices)
