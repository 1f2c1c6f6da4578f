"""What one backup holds: every file with its checksum and size, and every table's row count.

A manifest is stored as one JSON document (``backup_document``): a small plaintext header (id,
time, kind, key id: nothing sensitive, so backups can be listed without the key) and the full
manifest sealed with the backup key. The sealed copy repeats the header, and reading one checks
that both agree, so a header edited in the store (a daily turned weekly, a date moved) is caught.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from spotify_agent_assets.maintenance.backup_crypto import open_bytes, seal_bytes

BackupKind = Literal["daily", "weekly"]
KINDS: tuple[BackupKind, ...] = ("daily", "weekly")
FORMAT_VERSION = 1


class ManifestError(ValueError):
    """A manifest document is malformed or its header disagrees with its sealed body."""


@dataclass(frozen=True)
class ManifestFile:
    """One backed-up file: ``path`` relative to the restore root (``lake/...``)."""

    path: str
    sha256: str
    size: int
    blob: str
    stored_bytes: int
    """Size of the sealed (compressed, encrypted) blob in the store."""
    mode: int | None = None
    """Permission bits of a local source (the pseudonym key is 0600); None from object storage."""


@dataclass(frozen=True)
class Manifest:
    backup_id: str
    created_at: dt.datetime
    kind: BackupKind
    code_version: str
    files: tuple[ManifestFile, ...]
    tables: dict[str, int]
    """Row counts: ``lake:<group>.<asset>`` from Parquet footers, ``warehouse:<schema>.<table>``
    from count(*) of the warehouse's stored tables."""
    notes: dict[str, str] = field(default_factory=dict)
    """What is deliberately not in the backup and why (a remote MLflow server, ...)."""

    def header(self, key_id: str) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "backup_id": self.backup_id,
            "created_at": self.created_at.isoformat(),
            "kind": self.kind,
            "key_id": key_id,
        }

    def file(self, path: str) -> ManifestFile:
        for entry in self.files:
            if entry.path == path:
                return entry
        raise KeyError(path)


def manifest_blob_name(backup_id: str) -> str:
    """The associated-data name of a sealed manifest (binds it to its backup id)."""
    return f"manifest:{backup_id}"


def backup_document(manifest: Manifest, key: bytes, key_id: str) -> bytes:
    body = json.dumps(_to_json(manifest), sort_keys=True).encode()
    sealed = seal_bytes(body, key, manifest_blob_name(manifest.backup_id))
    document = {**manifest.header(key_id), "sealed": base64.b64encode(sealed).decode()}
    return json.dumps(document, indent=1).encode()


def read_header(document: bytes, where: str) -> dict[str, Any]:
    """The plaintext header of a backup document (no key needed); ``where`` names it in errors."""
    try:
        header = json.loads(document)
        if header.get("format") != FORMAT_VERSION:
            raise ManifestError(
                f"{where}: format {header.get('format')!r}, expected {FORMAT_VERSION}"
            )
        dt.datetime.fromisoformat(header["created_at"])
        if header["kind"] not in KINDS:
            raise ManifestError(f"{where}: kind {header['kind']!r}, expected one of {KINDS}")
        str(header["backup_id"])
        str(header["sealed"])
    except (ValueError, KeyError, TypeError) as error:
        if isinstance(error, ManifestError):
            raise
        raise ManifestError(f"{where} is not a backup manifest document: {error}") from None
    return header


def open_document(document: bytes, key: bytes, where: str) -> Manifest:
    """The manifest sealed in ``document``; raises if it does not decrypt or disagrees."""
    header = read_header(document, where)
    sealed = base64.b64decode(header["sealed"])
    body = open_bytes(sealed, key, manifest_blob_name(header["backup_id"]))
    manifest = _from_json(json.loads(body))
    expected = {k: v for k, v in header.items() if k not in ("sealed", "key_id")}
    actual = {k: v for k, v in manifest.header(header["key_id"]).items() if k != "key_id"}
    if expected != actual:
        raise ManifestError(f"{where}: the plaintext header disagrees with the sealed manifest")
    return manifest


def _to_json(manifest: Manifest) -> dict[str, Any]:
    data = asdict(manifest)
    data["created_at"] = manifest.created_at.isoformat()
    return data


def _from_json(data: dict[str, Any]) -> Manifest:
    return Manifest(
        backup_id=data["backup_id"],
        created_at=dt.datetime.fromisoformat(data["created_at"]),
        kind=data["kind"],
        code_version=data["code_version"],
        files=tuple(ManifestFile(**entry) for entry in data["files"]),
        tables={str(k): int(v) for k, v in data["tables"].items()},
        notes=dict(data.get("notes", {})),
    )
