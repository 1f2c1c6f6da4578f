"""Where backups are kept: a local folder or an ``s3://bucket/prefix``, one layout for both::

    <root>/blobs/<first 2 hex>/<blob id>     sealed files, shared by every backup that has them
    <root>/manifests/<backup id>.json        one backup: plaintext header + sealed manifest
    <root>/verified/<backup id>.json         when a restore check last proved that backup

Nothing is ever visible half-written: a local file goes through ``lake.atomic_file`` (hidden temp,
fsync, rename), and on S3 an object is one PUT of bytes already complete in memory (a streamed
upload that fails half way would still be completed by closing the stream).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from spotify_agent_assets.lake.atomic_file import atomic_path
from spotify_agent_assets.lake.s3 import S3Settings, arrow_filesystem, split_s3_url

if TYPE_CHECKING:
    from pyarrow.fs import FileSystem

BLOBS = "blobs"
MANIFESTS = "manifests"
VERIFIED = "verified"
DOCUMENT_FOLDERS = (MANIFESTS, VERIFIED)
BLOB_PATTERN = re.compile(r"^[0-9a-f]{64}$")
BACKUP_ID_PATTERN = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")


class BackupStore:
    """Reads and writes blobs and backup documents under ``url``."""

    def __init__(self, url: str, s3: S3Settings | None = None) -> None:
        if url.startswith("s3://"):
            bucket, prefix = split_s3_url(url)
            self.url = f"s3://{bucket}/{prefix}".rstrip("/")
            self._root = f"{bucket}/{prefix}".rstrip("/")
            self.s3: S3Settings | None = s3 or S3Settings.from_env()
        elif "://" in url:
            raise ValueError(f"unsupported backup destination {url!r}: expected a folder or s3://")
        else:
            self.url = str(Path(url).expanduser().resolve())
            self._root = self.url
            self.s3 = None

    def __repr__(self) -> str:
        return f"BackupStore(url={self.url!r})"

    @property
    def filesystem(self) -> FileSystem:
        from pyarrow.fs import LocalFileSystem

        return arrow_filesystem(self.s3) if self.s3 is not None else LocalFileSystem()

    def blob_path(self, blob: str) -> str:
        if not BLOB_PATTERN.fullmatch(blob):
            raise ValueError(f"invalid blob id {blob!r}: expected 64 hex digits")
        return f"{self._root}/{BLOBS}/{blob[:2]}/{blob}"

    def blob_size(self, blob: str) -> int | None:
        """The stored size of ``blob``, or None when the store does not have it."""
        from pyarrow.fs import FileType

        info = self.filesystem.get_file_info(self.blob_path(blob))
        return info.size if info.type == FileType.File else None

    def put_blob(self, blob: str, pieces: Iterable[bytes]) -> int:
        """Store ``blob`` from its sealed ``pieces``; returns its size."""
        return self._put(self.blob_path(blob), pieces)

    @contextmanager
    def open_blob(self, blob: str) -> Iterator[BinaryIO]:
        path = self.blob_path(blob)
        if self.s3 is None:
            with open(path, "rb") as handle:
                yield handle
        else:
            with self.filesystem.open_input_stream(path) as handle:
                yield handle  # type: ignore[misc]

    def blobs(self) -> dict[str, dt.datetime]:
        """Every stored blob id with its modification time (UTC); temp files are not blobs."""
        from pyarrow.fs import FileSelector, FileType

        selector = FileSelector(f"{self._root}/{BLOBS}", recursive=True, allow_not_found=True)
        found = {}
        for info in self.filesystem.get_file_info(selector):
            if info.type == FileType.File and BLOB_PATTERN.fullmatch(info.base_name):
                mtime = info.mtime or dt.datetime.now(dt.UTC)
                found[info.base_name] = mtime.astimezone(dt.UTC)
        return found

    def delete_blob(self, blob: str) -> None:
        self.filesystem.delete_file(self.blob_path(blob))

    def put_document(self, folder: str, backup_id: str, data: bytes) -> None:
        self._put(self._document_path(folder, backup_id), [data])

    def read_document(self, folder: str, backup_id: str) -> bytes | None:
        path = self._document_path(folder, backup_id)
        try:
            with self.filesystem.open_input_stream(path) as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def document_ids(self, folder: str) -> list[str]:
        """Backup ids with a document in ``folder``, sorted (ids sort by creation time)."""
        from pyarrow.fs import FileSelector, FileType

        selector = FileSelector(f"{self._root}/{folder}", allow_not_found=True)
        return sorted(
            info.base_name.removesuffix(".json")
            for info in self.filesystem.get_file_info(selector)
            if info.type == FileType.File
            and BACKUP_ID_PATTERN.fullmatch(info.base_name.removesuffix(".json"))
            and info.base_name.endswith(".json")
        )

    def delete_document(self, folder: str, backup_id: str) -> None:
        with suppress(FileNotFoundError):
            self.filesystem.delete_file(self._document_path(folder, backup_id))

    def _document_path(self, folder: str, backup_id: str) -> str:
        if folder not in DOCUMENT_FOLDERS:
            raise ValueError(f"unknown backup document folder {folder!r}")
        if not BACKUP_ID_PATTERN.fullmatch(backup_id):
            raise ValueError(f"invalid backup id {backup_id!r}: expected YYYYMMDDTHHMMSSZ-xxxxxx")
        return f"{self._root}/{folder}/{backup_id}.json"

    def _put(self, path: str, pieces: Iterable[bytes]) -> int:
        if self.s3 is None:
            size = 0
            with atomic_path(path) as temp, open(temp, "wb") as out:
                for piece in pieces:
                    out.write(piece)
                    size += len(piece)
            return size
        data = b"".join(pieces)
        with self.filesystem.open_output_stream(path) as out:
            out.write(data)
        return len(data)
