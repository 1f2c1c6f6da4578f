"""Backups refuse what they must: no key, a wrong key, a tampered or missing blob, an edited
header; retention keeps exactly what it promises; an s3:// store round-trips."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from spotify_agent_assets.defs.backup_resource import BackupKeyResource
from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.defs.maintenance.backup import backup_job, restore_check_job
from spotify_agent_assets.environment import AgentSettings, EnvironmentConfigError
from spotify_agent_assets.maintenance.backup import (
    apply_retention,
    backup_store,
    create_backup,
    list_backups,
    read_manifest,
)
from spotify_agent_assets.maintenance.backup_crypto import SealedBlobError
from spotify_agent_assets.maintenance.backup_store import MANIFESTS
from spotify_agent_assets.maintenance.manifest import ManifestError
from spotify_agent_assets.maintenance.restore import (
    RestoreCheckError,
    check_latest_backup,
    restore_backup,
)
from spotify_agent_assets_tests.maintenance.backup_data import (
    KEY,
    KEY_HEX,
    OTHER_KEY,
    lake_rows,
    small_settings,
    warehouse_rows,
    write_day,
    write_small_world,
)

DAY = dt.timedelta(days=1)
START = dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def small(tmp_path: Path) -> AgentSettings:
    settings = small_settings(tmp_path, backup_url=str(tmp_path / "store"))
    write_small_world(settings)
    return settings


def lake_entry(settings: AgentSettings, backup_id: str) -> tuple[str, str]:
    manifest = read_manifest(backup_store(settings), backup_id, KEY)
    entry = next(f for f in manifest.files if f.path.startswith("lake/streams/plays/"))
    return entry.path, entry.blob


def test_a_flipped_byte_in_one_blob_fails_the_restore_check_naming_the_file(
    small: AgentSettings,
) -> None:
    backup = create_backup(small, KEY)
    path, blob = lake_entry(small, backup.backup_id)
    stored = Path(backup_store(small).blob_path(blob))
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0x40
    stored.write_bytes(bytes(data))
    with pytest.raises(
        RestoreCheckError, match="^" + re.escape(f"{path}: blob {blob} chunk 0 fails auth")
    ):
        check_latest_backup(small, KEY)
    assert list_backups(small)[-1].verified_at is None


def test_a_missing_blob_fails_the_restore_naming_the_file(
    small: AgentSettings, tmp_path: Path
) -> None:
    backup = create_backup(small, KEY)
    path, blob = lake_entry(small, backup.backup_id)
    Path(backup_store(small).blob_path(blob)).unlink()
    with pytest.raises(
        RestoreCheckError, match="^" + re.escape(f"{path}: its blob {blob} is missing")
    ):
        restore_backup(small, KEY, tmp_path / "restored")


def test_an_edited_plaintext_header_is_caught(small: AgentSettings) -> None:
    backup = create_backup(small, KEY)
    store = backup_store(small)
    document = json.loads(store.read_document(MANIFESTS, backup.backup_id) or b"")
    document["kind"] = "daily" if document["kind"] == "weekly" else "weekly"
    store.put_document(MANIFESTS, backup.backup_id, json.dumps(document).encode())
    assert len(list_backups(small)) == 1  # listing without the key cannot tell
    with pytest.raises(ManifestError, match="header disagrees"):
        list_backups(small, KEY)


def test_wrong_key_fails_clearly(small: AgentSettings, tmp_path: Path) -> None:
    create_backup(small, KEY)
    with pytest.raises(SealedBlobError, match="wrong SPOTIFY_AGENT_BACKUP_KEY"):
        restore_backup(small, OTHER_KEY, tmp_path / "restored")
    assert not (tmp_path / "restored").exists()


def test_no_key_fails_the_jobs_at_once_and_writes_nothing(
    small: AgentSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SPOTIFY_AGENT_DATA_DIR", str(small.data_dir))
    monkeypatch.setenv("SPOTIFY_AGENT_BACKUP_URL", small.backup_destination)
    resources = {
        "lake": LakeResource(lake_root=small.lake_root, warehouse_path=str(small.warehouse_path)),
        "backup_key": BackupKeyResource(),
    }
    for job in (backup_job, restore_check_job):
        result = job.execute_in_process(resources=resources, raise_on_error=False)
        assert not result.success
        failure = next(e for e in result.all_events if e.is_step_failure)
        error = failure.step_failure_data.error  # type: ignore[union-attr]
        messages = []
        while error is not None:  # Dagster's step error, caused by ours
            messages.append(error.message)
            error = error.cause
        assert any("SPOTIFY_AGENT_BACKUP_KEY is not set" in m for m in messages), messages
    assert not Path(small.backup_destination).exists()


def test_backup_url_must_be_a_folder_or_s3(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentConfigError, match="SPOTIFY_AGENT_BACKUP_URL"):
        small_settings(tmp_path, backup_url="ftp://host/backups")
    assert small_settings(tmp_path).backup_destination == str(tmp_path / "data" / "backups")


def test_kinds_and_retention_keep_exactly_n_daily_and_m_weekly(small: AgentSettings) -> None:
    from spotify_agent_assets.lake.parquet_lake import ParquetLake

    lake = ParquetLake(small.lake_root)
    made = []
    for day in range(20):
        write_day(lake, "2026-10-01", seed=100 + day)  # one changed file per backup
        made.append(create_backup(small, KEY, now=START + day * DAY))
    weekly = [b.backup_id for b in made if b.kind == "weekly"]
    assert weekly == [made[0].backup_id, made[7].backup_id, made[14].backup_id]
    store = backup_store(small)
    blobs_of = {
        b.backup_id: {f.blob for f in read_manifest(store, b.backup_id, KEY).files} for b in made
    }
    before = set(store.blobs())

    result = apply_retention(small, KEY, keep_daily=3, keep_weekly=2, blob_grace=dt.timedelta(0))

    kept = {made[i].backup_id for i in (7, 14, 17, 18, 19)}
    assert {b.backup_id for b in list_backups(small, KEY)} == kept == set(result.kept)
    assert len(result.removed_backups) == 15
    referenced = set().union(*(blobs_of[b] for b in kept))
    assert set(store.blobs()) == referenced
    assert result.removed_blobs == len(before - referenced) > 0
    # What stays still restores: the oldest kept weekly backup, shared blobs and all.
    restore_backup(small, KEY, Path(small.data_dir.parent / "restored"), made[7].backup_id)


def test_retention_leaves_young_unreferenced_blobs(small: AgentSettings) -> None:
    create_backup(small, KEY)
    orphan = "f" * 64
    backup_store(small).put_blob(orphan, [b"from a backup still being written"])
    apply_retention(small, KEY, keep_daily=1, keep_weekly=1)  # default grace: a day
    assert orphan in backup_store(small).blobs()
    apply_retention(small, KEY, keep_daily=1, keep_weekly=1, blob_grace=dt.timedelta(0))
    assert orphan not in backup_store(small).blobs()


def test_s3_store_round_trips(s3_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = s3_server.url(f"backups-{tmp_path.name}")
    settings = small_settings(tmp_path, backup_url=url)
    write_small_world(settings)
    s3 = s3_server.settings()
    first = create_backup(settings, KEY, s3=s3)
    second = create_backup(settings, KEY, s3=s3)
    assert second.files_new == 0 and second.files_total == first.files_total
    assert [b.backup_id for b in list_backups(settings, KEY, s3=s3)] == [
        first.backup_id,
        second.backup_id,
    ]
    report = check_latest_backup(settings, KEY, s3=s3)
    assert report.backup_id == second.backup_id
    assert list_backups(settings, s3=s3)[-1].verified_at is not None
    target = tmp_path / "restored"
    restore_backup(settings, KEY, target, first.backup_id, s3=s3)
    assert lake_rows(target / "lake") == lake_rows(Path(settings.lake_root))
    assert warehouse_rows(target / "warehouse.duckdb") == warehouse_rows(settings.warehouse_path)
    assert not Path(settings.data_dir / "backups").exists()


def test_key_is_not_in_job_logs_or_metadata(
    small: AgentSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster as dg

    monkeypatch.setenv("SPOTIFY_AGENT_DATA_DIR", str(small.data_dir))
    monkeypatch.setenv("SPOTIFY_AGENT_BACKUP_URL", small.backup_destination)
    monkeypatch.setenv("SPOTIFY_AGENT_BACKUP_KEY", KEY_HEX)
    resources = {
        "lake": LakeResource(lake_root=small.lake_root, warehouse_path=str(small.warehouse_path)),
        "backup_key": BackupKeyResource(key=dg.EnvVar("SPOTIFY_AGENT_BACKUP_KEY")),
    }
    with dg.instance_for_test() as instance:
        for job in (backup_job, restore_check_job):
            assert job.execute_in_process(resources=resources, instance=instance).success
        logs = [entry for run in instance.get_runs() for entry in instance.all_logs(run.run_id)]
        text = "\n".join(str(entry) for entry in logs)
    assert "backup_id" in text
    assert KEY_HEX not in text.lower() and KEY_HEX.upper() not in text


def test_s3_lake_is_backed_up_file_for_file(s3_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from spotify_agent_assets.lake.parquet_lake import ParquetLake

    lake_url = s3_server.url(f"lake-{tmp_path.name}")
    settings = small_settings(
        tmp_path, backup_url=str(tmp_path / "store"), SPOTIFY_AGENT_LAKE_URL=lake_url
    )
    s3 = s3_server.settings()
    lake = ParquetLake(lake_url, s3=s3)
    for day in range(3):
        write_day(lake, f"2026-10-0{day + 1}", seed=day)
    result = create_backup(settings, KEY, lake_s3=s3)
    assert result.tables == {"lake:streams.plays": 150}
    assert "warehouse" in result.notes  # none was made: said, not silently skipped
    target = tmp_path / "restored"
    restore_backup(settings, KEY, target)
    restored = ParquetLake(str(target / "lake")).read("streams", "plays")
    assert sorted(restored.to_pylist(), key=repr) == sorted(
        lake.read("streams", "plays").to_pylist(), key=repr
    )
