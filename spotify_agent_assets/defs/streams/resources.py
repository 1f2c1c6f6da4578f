"""Where listening events land, and the key that pseudonymizes listeners on the way in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from spotify_agent_assets.defs.lake.resources import LakeResource

if TYPE_CHECKING:
    from pyarrow.fs import FileSystem

    from spotify_agent_assets.streams.landing_index import LandingFile, LandingIndex
    from spotify_agent_assets.streams.pseudonymize import PseudonymKey

INDEX_FILE = "landing_index.json"
STREAMS_GROUP = "streams"
# The two tables one rebuild writes; a day is stored only when both carry its provenance.
STREAM_TABLES = ("stream_events", "stream_quarantine")


class StreamLandingResource(dg.ConfigurableResource):
    """The stream landing zone, the local cache of its file→day index, and the HMAC key.

    The key comes from ``SPOTIFY_AGENT_PSEUDONYM_KEY`` through ``dg.EnvVar`` when set; locally a
    random key is created once under ``<data>/secrets/`` and kept, so pseudonyms stay stable
    across runs (a new key would make every listener a stranger to the models).
    """

    landing_root: str = Field(description="<landing>/streams: a local folder or s3:// prefix.")
    storage: LakeResource = Field(description="S3 endpoint and credentials for an s3:// zone.")
    state_dir: str = Field(description="Local folder for the landing index cache.")
    data_dir: str = Field(description="Data folder holding secrets/pseudonym.key locally.")
    pseudonym_key: str | None = Field(
        default=None, description="HMAC key (base64 or hex); pass a dg.EnvVar. Never logged."
    )

    def filesystem(self) -> FileSystem:
        from spotify_agent_assets.streams.landing_index import landing_filesystem

        return landing_filesystem(self.landing_root, self.storage.s3_settings(self.landing_root))

    def key(self) -> PseudonymKey:
        from spotify_agent_assets.streams.pseudonymize import KEY_ENV_VAR, load_pseudonym_key

        environ = {KEY_ENV_VAR: self.pseudonym_key} if self.pseudonym_key else {}
        return load_pseudonym_key(self.data_dir, environ)

    @property
    def index_path(self) -> Path:
        return Path(self.state_dir) / INDEX_FILE

    def cached_index(self) -> LandingIndex:
        from spotify_agent_assets.streams.landing_index import LandingIndex

        return LandingIndex.load(self.index_path)

    def refreshed_index(
        self, filesystem: FileSystem, listing: list[LandingFile] | None = None
    ) -> LandingIndex:
        """The index brought up to date with the zone's current listing (pass it if already
        listed), and saved."""
        from spotify_agent_assets.streams.landing_index import list_landing_files

        index = self.cached_index()
        index.refresh(
            listing if listing is not None else list_landing_files(filesystem), filesystem
        )
        index.save(self.index_path)
        return index

    def stored_footers(self, day: dt.date) -> list[dict[str, str] | None]:
        """The footers of the day's stored ``stream_events`` and ``stream_quarantine``
        partitions (``None`` for one never written): what ``streams.provenance`` compares."""
        lake = self.storage.lake()
        key = day.isoformat()
        return [lake.read_footer(STREAMS_GROUP, table, key) for table in STREAM_TABLES]

    def ingestion_floor(self) -> dt.date | None:
        """The first day ingestion may build: retention_job deleted every day before it."""
        from spotify_agent_assets.maintenance.retention import read_ingestion_floor

        return read_ingestion_floor(self.storage.lake())

    def stale_days(self, days: Iterable[dt.date], index: LandingIndex) -> list[dt.date]:
        """Those of ``days`` whose stored partitions differ from what the zone gives, never a
        day before the floor retention_job recorded (a day it deleted stays deleted, even while
        a landing file spanning newer days still holds its events)."""
        from spotify_agent_assets.streams.provenance import stale_days

        floor = self.ingestion_floor()
        if floor is not None:
            days = [day for day in days if day >= floor]
        return stale_days(days, index, self.stored_footers)
