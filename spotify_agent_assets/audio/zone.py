"""The audio landing zone as a list of files that are safe to read.

A zone is a local directory or an ``s3://`` prefix. Paths are relative to the zone
(``artist/4uLU6hMCjMI75M1A2tKUQC.flac``) wherever it lives, so the catalogue, messages and
lineage read the same locally and in object storage.

Nothing outside the zone is ever read. Locally the zone is walked with ``os.scandir`` rather
than the pyarrow filesystem the stream zone uses, because pyarrow's local listing follows
symlinked directories wherever they point and silently drops broken links: the containment
rule has to see every link. The rules:

- a symlink to a file is read through its resolved target when that target is inside the
  zone's real path, and refused (``outside_zone``) otherwise;
- a symlink to a directory inside the zone is not followed (its files are listed at their
  real path; following it would list them twice); one pointing outside is refused;
- a broken link, a FIFO, a socket or a device is refused (a FIFO would block the reader);
- a path with an empty, ``.`` or ``..`` component is refused; S3 keys are free-form strings
  and can hold ``a/../b.wav``, and a caller can pass one to ``resolve_in_zone``.

Names starting with ``.`` or ``_`` are skipped in every path component, as in the stream zone:
producers write ``.name.tmp`` and rename when done, ``_``-prefixed names are markers
(``_SUCCESS``, ``_ground_truth.json``).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from spotify_agent_assets.streams.landing_index import is_hidden, landing_filesystem

if TYPE_CHECKING:
    from pyarrow.fs import FileSystem

    from spotify_agent_assets.lake.s3 import S3Settings

# Objects are copied into a spooled file for probing (libsndfile seeks a lot, and every read of
# an S3 file is a request); beyond this size the copy goes to a temporary file on disk.
SPOOL_MAX_BYTES = 64 * 1024 * 1024
COPY_CHUNK_BYTES = 1024 * 1024


class OutsideZoneError(ValueError):
    """A path that would leave the zone (``..``, absolute, or a symlink pointing out)."""


@dataclass(frozen=True, order=True)
class ZoneFile:
    """One regular file in the zone, as listed: relative path, size and modification time.

    ``source`` is where the bytes are read from: the resolved real path for a local zone
    (a symlink's checked target), the path inside the zone's filesystem for S3.
    """

    path: str
    size: int
    mtime_ns: int
    source: str = field(compare=False)


@dataclass(frozen=True)
class RefusedPath:
    """A zone entry that is not read at all, with why."""

    path: str
    code: str
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ZoneListing:
    files: tuple[ZoneFile, ...]
    refused: tuple[RefusedPath, ...]


class AudioZone(Protocol):
    root: str

    def list(self) -> ZoneListing: ...

    def open(self, file: ZoneFile) -> AbstractContextManager[BinaryIO]:
        """A seekable binary handle on the file's bytes."""


def check_relative_path(relative: str) -> str:
    """``relative`` as a clean ``a/b.wav`` path; raises ``OutsideZoneError`` for an absolute
    path or an empty, ``.`` or ``..`` component."""
    if not relative or relative.startswith("/") or "\\" in relative:
        raise OutsideZoneError(
            f"path escapes the zone: {relative!r} is not a relative path inside the zone "
            "(expected e.g. 'artist/<track_id>.wav')"
        )
    parts = relative.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            raise OutsideZoneError(
                f"path escapes the zone: {relative!r} has a {part or 'empty'!r} component; "
                "expected a plain relative path such as 'artist/<track_id>.wav'"
            )
    return relative


def resolve_in_zone(zone_real: Path, relative: str) -> Path:
    """The real path of ``relative`` inside a local zone whose real path is ``zone_real``.

    Raises ``OutsideZoneError`` when the path has ``..`` (or is absolute), or when it resolves,
    through symlinks, to anything outside ``zone_real``.
    """
    check_relative_path(relative)
    target = Path(os.path.realpath(zone_real / relative))
    if not _is_within(target, zone_real):
        raise OutsideZoneError(
            f"path escapes the zone: {relative!r} resolves to {str(target)!r}, "
            f"outside the zone {str(zone_real)!r}"
        )
    return target


def _is_within(path: Path, root: Path) -> bool:
    return os.path.commonpath([path, root]) == str(root)


def open_audio_zone(root: str, s3: S3Settings | None = None) -> AudioZone:
    """The zone at ``root``: a local directory or an ``s3://bucket/prefix``."""
    if root.startswith("s3://"):
        return ObjectStoreAudioZone(root, landing_filesystem(root, s3))
    return LocalAudioZone(root)


class LocalAudioZone:
    """A zone on local disk; see the module docstring for the symlink rules."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.real_root = Path(root).expanduser().resolve()
        if self.real_root.exists() and not self.real_root.is_dir():
            raise NotADirectoryError(
                f"audio landing zone {root!r} is a file; expected a directory of audio files"
            )

    def list(self) -> ZoneListing:
        """Every non-hidden file, sorted by path; a zone that does not exist yet is empty."""
        files: list[ZoneFile] = []
        refused: list[RefusedPath] = []
        if self.real_root.is_dir():
            self._walk(self.real_root, "", files, refused)
        return ZoneListing(tuple(sorted(files)), tuple(sorted(refused, key=lambda r: r.path)))

    def _walk(
        self, directory: Path, prefix: str, files: list[ZoneFile], refused: list[RefusedPath]
    ) -> None:
        try:
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda e: e.name)
        except PermissionError as error:
            if not prefix:
                raise  # the zone itself: nothing can be catalogued
            reason = f"unreadable directory: {error.strerror}"
            refused.append(RefusedPath(prefix.rstrip("/"), "unreadable", reason))
            return
        for entry in entries:
            if entry.name.startswith((".", "_")):
                continue
            relative = f"{prefix}{entry.name}"
            if entry.is_symlink():
                self._symlink(entry, relative, files, refused)
            elif entry.is_dir(follow_symlinks=False):
                self._walk(Path(entry.path), f"{relative}/", files, refused)
            else:
                self._regular(Path(entry.path), relative, files, refused)

    def _symlink(
        self,
        entry: os.DirEntry[str],
        relative: str,
        files: list[ZoneFile],
        refused: list[RefusedPath],
    ) -> None:
        link_target = os.readlink(entry.path)
        try:
            target = resolve_in_zone(self.real_root, relative)
        except OutsideZoneError:
            refused.append(
                RefusedPath(
                    relative,
                    "outside_zone",
                    f"path escapes the zone: symlink to {link_target!r} resolves to "
                    f"{os.path.realpath(entry.path)!r}, outside the zone {str(self.real_root)!r}",
                    {"symlink_target": link_target},
                )
            )
            return
        if not target.exists():
            refused.append(
                RefusedPath(
                    relative,
                    "broken_symlink",
                    f"broken symlink: its target {link_target!r} does not exist",
                    {"symlink_target": link_target},
                )
            )
        elif target.is_dir():
            return  # listed at its real path; see the module docstring
        else:
            self._regular(target, relative, files, refused, link_target)

    def _regular(
        self,
        real: Path,
        relative: str,
        files: list[ZoneFile],
        refused: list[RefusedPath],
        link_target: str | None = None,
    ) -> None:
        try:
            info = real.stat()
        except FileNotFoundError:
            return  # removed since the directory was read: no longer part of the zone
        details = {} if link_target is None else {"symlink_target": link_target}
        if not stat.S_ISREG(info.st_mode):
            refused.append(
                RefusedPath(
                    relative,
                    "not_a_file",
                    "not a regular file (a FIFO, socket or device); expected an audio file",
                    details,
                )
            )
            return
        files.append(ZoneFile(relative, info.st_size, info.st_mtime_ns, str(real)))

    @contextmanager
    def open(self, file: ZoneFile) -> Iterator[BinaryIO]:
        with open(file.source, "rb") as handle:
            yield handle


class ObjectStoreAudioZone:
    """A zone in object storage (or any pyarrow filesystem rooted at the zone): no symlinks,
    but keys are arbitrary strings, so ``..`` components are refused."""

    def __init__(self, root: str, filesystem: FileSystem) -> None:
        self.root = root
        self.filesystem = filesystem

    def list(self) -> ZoneListing:
        from pyarrow import fs as pafs

        try:
            infos = self.filesystem.get_file_info(pafs.FileSelector("", recursive=True))
        except FileNotFoundError:
            return ZoneListing((), ())
        files: list[ZoneFile] = []
        refused: list[RefusedPath] = []
        for info in infos:
            if info.type != pafs.FileType.File:
                continue
            relative = info.path.lstrip("/")
            # Before the hidden-name rule, which would take ``..`` for a hidden name.
            try:
                check_relative_path(relative)
            except OutsideZoneError as error:
                refused.append(RefusedPath(relative, "outside_zone", str(error)))
                continue
            if is_hidden(relative):
                continue
            mtime_ns = info.mtime_ns if info.mtime_ns is not None else 0
            files.append(ZoneFile(relative, int(info.size or 0), int(mtime_ns), relative))
        return ZoneListing(tuple(sorted(files)), tuple(sorted(refused, key=lambda r: r.path)))

    @contextmanager
    def open(self, file: ZoneFile) -> Iterator[BinaryIO]:
        with (
            tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_BYTES) as spool,
            self.filesystem.open_input_stream(file.source) as stream,
        ):
            while chunk := stream.read(COPY_CHUNK_BYTES):
                spool.write(chunk)
            spool.seek(0)
            yield spool  # type: ignore[misc]
