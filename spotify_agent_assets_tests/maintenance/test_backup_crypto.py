"""Sealed blobs: round trips, and every kind of damage is refused rather than decrypted."""

from __future__ import annotations

import base64
import io
import os
import struct

import pytest

from spotify_agent_assets.maintenance import backup_crypto
from spotify_agent_assets.maintenance.backup_crypto import (
    CHUNK_BYTES,
    MAGIC,
    BackupKeyError,
    SealedBlobError,
    blob_id,
    key_id,
    open_bytes,
    open_chunks,
    parse_backup_key,
    seal_bytes,
)
from spotify_agent_assets_tests.maintenance.backup_data import KEY, OTHER_KEY

BLOB = blob_id(KEY, "0" * 64)
HEADER = len(MAGIC) + backup_crypto.KEY_ID_BYTES


def frames(sealed: bytes) -> list[bytes]:
    """The frames of a sealed blob, each with its length prefix."""
    found, position = [], HEADER
    while position < len(sealed):
        (size,) = struct.unpack(">I", sealed[position : position + 4])
        end = position + 4 + backup_crypto.NONCE_BYTES + size
        found.append(sealed[position:end])
        position = end
    return found


@pytest.mark.parametrize("size", [0, 1, 1000, CHUNK_BYTES, 2 * CHUNK_BYTES + 17])
def test_round_trip_any_size(size: int) -> None:
    plaintext = os.urandom(size // 2) + bytes(size - size // 2)
    sealed = seal_bytes(plaintext, KEY, BLOB)
    assert open_bytes(sealed, KEY, BLOB) == plaintext
    if size >= 1000:
        assert plaintext[:64] not in sealed


def test_compresses_before_encrypting() -> None:
    plaintext = b"listener,track\n" * 100_000
    assert len(seal_bytes(plaintext, KEY, BLOB)) < len(plaintext) / 20


def test_streamed_open_yields_chunks() -> None:
    plaintext = os.urandom(2 * CHUNK_BYTES + 5)
    sealed = seal_bytes(plaintext, KEY, BLOB)
    chunks = list(open_chunks(io.BytesIO(sealed), KEY, BLOB))
    assert [len(c) for c in chunks] == [CHUNK_BYTES, CHUNK_BYTES, 5]


def test_wrong_key_is_named() -> None:
    sealed = seal_bytes(b"data", KEY, BLOB)
    with pytest.raises(SealedBlobError, match="wrong SPOTIFY_AGENT_BACKUP_KEY"):
        open_bytes(sealed, OTHER_KEY, BLOB)


def test_flipped_byte_fails_authentication() -> None:
    sealed = bytearray(seal_bytes(os.urandom(5000), KEY, BLOB))
    sealed[len(sealed) // 2] ^= 0x01
    with pytest.raises(SealedBlobError, match="fails authentication"):
        open_bytes(bytes(sealed), KEY, BLOB)


def test_truncation_after_a_whole_chunk_is_detected() -> None:
    sealed = seal_bytes(os.urandom(2 * CHUNK_BYTES + 1), KEY, BLOB)
    parts = frames(sealed)
    assert len(parts) == 3
    cut = sealed[:HEADER] + parts[0] + parts[1]  # every remaining frame authenticates
    with pytest.raises(SealedBlobError, match="truncated"):
        open_bytes(cut, KEY, BLOB)


def test_reordered_chunks_are_detected() -> None:
    sealed = seal_bytes(os.urandom(2 * CHUNK_BYTES + 1), KEY, BLOB)
    first, second, last = frames(sealed)
    with pytest.raises(SealedBlobError, match="chunk 0 fails authentication"):
        open_bytes(sealed[:HEADER] + second + first + last, KEY, BLOB)


def test_a_blob_cannot_pass_for_another() -> None:
    sealed = seal_bytes(b"the real content", KEY, BLOB)
    with pytest.raises(SealedBlobError, match="fails authentication"):
        open_bytes(sealed, KEY, blob_id(KEY, "1" * 64))


def test_trailing_data_is_refused() -> None:
    sealed = seal_bytes(b"data", KEY, BLOB)
    with pytest.raises(SealedBlobError, match="after its last chunk"):
        open_bytes(sealed + b"x", KEY, BLOB)


def test_blob_ids_hide_the_checksum_and_depend_on_the_key() -> None:
    digest = "ab" * 32
    assert blob_id(KEY, digest) == blob_id(KEY, digest)
    assert blob_id(KEY, digest) != blob_id(OTHER_KEY, digest)
    assert digest not in blob_id(KEY, digest)
    assert key_id(KEY) != key_id(OTHER_KEY) and KEY.hex()[:16] not in key_id(KEY)


def test_key_accepts_hex_and_base64() -> None:
    assert parse_backup_key(KEY.hex()) == KEY
    assert parse_backup_key(base64.b64encode(KEY).decode()) == KEY
    assert parse_backup_key(base64.urlsafe_b64encode(KEY).decode().rstrip("=")) == KEY


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "SPOTIFY_AGENT_BACKUP_KEY is not set"),
        ("  ", "SPOTIFY_AGENT_BACKUP_KEY is not set"),
        ("ab" * 16, "must be 32 bytes as 64 hex digits or base64; got 24 bytes"),
        (base64.b64encode(bytes(16)).decode(), "got 16 bytes"),
        ("not a key!", "neither hex nor base64"),
    ],
)
def test_bad_keys_are_refused_clearly(text: str | None, message: str) -> None:
    with pytest.raises(BackupKeyError, match=message):
        parse_backup_key(text)
