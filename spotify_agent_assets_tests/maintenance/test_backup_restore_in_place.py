"""``make restore``: the backup replaces the live stores only once proved, the replaced data is
kept, recorded erasures are re-applied afterwards, and a bad backup changes nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

from spotify_agent_assets.environment import PROJECT_ROOT, AgentSettings
from spotify_agent_assets.lake.parquet_lake import ParquetLake
from spotify_agent_assets.maintenance.backup import backup_store, create_backup, read_manifest
from spotify_agent_assets.maintenance.restore import RestoreCheckError
from spotify_agent_assets.maintenance.restore_in_place import restore_in_place
from spotify_agent_assets_tests.maintenance.backup_data import (
    KEY,
    KEY_HEX,
    lake_rows,
    small_settings,
    warehouse_rows,
    write_day,
    write_small_world,
)

ERASURE_MODULE = "spotify_agent_assets.maintenance.erasure"


@pytest.fixture
def small(tmp_path: Path) -> AgentSettings:
    settings = small_settings(tmp_path, backup_url=str(tmp_path / "store"))
    write_small_world(settings)
    return settings


def change_live_data(settings: AgentSettings) -> None:
    lake = ParquetLake(settings.lake_root)
    write_day(lake, "2026-10-01", seed=99)
    write_day(lake, "2026-10-09", seed=5)
    (settings.data_dir / "state" / "landing_index.json").write_text('{"files": ["new"]}')


def test_restore_swaps_in_the_backup_then_reapplies_erasures(
    small: AgentSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake_root = Path(small.lake_root)
    backed_up = (lake_rows(lake_root), warehouse_rows(small.warehouse_path))
    backup = create_backup(small, KEY)
    change_live_data(small)
    changed = lake_rows(lake_root)
    assert changed != backed_up[0]

    seen: list[dict[str, object]] = []

    def reapply_erasures(settings: AgentSettings) -> int:
        # Called after the swap, on the restored stores.
        seen.append({"settings": settings, "lake": lake_rows(Path(settings.lake_root))})
        return 2

    erasure = types.ModuleType(ERASURE_MODULE)
    erasure.reapply_erasures = reapply_erasures  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, ERASURE_MODULE, erasure)

    outcome = restore_in_place(small, KEY, "latest")

    assert outcome.backup_id == backup.backup_id and outcome.erasures_reapplied == 2
    assert (lake_rows(lake_root), warehouse_rows(small.warehouse_path)) == backed_up
    assert seen == [{"settings": small, "lake": backed_up[0]}]
    assert (small.data_dir / "state" / "landing_index.json").read_text() == '{"files": []}'
    # Nothing is lost: the replaced stores are kept aside, and the backup's configuration too.
    assert lake_rows(outcome.replaced_dir / "lake") == changed
    assert (outcome.replaced_dir / "backup-config" / "artists.yaml").is_file()
    assert not any(p.name.startswith(".data-restore") for p in small.data_dir.parent.iterdir())


def test_missing_erasure_step_is_an_error_not_a_silent_skip(
    small: AgentSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_backup(small, KEY)
    monkeypatch.setitem(sys.modules, ERASURE_MODULE, None)  # import fails
    with pytest.raises(RuntimeError, match="erasures were NOT re-applied"):
        restore_in_place(small, KEY, "latest")


def test_a_tampered_backup_changes_nothing(small: AgentSettings) -> None:
    backup = create_backup(small, KEY)
    change_live_data(small)
    before = (lake_rows(Path(small.lake_root)), warehouse_rows(small.warehouse_path))
    store = backup_store(small)
    entry = read_manifest(store, backup.backup_id, KEY).file("warehouse.duckdb")
    blob = Path(store.blob_path(entry.blob))
    data = bytearray(blob.read_bytes())
    data[-5] ^= 1
    blob.write_bytes(bytes(data))

    with pytest.raises(RestoreCheckError, match=r"^warehouse\.duckdb: "):
        restore_in_place(small, KEY, backup.backup_id)
    assert (lake_rows(Path(small.lake_root)), warehouse_rows(small.warehouse_path)) == before
    assert not (small.data_dir / "replaced").exists()
    assert not any(p.name.startswith(".data-restore") for p in small.data_dir.parent.iterdir())


def test_unknown_backup_id_is_named(small: AgentSettings) -> None:
    create_backup(small, KEY)
    with pytest.raises(FileNotFoundError, match="no backup '20990101T000000Z-abcdef'"):
        restore_in_place(small, KEY, "20990101T000000Z-abcdef")


def test_cli_lists_backups(small: AgentSettings, tmp_path: Path) -> None:
    backup = create_backup(small, KEY)
    completed = subprocess.run(
        [sys.executable, "-m", "spotify_agent_assets.maintenance.restore", "--list"],
        env={
            "PATH": "/usr/bin:/bin",
            "SPOTIFY_AGENT_DATA_DIR": str(small.data_dir),
            "SPOTIFY_AGENT_BACKUP_URL": small.backup_destination,
            "SPOTIFY_AGENT_BACKUP_KEY": KEY_HEX,
        },
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert backup.backup_id in completed.stdout and "weekly" in completed.stdout


def test_journals_of_the_replaced_databases_go_aside_and_key_modes_are_kept(
    small: AgentSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = small.data_dir / "secrets" / "pseudonym.key"
    key_file.chmod(0o600)
    backed_up = warehouse_rows(small.warehouse_path)
    create_backup(small, KEY)
    # A journal the replaced warehouse left: replayed into the restored file it would corrupt it.
    wal = small.warehouse_path.with_name(small.warehouse_path.name + ".wal")
    wal.write_bytes(b"pending writes of the replaced warehouse")
    erasure = types.ModuleType(ERASURE_MODULE)
    erasure.reapply_erasures = lambda settings: 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, ERASURE_MODULE, erasure)

    outcome = restore_in_place(small, KEY, "latest")

    assert not wal.exists()
    assert (outcome.replaced_dir / wal.name).read_bytes().startswith(b"pending writes")
    assert warehouse_rows(small.warehouse_path) == backed_up
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert (small.data_dir / "secrets").stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("live_ledger", ["newer", "lost"])
def test_the_live_erasure_ledger_wins_and_a_lost_one_comes_back(
    small: AgentSettings, monkeypatch: pytest.MonkeyPatch, live_ledger: str
) -> None:
    ledger = small.data_dir / "maintenance" / "erasures" / "ledger.json"
    ledger.parent.mkdir(parents=True)
    ledger.write_text('{"entries": ["one"]}')
    create_backup(small, KEY)
    if live_ledger == "newer":
        ledger.write_text('{"entries": ["one", "two"]}')  # an erasure after the backup
    else:
        shutil.rmtree(small.data_dir / "maintenance")  # the data folder's ledger was lost
    ledgers_seen: list[str] = []

    def reapply_erasures(settings: AgentSettings) -> int:
        ledgers_seen.append(ledger.read_text())
        return 0

    erasure = types.ModuleType(ERASURE_MODULE)
    erasure.reapply_erasures = reapply_erasures  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, ERASURE_MODULE, erasure)

    restore_in_place(small, KEY, "latest")

    expected = '{"entries": ["one", "two"]}' if live_ledger == "newer" else '{"entries": ["one"]}'
    assert ledger.read_text() == expected
    assert ledgers_seen == [expected]
