"""Where audio files land, and how many processes analyse them."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from spotify_agent_assets.defs.lake.resources import LakeResource

if TYPE_CHECKING:
    from spotify_agent_assets.audio.catalog import CatalogEntry
    from spotify_agent_assets.audio.zone import AudioZone


class AudioLandingResource(dg.ConfigurableResource):
    """The audio landing zone (``<landing>/audio``: a local folder or an ``s3://`` prefix).

    The file naming convention and what is refused are in `spotify_agent_assets.audio.catalog`.
    """

    zone_root: str = Field(description="<landing>/audio: a local folder or s3:// prefix.")
    storage: LakeResource = Field(description="S3 endpoint and credentials for an s3:// zone.")
    workers: int | None = Field(
        default=None,
        description="Analysis processes; unset means one per CPU core available to the run.",
    )

    def zone(self) -> AudioZone:
        from spotify_agent_assets.audio.zone import open_audio_zone

        return open_audio_zone(self.zone_root, self.storage.s3_settings(self.zone_root))

    def read_zone_file(self, name: str) -> bytes | None:
        """The bytes of a file at the top of the zone (``_labels.csv``), None if it is absent."""
        from spotify_agent_assets.audio.zone import (
            LocalAudioZone,
            ObjectStoreAudioZone,
            check_relative_path,
        )

        check_relative_path(name)
        zone = self.zone()
        if isinstance(zone, LocalAudioZone):
            path = zone.real_root / name
            return path.read_bytes() if path.is_file() else None
        if not isinstance(zone, ObjectStoreAudioZone):
            raise TypeError(f"unknown audio zone type {type(zone).__name__} for {self.zone_root}")
        try:
            with zone.filesystem.open_input_stream(name) as stream:
                return stream.read()
        except FileNotFoundError:
            return None

    def worker_count(self, files: int) -> int:
        """Processes for ``files`` files: never more than there are files."""
        available = self.workers or len(os.sched_getaffinity(0))
        return max(1, min(available, files))

    @contextmanager
    def local_files(self, entries: Sequence[CatalogEntry]) -> Iterator[dict[str, Path]]:
        """A local path per entry (by zone path) that a decoder can open.

        A local zone gives each file's real path, checked again to be inside the zone (a
        symlink could have been repointed since the scan). An object store's files are copied
        to a temporary folder that is removed afterwards.
        """
        from spotify_agent_assets.audio.zone import LocalAudioZone, ZoneFile, resolve_in_zone

        zone = self.zone()
        if isinstance(zone, LocalAudioZone):
            yield {e.path: resolve_in_zone(zone.real_root, e.path) for e in entries}
            return
        scratch = Path(tempfile.mkdtemp(prefix="audio-analysis-"))
        try:
            paths = {}
            for index, entry in enumerate(entries):
                # Numbered names: zone paths may nest and repeat stems.
                local = scratch / f"{index:06d}{Path(entry.path).suffix}"
                file = ZoneFile(entry.path, entry.size_bytes, entry.mtime_ns, entry.path)
                with zone.open(file) as source, local.open("wb") as target:
                    shutil.copyfileobj(source, target)
                paths[entry.path] = local
            yield paths
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
