"""Backup size and time on a copy of a finished ``make run``: full, then incremental.

Copies the data folder (default ``data/``, never modified) to ``--work`` with ``cp -a``, then for
each of ``runs`` rounds with a fresh store and a fresh random key: a full backup, one day
partition of ``streams.stream_events`` re-written (same rows in another order, so new bytes, as a
re-ingested day gives), an incremental backup, and the restore check of that one (restore into
a scratch folder, every checksum and row count proved). Prints the medians as a Markdown table.

    .venv/bin/python bench/backup_size.py [runs] [--data data] [--work /tmp/backup-bench]
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import statistics
import subprocess
import time
from pathlib import Path

from spotify_agent_assets.environment import load_settings
from spotify_agent_assets.lake.parquet_lake import ParquetLake
from spotify_agent_assets.maintenance.backup import create_backup
from spotify_agent_assets.maintenance.restore import check_latest_backup

REPO = Path(__file__).resolve().parent.parent


def rewrite_one_day(lake_root: str) -> str:
    lake = ParquetLake(lake_root)
    day = lake.partitions("streams", "stream_events")[-1]
    events = lake.read("streams", "stream_events", [day])
    lake.write(events.take(list(range(events.num_rows))[::-1]), "streams", "stream_events", day)
    return day


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="?", type=int, default=3)
    parser.add_argument("--data", type=Path, default=REPO / "data")
    parser.add_argument("--work", type=Path, default=Path("/tmp/backup-bench"))
    args = parser.parse_args()
    rows: dict[str, list[float]] = {}
    for run in range(args.runs):
        shutil.rmtree(args.work, ignore_errors=True)
        args.work.mkdir(parents=True)
        copy = args.work / "data"
        subprocess.run(["cp", "-a", str(args.data), str(copy)], check=True)
        settings = load_settings(
            {"SPOTIFY_AGENT_DATA_DIR": str(copy), "SPOTIFY_AGENT_BACKUP_URL": str(args.work / "s")}
        )
        key = secrets.token_bytes(32)
        full = create_backup(settings, key)
        day = rewrite_one_day(settings.lake_root)
        incremental = create_backup(settings, key)
        started = time.monotonic()
        check_latest_backup(settings, key)
        check_seconds = time.monotonic() - started
        print(
            f"run {run + 1}: full {full.files_total} files, {full.source_bytes:,} B read, "
            f"{full.bytes_total:,} B stored in {full.seconds:.2f} s; after re-writing {day}: "
            f"{incremental.files_new} new file(s), {incremental.bytes_new:,} B uploaded in "
            f"{incremental.seconds:.2f} s; restore check {check_seconds:.2f} s",
            flush=True,
        )
        for name, value in {
            "full: files": full.files_total,
            "full: bytes read": full.source_bytes,
            "full: bytes stored (zstd + AES-GCM)": full.bytes_total,
            "full: seconds": full.seconds,
            "incremental: new files": incremental.files_new,
            "incremental: bytes uploaded": incremental.bytes_new,
            "incremental: seconds": incremental.seconds,
            "restore check of the incremental: seconds": check_seconds,
        }.items():
            rows.setdefault(name, []).append(float(value))
    shutil.rmtree(args.work, ignore_errors=True)
    print(f"\n| measure (median of {args.runs}) | value |\n| --- | ---: |")
    for name, values in rows.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.2f} |" if "seconds" in name else f"| {name} | {median:,.0f} |")


if __name__ == "__main__":
    main()
