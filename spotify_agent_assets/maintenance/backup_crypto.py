"""Sealing backup files: zstd, then AES-256-GCM in chunks, with names that reveal nothing.

A sealed blob is ``MAGIC``, the key id, then frames of ``<u32 length><12-byte nonce><ciphertext
and tag>``. Each frame holds one zstd-compressed chunk of at most ``CHUNK_BYTES`` plaintext
bytes; its associated data binds the blob id, the chunk index and whether it is the last chunk,
so a blob cut short, chunks swapped between positions or between blobs, and any flipped byte all
fail authentication instead of decrypting to something else. Chunks keep memory flat for large
files (the warehouse). Nonces are random per chunk: 96 bits are safe for far more chunks than a
key will ever seal.

Blob ids are an HMAC of the plaintext's sha256 under the key, not the sha256 itself: a store
reader could otherwise confirm that a known file (a roster, a public model) is in the backup.
The same file under the same key always gets the same id, which is what makes backups
incremental.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    import pyarrow as pa
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"SABK1\n"
KEY_BYTES = 32
KEY_ID_BYTES = 8
NONCE_BYTES = 12
CHUNK_BYTES = 4 << 20
ZSTD_LEVEL = 3
_FRAME_HEADER = struct.Struct(">I")
# A frame's ciphertext is at most a compressed chunk plus the GCM tag; zstd may grow a chunk of
# random bytes slightly, never by this much.
_MAX_FRAME_BYTES = CHUNK_BYTES + (1 << 20)


class BackupKeyError(ValueError):
    """The backup key is missing or is not 32 bytes of hex or base64."""


class SealedBlobError(ValueError):
    """A sealed blob does not decrypt: wrong key, tampered, truncated or not a blob at all."""


def parse_backup_key(text: str | None, *, source: str = "SPOTIFY_AGENT_BACKUP_KEY") -> bytes:
    """32 key bytes from ``text`` (64 hex digits or base64); ``source`` names it in errors."""
    if not text or not text.strip():
        raise BackupKeyError(
            f"{source} is not set; backups are encrypted and need a 32-byte key as 64 hex digits "
            "or base64 (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)"
        )
    value = text.strip()
    key: bytes | None = None
    if len(value) == 2 * KEY_BYTES and all(c in "0123456789abcdefABCDEF" for c in value):
        key = bytes.fromhex(value)
    else:
        for altchars in (None, b"-_"):  # standard, then URL-safe
            try:
                padded = value + "=" * (-len(value) % 4)
                key = base64.b64decode(padded, altchars=altchars, validate=True)
                break
            except (binascii.Error, ValueError):
                continue
    if key is None or len(key) != KEY_BYTES:
        got = "neither hex nor base64" if key is None else f"{len(key)} bytes"
        raise BackupKeyError(
            f"{source} must be {KEY_BYTES} bytes as 64 hex digits or base64; got {got}"
        )
    return key


def key_id(key: bytes) -> str:
    """A short public name for ``key``: tells which key sealed a backup without revealing it."""
    return hmac.new(key, b"backup key id", hashlib.sha256).hexdigest()[: 2 * KEY_ID_BYTES]


def blob_id(key: bytes, plaintext_sha256: str) -> str:
    """The content-addressed name of a file's sealed copy under ``key``."""
    return hmac.new(key, b"blob:" + plaintext_sha256.encode(), hashlib.sha256).hexdigest()


def seal_chunks(chunks: Iterable[bytes], key: bytes, blob: str) -> Iterator[bytes]:
    """The sealed blob of the plaintext ``chunks`` (each at most ``CHUNK_BYTES``), piece by piece."""
    import pyarrow as pa
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    codec = pa.Codec("zstd", compression_level=ZSTD_LEVEL)
    cipher = AESGCM(key)
    yield MAGIC + bytes.fromhex(key_id(key))
    # One chunk of look-ahead: a frame is sealed as final only when no chunk follows it.
    index, pending = 0, None
    for chunk in chunks:
        if pending is not None:
            yield _frame(cipher, codec, pending, blob, index, final=False)
            index += 1
        pending = chunk
    yield _frame(cipher, codec, pending or b"", blob, index, final=True)


def seal_bytes(plaintext: bytes, key: bytes, blob: str) -> bytes:
    chunks = (plaintext[i : i + CHUNK_BYTES] for i in range(0, len(plaintext), CHUNK_BYTES))
    return b"".join(seal_chunks(chunks, key, blob))


def open_chunks(stream: BinaryIO, key: bytes, blob: str) -> Iterator[bytes]:
    """The plaintext of a sealed blob read from ``stream``, chunk by chunk; raises
    ``SealedBlobError`` on anything but the intact blob ``blob`` sealed with ``key``."""
    import pyarrow as pa
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    header = stream.read(len(MAGIC) + KEY_ID_BYTES)
    if header[: len(MAGIC)] != MAGIC:
        raise SealedBlobError(f"blob {blob} is not a sealed backup file")
    if header[len(MAGIC) :].hex() != key_id(key):
        raise SealedBlobError(
            f"blob {blob} was sealed with key {header[len(MAGIC) :].hex()}, not with the given "
            f"key {key_id(key)}: wrong SPOTIFY_AGENT_BACKUP_KEY"
        )
    codec = pa.Codec("zstd")
    cipher = AESGCM(key)
    index = 0
    while True:
        size_bytes = stream.read(_FRAME_HEADER.size)
        if len(size_bytes) < _FRAME_HEADER.size:
            raise SealedBlobError(f"blob {blob} is truncated: it ends before its last chunk")
        (size,) = _FRAME_HEADER.unpack(size_bytes)
        if size > _MAX_FRAME_BYTES:
            raise SealedBlobError(f"blob {blob} chunk {index} claims {size} bytes; corrupted")
        frame = stream.read(NONCE_BYTES + size)
        if len(frame) < NONCE_BYTES + size:
            raise SealedBlobError(f"blob {blob} is truncated inside chunk {index}")
        nonce, ciphertext = frame[:NONCE_BYTES], frame[NONCE_BYTES:]
        for final in (False, True):
            try:
                packed = cipher.decrypt(nonce, ciphertext, _associated(blob, index, final))
                break
            except InvalidTag:
                continue
        else:
            raise SealedBlobError(
                f"blob {blob} chunk {index} fails authentication: tampered or corrupted"
            )
        yield _decompress(codec, packed)
        if final:
            if stream.read(1):
                raise SealedBlobError(f"blob {blob} has data after its last chunk")
            return
        index += 1


def open_bytes(sealed: bytes, key: bytes, blob: str) -> bytes:
    import io

    return b"".join(open_chunks(io.BytesIO(sealed), key, blob))


def _frame(
    cipher: AESGCM, codec: pa.Codec, chunk: bytes, blob: str, index: int, final: bool
) -> bytes:
    # The plaintext length leads the packed chunk: zstd decompression needs the output size.
    packed = struct.pack(">I", len(chunk)) + codec.compress(chunk, asbytes=True)
    nonce = os.urandom(NONCE_BYTES)
    sealed = cipher.encrypt(nonce, packed, _associated(blob, index, final))
    return _FRAME_HEADER.pack(len(sealed)) + nonce + sealed


def _decompress(codec: pa.Codec, packed: bytes) -> bytes:
    (size,) = struct.unpack(">I", packed[:4])
    if size == 0:
        return b""
    return codec.decompress(packed[4:], decompressed_size=size, asbytes=True)


def _associated(blob: str, index: int, final: bool) -> bytes:
    return b"%s|%d|%d" % (blob.encode(), index, int(final))
