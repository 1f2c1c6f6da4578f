"""Listener pseudonyms: keyed, deterministic, key handled as a secret and never rotated."""

from __future__ import annotations

import base64
import hashlib
import hmac
import stat
from pathlib import Path

import pyarrow as pa
import pytest

from spotify_agent_assets.streams.pseudonymize import (
    KEY_ENV_VAR,
    PseudonymKey,
    PseudonymKeyError,
    load_pseudonym_key,
    pseudonymize,
    pseudonymize_one,
)

SECRET = bytes(range(32))


def test_pseudonym_is_hex_hmac_sha256_and_repeats_per_id() -> None:
    key = PseudonymKey(SECRET)
    out = pseudonymize(pa.array(["alice", "bob", None, "alice"]), key).to_pylist()
    expected = hmac.new(SECRET, b"alice", hashlib.sha256).hexdigest()
    assert out[0] == out[3] == expected
    assert out[1] != out[0]
    assert out[2] is None
    assert pseudonymize_one("alice", key) == expected


def test_different_keys_give_different_pseudonyms() -> None:
    ids = pa.array(["alice", "bob"])
    one = pseudonymize(ids, PseudonymKey(SECRET)).to_pylist()
    two = pseudonymize(ids, PseudonymKey(bytes(reversed(SECRET)))).to_pylist()
    assert set(one).isdisjoint(two)


def test_chunked_input_and_cache_give_the_same_result() -> None:
    key = PseudonymKey(SECRET)
    chunked = pa.chunked_array([["a", "b"], ["b", "c"]])
    cache: dict[str, str] = {}
    first = pseudonymize(chunked, key, cache=cache).to_pylist()
    assert first == pseudonymize(pa.array(["a", "b", "b", "c"]), key).to_pylist()
    assert pseudonymize(chunked, key, cache=cache).to_pylist() == first
    assert set(cache) == {"a", "b", "c"}


def test_key_is_never_shown() -> None:
    key = PseudonymKey(SECRET)
    shown = f"{key!r} {key} {key.fingerprint}"
    assert SECRET.hex() not in shown
    assert base64.b64encode(SECRET).decode() not in shown
    assert "fingerprint" in repr(key)


def test_key_from_environment_hex_or_base64(tmp_path: Path) -> None:
    from_hex = load_pseudonym_key(tmp_path, {KEY_ENV_VAR: SECRET.hex()})
    from_b64 = load_pseudonym_key(tmp_path, {KEY_ENV_VAR: base64.b64encode(SECRET).decode()})
    assert from_hex == from_b64 == PseudonymKey(SECRET)
    assert from_hex.source == "env"
    assert not (tmp_path / "secrets").exists()  # an env key never creates a key file


@pytest.mark.parametrize("value", ["abcd", base64.b64encode(b"x" * 31).decode(), "not a key!"])
def test_short_or_malformed_env_key_is_an_error_naming_the_variable(
    tmp_path: Path, value: str
) -> None:
    with pytest.raises(PseudonymKeyError) as info:
        load_pseudonym_key(tmp_path, {KEY_ENV_VAR: value})
    assert KEY_ENV_VAR in str(info.value)
    assert value not in str(info.value)


def test_key_file_is_created_once_private_and_reused(tmp_path: Path) -> None:
    first = load_pseudonym_key(tmp_path, {})
    path = tmp_path / "secrets" / "pseudonym.key"
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(bytes.fromhex(path.read_text().strip())) == 32
    content = path.read_text()
    second = load_pseudonym_key(tmp_path, {})
    assert second == first
    assert second.source == "file"
    assert path.read_text() == content
    assert [p.name for p in path.parent.iterdir()] == ["pseudonym.key"]  # no temp files left


def test_a_damaged_key_file_is_an_error_not_a_silent_rotation(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "pseudonym.key"
    path.parent.mkdir()
    path.write_text("abcd\n")
    with pytest.raises(PseudonymKeyError, match="key file"):
        load_pseudonym_key(tmp_path, {})
    assert path.read_text() == "abcd\n"
