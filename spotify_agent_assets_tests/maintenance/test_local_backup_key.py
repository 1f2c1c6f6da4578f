"""The laptop's backup key: created once, private, reused, never replaced, never in prod."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from spotify_agent_assets.environment import load_settings
from spotify_agent_assets.maintenance.backup_crypto import parse_backup_key
from spotify_agent_assets.maintenance.local_backup_key import local_backup_key


def test_the_key_is_created_once_private_and_reused(tmp_path: Path) -> None:
    settings = load_settings({"SPOTIFY_AGENT_DATA_DIR": str(tmp_path)})
    first = local_backup_key(settings)
    assert len(parse_backup_key(first)) == 32
    path = tmp_path / "backup.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert local_backup_key(settings) == first
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_damaged_key_file_is_an_error_not_a_new_key(tmp_path: Path) -> None:
    (tmp_path / "backup.key").write_text("short\n")
    settings = load_settings({"SPOTIFY_AGENT_DATA_DIR": str(tmp_path)})
    with pytest.raises(RuntimeError, match="does not hold 64 hex digits"):
        local_backup_key(settings)
    assert (tmp_path / "backup.key").read_text() == "short\n"


def test_prod_never_gets_a_local_key(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "SPOTIFY_AGENT_ENV": "prod",
            "SPOTIFY_AGENT_DATA_DIR": str(tmp_path),
            "SPOTIFY_AGENT_LAKE_URL": "s3://b/lake",
            "SPOTIFY_AGENT_BACKUP_URL": "s3://b/backups",
            "MLFLOW_TRACKING_URI": "https://mlflow.internal",
            "SPOTIFY_CLIENT_ID": "id",
            "SPOTIFY_CLIENT_SECRET": "secret",
        }
    )
    with pytest.raises(RuntimeError, match="SPOTIFY_AGENT_ENV=local only"):
        local_backup_key(settings)
    assert not (tmp_path / "backup.key").exists()
