"""Which landing files hold events of which days.

A ``stream_events`` partition is rebuilt from every landing file that touches its day, so the
partition is a pure function of the landing zone: re-running it changes nothing, and a late
file simply joins the files of its day. Finding those files means knowing each file's days,
which for text files means parsing their timestamps; the index remembers the answer per file
version (size and modification time) so each file is parsed for that once. It also remembers
each version's ``content_id`` (a SHA-256 of the bytes), which is what a stored partition
records of its sources (``streams.provenance``): a file touched or copied without changing
its content is not new data.

The index is a cache, never a source of truth: a missing or stale entry is recomputed, so it
can live on local disk even when the landing zone is in object storage.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import posixpath
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from spotify_agent_assets.streams.event_days import JSON_SUFFIXES, utc_stamp_days
from spotify_agent_assets.streams.ingest import affected_days

if TYPE_CHECKING:
    from pyarrow.fs import FileSystem

    from spotify_agent_assets.lake.s3 import S3Settings

INDEX_VERSION = 2
# Read size for hashing a file: large enough for object storage, small enough to stream.
HASH_CHUNK_BYTES = 8 << 20
# Daily producer files live under ``<streams>/<YYYY-MM-DD>/``; that date is a file's home when
# it holds no valid timestamp at all (so its quarantined rows still land somewhere).
_DIR_DATE = re.compile(r"(?:^|/)(\d{4}-\d{2}-\d{2})/")


@dataclass(frozen=True, order=True)
class LandingFile:
    """One file version in the landing zone."""

    path: str
    size: int
    mtime_ns: int

    @property
    def version(self) -> str:
        return f"{self.size}:{self.mtime_ns}"


@dataclass(frozen=True)
class IndexedFile:
    """A landing file with the UTC days of its events, the day its rejects are filed under,
    and the identity of its content."""

    file: LandingFile
    days: tuple[dt.date, ...]
    home_day: dt.date
    content_id: str

    def touches(self, days: set[dt.date]) -> bool:
        return self.home_day in days or not days.isdisjoint(self.days)


def is_hidden(relative_path: str) -> bool:
    """Producers write ``.name.tmp`` and rename when done; ``_``-prefixed names are markers
    (``_SUCCESS``). Neither is data, in any path component."""
    return any(part.startswith((".", "_")) for part in relative_path.split("/") if part)


def landing_filesystem(root: str, s3: S3Settings | None = None) -> FileSystem:
    """The landing zone (local path or ``s3://`` URI) as a filesystem rooted at the zone, so
    paths are relative (``2026-10-03/app-20261003-0.jsonl``) in the index, in lineage
    columns and in messages, wherever the zone lives."""
    from pyarrow import fs as pafs

    from spotify_agent_assets.lake.s3 import S3Settings, arrow_filesystem, split_s3_url

    if root.startswith("s3://"):
        bucket, prefix = split_s3_url(root)
        fs = arrow_filesystem(s3 or S3Settings.from_env())
        return pafs.SubTreeFileSystem(f"{bucket}/{prefix}".rstrip("/"), fs)
    return pafs.SubTreeFileSystem(str(Path(root).expanduser().resolve()), pafs.LocalFileSystem())


class LandingPathError(ValueError):
    """A landing-zone entry resolves outside the zone (a symlink pointing out of it)."""


def list_landing_files(filesystem: FileSystem) -> list[LandingFile]:
    """Every data file in the zone, by relative path, sorted.

    A zone that does not exist yet is empty, not an error: producers create it. On local disk,
    a file that resolves outside the zone (through a symlink) fails the listing: Arrow follows
    links, and whoever may drop files in the zone must not make ingestion read (and quarantine)
    files elsewhere on this machine.
    """
    from pyarrow import fs as pafs

    try:
        entries = filesystem.get_file_info(pafs.FileSelector("", recursive=True))
    except FileNotFoundError:
        return []
    local_root = _local_zone_root(filesystem)
    found: list[LandingFile] = []
    for entry in entries:
        if entry.type != pafs.FileType.File:
            continue
        relative = entry.path.lstrip("/")
        if is_hidden(relative):
            continue
        if local_root is not None:
            _require_inside(local_root, relative)
        mtime_ns = entry.mtime_ns if entry.mtime_ns is not None else 0
        found.append(LandingFile(relative, int(entry.size or 0), int(mtime_ns)))
    return sorted(found)


def _local_zone_root(filesystem: FileSystem) -> Path | None:
    """The real directory of a local zone (``landing_filesystem``'s form); None for S3."""
    from pyarrow import fs as pafs

    if isinstance(filesystem, pafs.SubTreeFileSystem) and isinstance(
        filesystem.base_fs, pafs.LocalFileSystem
    ):
        return Path(os.path.realpath(filesystem.base_path))
    return None


def _require_inside(root: Path, relative: str) -> None:
    real = Path(os.path.realpath(root / relative))
    if not real.is_relative_to(root):
        raise LandingPathError(
            f"landing file {relative!r} resolves to {str(real)!r}, outside the landing zone "
            f"{str(root)!r} (a symlink out of the zone); expected files inside the zone: "
            "replace the link with a copy of the file, or remove it"
        )


def home_day(file: LandingFile, days: Iterable[dt.date]) -> dt.date:
    """The earliest event day; else the ``YYYY-MM-DD/`` folder; else the day it arrived."""
    days = sorted(days)
    if days:
        return days[0]
    match = _DIR_DATE.search(file.path)
    if match:
        try:
            return dt.date.fromisoformat(match.group(1))
        except ValueError:
            pass
    return dt.datetime.fromtimestamp(file.mtime_ns / 1e9, dt.UTC).date()


def index_file(file: LandingFile, filesystem: FileSystem) -> IndexedFile:
    """Hash the file and find its days: from the bytes just hashed when it is JSON with UTC
    stamps (one read), else from its timestamps (Parquet statistics where they suffice). An
    unreadable file gets no days, only a home day, so the run for that day reports it."""
    identity, data = _read_content(file, filesystem)
    days_found = utc_stamp_days(data) if data is not None else None
    if days_found is None:
        days_found = affected_days([file.path], filesystem=filesystem)
    days = tuple(sorted(days_found))
    return IndexedFile(file, days, home_day(file, days), identity)


def content_id(file: LandingFile, filesystem: FileSystem) -> str:
    """SHA-256 of the file's bytes; for an extended streaming history export, plus the name
    of its listener folder, since that folder says whose plays they are (the same bytes in
    another listener's folder are another listener's history).

    A file that cannot be opened gets an id from its path and version, so it is never taken
    for content that was stored.
    """
    return _read_content(file, filesystem)[0]


def _read_content(file: LandingFile, filesystem: FileSystem) -> tuple[str, bytes | None]:
    """``content_id`` and, for a JSON file, its bytes (kept so its days can be read from them
    without a second read; a JSON landing file is tens of MB at most)."""
    from spotify_agent_assets.streams.raw_batch import UnreadableFileError
    from spotify_agent_assets.streams.readers import HEAD_BYTES, detect_format

    keep = file.path.lower().endswith(JSON_SUFFIXES)
    digest = hashlib.sha256()
    chunks: list[bytes] = []
    try:
        with filesystem.open_input_stream(file.path) as handle:
            while chunk := handle.read(HASH_CHUNK_BYTES):
                digest.update(chunk)
                if keep or not chunks:  # the first chunk holds the head for the format
                    chunks.append(chunk)
    except (OSError, ValueError):
        return f"unreadable:{file.path}:{file.version}", None
    head = chunks[0][:HEAD_BYTES] if chunks else b""
    try:
        extended = detect_format(file.path, head) == "extended_history"
    except UnreadableFileError:
        extended = False
    identity = digest.hexdigest()
    if extended:
        identity = f"{identity}:{posixpath.basename(posixpath.dirname(file.path))}"
    return identity, b"".join(chunks) if keep else None


class LandingIndex:
    """``IndexedFile`` per path, valid for one file version; persisted as JSON."""

    def __init__(self, entries: dict[str, IndexedFile] | None = None) -> None:
        self.entries: dict[str, IndexedFile] = dict(entries or {})

    @classmethod
    def load(cls, path: Path) -> LandingIndex:
        """The saved index; a missing or unreadable cache is an empty one (it is rebuilt)."""
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError):
            return cls()
        if not isinstance(raw, dict) or raw.get("version") != INDEX_VERSION:
            return cls()
        entries = {}
        for item in raw.get("files", []):
            try:
                file = LandingFile(item["path"], int(item["size"]), int(item["mtime_ns"]))
                days = tuple(dt.date.fromisoformat(d) for d in item["days"])
                home = dt.date.fromisoformat(item["home"])
                entries[file.path] = IndexedFile(file, days, home, str(item["content_id"]))
            except (KeyError, TypeError, ValueError):
                continue  # one damaged entry is just recomputed
        return cls(entries)

    def save(self, path: Path) -> None:
        """Write atomically, so a crash mid-write leaves the previous index."""
        files = [
            {
                "path": e.file.path,
                "size": e.file.size,
                "mtime_ns": e.file.mtime_ns,
                "days": [d.isoformat() for d in e.days],
                "home": e.home_day.isoformat(),
                "content_id": e.content_id,
            }
            for e in sorted(self.entries.values(), key=lambda e: e.file.path)
        ]
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump({"version": INDEX_VERSION, "files": files}, handle)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def refresh(self, files: Iterable[LandingFile], filesystem: FileSystem) -> list[IndexedFile]:
        """Bring the index in line with ``files`` (the current listing); returns the entries
        that were (re)computed. Files no longer listed are forgotten."""
        current = {f.path: f for f in files}
        for gone in set(self.entries) - set(current):
            del self.entries[gone]
        computed = []
        for path, file in sorted(current.items()):
            entry = self.entries.get(path)
            if entry is None or entry.file != file:
                entry = index_file(file, filesystem)
                self.entries[path] = entry
                computed.append(entry)
        return computed

    def files_by_day(self, days: Iterable[dt.date]) -> dict[dt.date, list[IndexedFile]]:
        """For each of ``days``, the files a rebuild of that day alone would read (path
        order); one pass over the index, however many days are asked for."""
        wanted = set(days)
        by_day: dict[dt.date, list[IndexedFile]] = {day: [] for day in wanted}
        for _, entry in sorted(self.entries.items()):
            for day in wanted.intersection((*entry.days, entry.home_day)):
                by_day[day].append(entry)
        return by_day

    def files_for(self, days: Iterable[dt.date]) -> list[IndexedFile]:
        """The files a rebuild of these days must read, in path order (the ingestion order,
        which decides which copy of a duplicated event is kept)."""
        wanted = set(days)
        return [e for _, e in sorted(self.entries.items()) if e.touches(wanted)]
