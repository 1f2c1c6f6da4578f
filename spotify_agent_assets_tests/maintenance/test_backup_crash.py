"""A backup killed half way leaves no backup and no half blob, and a re-run finishes it; the jobs
run from the dagster CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spotify_agent_assets.environment import AgentSettings
from spotify_agent_assets.maintenance.backup import (
    backup_store,
    create_backup,
    list_backups,
    read_manifest,
)
from spotify_agent_assets.maintenance.backup_crypto import open_chunks
from spotify_agent_assets.maintenance.restore import restore_backup
from spotify_agent_assets_tests.maintenance.backup_data import (
    KEY,
    KEY_HEX,
    lake_rows,
    small_settings,
    write_small_world,
)
from spotify_agent_assets_tests.maintenance.cli_runs import execute_job

pytestmark = pytest.mark.slow

BIG_FILES = 100
BIG_FILE_BYTES = 1 << 20
BACKUP_SCRIPT = """
from spotify_agent_assets.environment import backup_key_text, load_settings
from spotify_agent_assets.maintenance.backup import create_backup
from spotify_agent_assets.maintenance.backup_crypto import parse_backup_key

create_backup(load_settings(), parse_backup_key(backup_key_text()))
"""


def child_environment(settings: AgentSettings, **extra: str) -> dict[str, str]:
    # TMPDIR stays the system's: the executor's forkserver puts its socket there, and a path
    # under pytest's tmp_path can pass the 108-byte limit of a Unix socket path.
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SPOTIFY_AGENT_")}
    return {
        **environ,
        "SPOTIFY_AGENT_ENV": "local",
        "SPOTIFY_AGENT_DATA_DIR": str(settings.data_dir),
        "SPOTIFY_AGENT_BACKUP_URL": settings.backup_destination,
        "SPOTIFY_AGENT_BACKUP_KEY": KEY_HEX,
        **extra,
    }


def visible_blobs(store_root: Path) -> list[Path]:
    return [p for p in (store_root / "blobs").rglob("*") if p.is_file() and p.name[0] != "."]


def test_killed_backup_leaves_nothing_visible_and_a_rerun_completes_it(tmp_path: Path) -> None:
    settings = small_settings(tmp_path, backup_url=str(tmp_path / "store"))
    write_small_world(settings)
    # Incompressible files, so sealing them takes long enough to be interrupted.
    big = Path(settings.lake_root) / "reports" / "exports"
    big.mkdir(parents=True)
    for index in range(BIG_FILES):
        (big / f"page-{index:03d}.bin").write_bytes(os.urandom(BIG_FILE_BYTES))
    store_root = Path(settings.backup_destination)

    child = subprocess.Popen([sys.executable, "-c", BACKUP_SCRIPT], env=child_environment(settings))
    deadline = time.monotonic() + 120
    while len(visible_blobs(store_root)) < 5:
        assert child.poll() is None, "the backup ended before it could be killed"
        assert time.monotonic() < deadline, "no blob appeared within 120 s"
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    child.wait()

    store = backup_store(settings)
    assert list_backups(settings) == []
    assert not (store_root / "manifests").exists() or not any((store_root / "manifests").iterdir())
    before = set(store.blobs())
    assert 5 <= len(before) < BIG_FILES
    for blob in before:  # each visible blob is whole: it authenticates to its last chunk
        with store.open_blob(blob) as sealed:
            for _ in open_chunks(sealed, KEY, blob):
                pass

    # The killed run's plain copies (the warehouse snapshot) are still in its staging folder;
    # the next backup removes them before it starts.
    staging = settings.data_dir / ".backup-staging"
    assert [p for p in staging.iterdir() if p.name != "lock"], "the killed run left its staging"

    result = create_backup(settings, KEY)
    assert [p.name for p in staging.iterdir()] == ["lock"]
    manifest = read_manifest(store, result.backup_id, KEY)
    unique = {entry.blob for entry in manifest.files}
    assert before <= unique, "every blob the killed run wrote is part of the finished backup"
    assert result.files_new == len(unique) - len(before)
    assert set(store.blobs()) == unique
    assert list(store_root.rglob("*.tmp")) == [], "the re-run removed the killed write's temp"

    target = tmp_path / "restored"
    restore_backup(settings, KEY, target, result.backup_id)
    assert lake_rows(target / "lake") == lake_rows(Path(settings.lake_root))
    for index in (0, BIG_FILES - 1):
        name = Path("reports", "exports", f"page-{index:03d}.bin")
        assert (target / "lake" / name).read_bytes() == (
            Path(settings.lake_root) / name
        ).read_bytes()


def test_jobs_run_from_the_dagster_cli(tmp_path: Path) -> None:
    settings = small_settings(tmp_path, backup_url=str(tmp_path / "store"))
    write_small_world(settings)
    (tmp_path / "dagster_home").mkdir()
    environ = child_environment(settings, DAGSTER_HOME=str(tmp_path / "dagster_home"))
    for job in ("backup_job", "restore_check_job"):
        completed = execute_job(job, environ)
        output = completed.stdout + completed.stderr
        assert completed.returncode == 0, output[-4000:]
        assert KEY_HEX not in output.lower()
    (backup,) = list_backups(settings, KEY)
    assert backup.kind == "weekly" and backup.verified_at is not None
