"""The backup key, for the jobs that seal and open backups (``defs/maintenance/backup.py``)."""

from __future__ import annotations

import dagster as dg
from pydantic import Field


class BackupKeyResource(dg.ConfigurableResource):
    """The AES-256 key that seals every backup, from ``SPOTIFY_AGENT_BACKUP_KEY``.

    Bound as ``dg.EnvVar`` so its value never reaches run config, metadata or the UI; unset, the
    field stays empty and the backup jobs stop before writing anything, saying what to set.
    """

    key: str | None = Field(
        default=None,
        description="32 bytes as 64 hex digits or base64; pass dg.EnvVar('SPOTIFY_AGENT_BACKUP_KEY').",
    )

    def key_bytes(self) -> bytes:
        from spotify_agent_assets.maintenance.backup_crypto import parse_backup_key

        return parse_backup_key(self.key)
