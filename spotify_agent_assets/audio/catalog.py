"""The audio catalogue: every file of the audio landing zone, mapped to a Spotify track or
quarantined with the reason.

The zone is ``<data>/landing/audio/`` or an ``s3://`` prefix (``zone.py`` lists it and refuses
paths that leave it). Formats: wav, flac, ogg and mp3 (``probe.py`` proves each file decodes).

Naming convention (how a file says which track it is):

1. ``<zone>/<track_id>.<ext>``: the file stem is the 22-character base62 Spotify track id, e.g.
   ``4uLU6hMCjMI75M1A2tKUQC.flac``. Folders are free (``<zone>/<artist>/<track_id>.mp3``); only
   the stem counts. ``<ext>`` is ``wav``, ``flac``, ``ogg`` or ``mp3``, in any case.
2. Otherwise a sidecar beside the file, ``<same folder>/<same stem>.json``, names the track:
   ``{"track_id": "4uLU6hMCjMI75M1A2tKUQC"}``; a ``spotify:track:`` URI or an
   ``open.spotify.com/track/`` link is accepted too. Other keys are ignored. A sidecar beside a
   file whose stem is already an id must name the same track.
3. Names starting with ``.`` or ``_`` (in any path component) are not looked at: temporary
   files, markers, ``_ground_truth.json``.

Every other file ends in the quarantine with a reason (``code`` groups them): ``outside_zone``,
``broken_symlink``, ``not_a_file``, ``unsupported_extension``, ``orphan_sidecar``,
``unreadable``, ``empty``, ``not_audio``, ``unsupported_format``, ``corrupt``,
``zero_duration``, ``no_track_id``, ``bad_sidecar``, ``track_id_conflict``,
``duplicate_track``. One bad file never stops the rest of the scan.

Decisions:

- Several files for one track: the first in path order is catalogued, the others are
  quarantined as ``duplicate_track`` naming it (and saying when the bytes are identical). Only
  usable files compete, so a corrupt first copy does not hide a good second one.
- A file whose extension names another format (``.mp3`` holding WAV) is catalogued with the
  format of its content and a ``note``: decoders go by content, so the audio is usable, and
  the note keeps the producer's mistake visible.
- The catalogue is a snapshot: quarantined files are looked at again by every scan, so a file
  that gets its sidecar, or is re-delivered whole, joins the catalogue on the next one.

Incremental scans: ``scan_audio_zone(root, previous=entries)`` reuses the hash and probe of
every previous entry whose file has the same path, size and modification time, and reads
(hashes, probes) only new or changed files; track ids, sidecars and duplicates are worked out
again on every scan, since a sidecar can change without the audio changing. Downstream steps
key their work by ``content_hash``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from spotify_agent_assets.audio.probe import AudioProbe, UnusableAudioError, probe_audio
from spotify_agent_assets.audio.zone import AudioZone, ZoneFile, open_audio_zone
from spotify_agent_assets.spotify.ids import (
    InvalidSpotifyIdError,
    is_spotify_id,
    normalize_spotify_id,
)

if TYPE_CHECKING:
    from spotify_agent_assets.lake.s3 import S3Settings

AUDIO_EXTENSIONS: dict[str, str] = {".wav": "wav", ".flac": "flac", ".ogg": "ogg", ".mp3": "mp3"}
SIDECAR_SUFFIX = ".json"
SIDECAR_MAX_BYTES = 64 * 1024


@dataclass(frozen=True)
class CatalogEntry:
    """One usable audio file of the zone and the track it is.

    ``format`` is the content's (wav, flac, ogg, mp3), ``subtype`` libsndfile's codec name
    (``PCM_16``, ``VORBIS``, ``MPEG_LAYER_III``...), ``content_hash`` the SHA-256 hex digest of
    the bytes, ``mtime_ns`` the file's modification time as listed, ``track_id_source`` is
    ``name`` or ``sidecar``.
    """

    path: str
    track_id: str
    track_id_source: str
    format: str
    subtype: str
    content_hash: str
    size_bytes: int
    mtime_ns: int
    duration_s: float
    sample_rate: int
    channels: int
    frames: int
    note: str | None = None

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> CatalogEntry:
        """An entry from a stored catalogue row (extra columns are ignored)."""
        return cls(
            path=str(record["path"]),
            track_id=str(record["track_id"]),
            track_id_source=str(record["track_id_source"]),
            format=str(record["format"]),
            subtype=str(record["subtype"]),
            content_hash=str(record["content_hash"]),
            size_bytes=int(record["size_bytes"]),
            mtime_ns=int(record["mtime_ns"]),
            duration_s=float(record["duration_s"]),
            sample_rate=int(record["sample_rate"]),
            channels=int(record["channels"]),
            frames=int(record["frames"]),
            note=None if record.get("note") is None else str(record["note"]),
        )

    def probe(self) -> AudioProbe:
        return AudioProbe(
            content_hash=self.content_hash,
            size_bytes=self.size_bytes,
            format=self.format,
            subtype=self.subtype,
            sample_rate=self.sample_rate,
            channels=self.channels,
            frames=self.frames,
            duration_s=self.duration_s,
            note=self.note,
        )


@dataclass(frozen=True)
class QuarantinedFile:
    """A zone file that is not in the catalogue: ``code`` (see the module docstring), a
    ``reason`` that says what to fix, and what was detected (format, hash, symlink target...)."""

    path: str
    code: str
    reason: str
    size_bytes: int | None = None
    mtime_ns: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CatalogScan:
    """The catalogue (path order), the quarantine (path order) and the paths whose bytes this
    scan read; every other catalogued file was reused from the previous catalogue."""

    entries: tuple[CatalogEntry, ...]
    quarantined: tuple[QuarantinedFile, ...]
    probed: tuple[str, ...]

    @property
    def reused(self) -> int:
        probed = set(self.probed)
        return sum(1 for entry in self.entries if entry.path not in probed)


class TrackIdError(ValueError):
    """An audio file that names no track, or names one badly; ``code`` as in the quarantine."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def scan_audio_zone(
    root: str,
    *,
    s3: S3Settings | None = None,
    previous: Iterable[CatalogEntry] = (),
    full_decode: bool = False,
) -> CatalogScan:
    """Catalogue the zone at ``root`` (a directory or ``s3://bucket/prefix``).

    ``previous`` is the last catalogue: its entries for unchanged files (same path, size and
    mtime) are reused without reading the file. ``full_decode`` decodes every frame of the
    files read in this scan instead of the last ones (finds damage mid-stream; 3-20x slower,
    depending on format and sample rate). A zone that does not exist yet is empty.
    """
    return catalog_zone(open_audio_zone(root, s3), previous=previous, full_decode=full_decode)


def catalog_zone(
    zone: AudioZone, *, previous: Iterable[CatalogEntry] = (), full_decode: bool = False
) -> CatalogScan:
    """``scan_audio_zone`` for an opened zone."""
    listing = zone.list()
    quarantined = [
        QuarantinedFile(r.path, r.code, r.reason, details=dict(r.details)) for r in listing.refused
    ]
    audio: list[ZoneFile] = []
    sidecars: dict[str, ZoneFile] = {}
    stems_with_data: set[str] = set()
    for file in listing.files:
        suffix = PurePosixPath(file.path).suffix
        if suffix == SIDECAR_SUFFIX:
            sidecars[file.path] = file
            continue
        stems_with_data.add(_stem_path(file.path))
        if suffix.lower() in AUDIO_EXTENSIONS:
            audio.append(file)
        else:
            quarantined.append(_quarantine(file, "unsupported_extension", _bad_extension(file)))
    for path, sidecar in sidecars.items():
        if _stem_path(path) not in stems_with_data:
            reason = (
                "sidecar without an audio file: no "
                f"{PurePosixPath(_stem_path(path)).name}.wav, .flac, .ogg or .mp3 beside it"
            )
            quarantined.append(_quarantine(sidecar, "orphan_sidecar", reason))

    reusable = unchanged_entries(previous, audio)
    probed: list[str] = []
    usable: list[CatalogEntry] = []
    for file in audio:
        cached = reusable.get(file.path)
        if cached is not None:
            probe = cached.probe()
        else:
            try:
                probe = _probe_file(zone, file, full_decode)
            except FileNotFoundError:
                continue  # removed since the listing: no longer part of the zone
            except UnusableAudioError as error:
                probed.append(file.path)
                quarantined.append(_quarantine(file, error.code, error.reason, error.details))
                continue
            probed.append(file.path)
        try:
            track_id, source = track_id_for(file.path, zone, sidecars)
        except TrackIdError as problem:
            details = _probe_details(probe)
            quarantined.append(_quarantine(file, problem.code, problem.reason, details))
            continue
        usable.append(_entry(file, probe, track_id, source))

    entries, duplicates = _first_per_track(usable)
    quarantined.extend(duplicates)
    return CatalogScan(
        entries=tuple(entries),
        quarantined=tuple(sorted(quarantined, key=lambda q: q.path)),
        probed=tuple(probed),
    )


def unchanged_entries(
    previous: Iterable[CatalogEntry], files: Iterable[ZoneFile]
) -> dict[str, CatalogEntry]:
    """The previous entries, by path, whose file is listed with the same size and mtime: their
    hash and probe still hold. Everything else must be read again."""
    listed = {file.path: file for file in files}
    unchanged = {}
    for entry in previous:
        file = listed.get(entry.path)
        if file is not None and (file.size, file.mtime_ns) == (entry.size_bytes, entry.mtime_ns):
            unchanged[entry.path] = entry
    return unchanged


def track_id_for(path: str, zone: AudioZone, sidecars: Mapping[str, ZoneFile]) -> tuple[str, str]:
    """(track id, ``name`` or ``sidecar``) for the audio file at ``path``; see the module
    docstring for the convention. Raises ``TrackIdError`` with the reason when there is none."""
    pure = PurePosixPath(path)
    from_name = pure.stem if is_spotify_id(pure.stem) else None
    sidecar_path = f"{_stem_path(path)}{SIDECAR_SUFFIX}"
    sidecar = sidecars.get(sidecar_path)
    if sidecar is None:
        if from_name is None:
            raise TrackIdError(
                "no_track_id",
                f"no Spotify track id: name the file <track_id>{pure.suffix} (the 22-character "
                f'id) or add {pure.stem}{SIDECAR_SUFFIX} with {{"track_id": "<id>"}} beside it',
            )
        return from_name, "name"
    from_sidecar = _read_sidecar(zone, sidecar)
    if from_name is not None and from_name != from_sidecar:
        raise TrackIdError(
            "track_id_conflict",
            f"track id conflict: the name says {from_name} but {sidecar_path} says "
            f"{from_sidecar}; remove the sidecar or rename the file",
        )
    return from_sidecar, "name" if from_name is not None else "sidecar"


def _read_sidecar(zone: AudioZone, sidecar: ZoneFile) -> str:
    def bad(problem: str) -> TrackIdError:
        return TrackIdError(
            "bad_sidecar",
            f'sidecar {sidecar.path} {problem}; expected {{"track_id": "<22-character id, '
            'spotify:track: URI or open.spotify.com link>"}',
        )

    if sidecar.size > SIDECAR_MAX_BYTES:
        raise bad(f"is {sidecar.size} bytes, more than the {SIDECAR_MAX_BYTES} a sidecar may be")
    try:
        with zone.open(sidecar) as handle:
            raw = handle.read(SIDECAR_MAX_BYTES + 1)
    except (FileNotFoundError, PermissionError) as error:
        raise bad(f"could not be read ({error.strerror or error})") from error
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as error:
        raise bad(f"is not valid JSON ({error})") from error
    value = document.get("track_id") if isinstance(document, dict) else None
    if not isinstance(value, str):
        raise bad('has no "track_id" string')
    try:
        return normalize_spotify_id(value, "track")
    except InvalidSpotifyIdError as error:
        raise TrackIdError("bad_sidecar", f"sidecar {sidecar.path}: {error}") from error


def _probe_file(zone: AudioZone, file: ZoneFile, full_decode: bool) -> AudioProbe:
    declared = AUDIO_EXTENSIONS[PurePosixPath(file.path).suffix.lower()]
    try:
        with zone.open(file) as handle:
            return probe_audio(handle, declared_format=declared, full_decode=full_decode)
    except PermissionError as error:
        # A file the scan may not read is a property of that file; other I/O errors (object
        # storage unreachable) fail the scan so that it is retried.
        raise UnusableAudioError("unreadable", f"unreadable: {error.strerror}") from error


def _first_per_track(
    usable: list[CatalogEntry],
) -> tuple[list[CatalogEntry], list[QuarantinedFile]]:
    kept: dict[str, CatalogEntry] = {}
    duplicates = []
    for entry in usable:  # path order
        first = kept.get(entry.track_id)
        if first is None:
            kept[entry.track_id] = entry
            continue
        identical = " (identical content)" if first.content_hash == entry.content_hash else ""
        duplicates.append(
            QuarantinedFile(
                entry.path,
                "duplicate_track",
                f"duplicate track: same track_id as {first.path}{identical}",
                entry.size_bytes,
                entry.mtime_ns,
                _probe_details(entry.probe()) | {"track_id": entry.track_id},
            )
        )
    return sorted(kept.values(), key=lambda e: e.path), duplicates


def _entry(file: ZoneFile, probe: AudioProbe, track_id: str, source: str) -> CatalogEntry:
    return CatalogEntry(
        path=file.path,
        track_id=track_id,
        track_id_source=source,
        format=probe.format,
        subtype=probe.subtype,
        content_hash=probe.content_hash,
        size_bytes=probe.size_bytes,
        mtime_ns=file.mtime_ns,
        duration_s=probe.duration_s,
        sample_rate=probe.sample_rate,
        channels=probe.channels,
        frames=probe.frames,
        note=probe.note,
    )


def _probe_details(probe: AudioProbe) -> dict[str, Any]:
    details = asdict(probe)
    del details["size_bytes"]
    return {key: value for key, value in details.items() if value is not None}


def _quarantine(
    file: ZoneFile, code: str, reason: str, details: Mapping[str, Any] | None = None
) -> QuarantinedFile:
    details = {k: v for k, v in (details or {}).items() if k != "size_bytes"}
    return QuarantinedFile(file.path, code, reason, file.size, file.mtime_ns, details)


def _bad_extension(file: ZoneFile) -> str:
    suffix = PurePosixPath(file.path).suffix
    shown = repr(suffix) if suffix else "none"
    return f"unsupported extension {shown}: expected .wav, .flac, .ogg or .mp3 (or a .json sidecar)"


def _stem_path(path: str) -> str:
    """``a/b/take 3.wav`` -> ``a/b/take 3``: a sidecar's and its audio file's common key."""
    pure = PurePosixPath(path)
    return str(pure.with_suffix("")) if pure.suffix else path
