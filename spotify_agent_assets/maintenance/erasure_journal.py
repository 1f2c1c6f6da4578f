"""The journal of one erasure (plan first, then each store's step) and its receipt.

``<data>/maintenance/erasures/journal/<erasure_id>.json`` is written before anything changes:
what will be removed where, with counts. Each store's step then runs (every file it touches is
replaced atomically) and is marked done in the journal, rewritten aside and renamed. A run
killed anywhere leaves each file as it was or as it should be, and a re-run with the same
request (the erasure id comes from the listeners, so it finds the same journal) skips the
steps marked done and repeats the interrupted one, which is idempotent.

The receipt (``receipts/<erasure_id>.json``, and beside the backups when
``SPOTIFY_AGENT_BACKUP_URL`` is set) says what was removed where, counts and when, which
models learned from the listeners, and what the verification searched. Neither file holds a
raw id or a pseudonym: listeners are counted, and the ledger holds only digests.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from spotify_agent_assets.maintenance.erasure_ledger import write_json
from spotify_agent_assets.streams.erased_listeners import ERASURES_DIR

STEPS = ("lake", "warehouse", "mlflow", "landing")
PLANNED, DONE = "planned", "done"
RECEIPTS_FOLDER = "erasure-receipts"


def erasures_dir(data_dir: str | Path) -> Path:
    return Path(data_dir) / ERASURES_DIR


def journal_path(data_dir: str | Path, erasure_id: str) -> Path:
    return erasures_dir(data_dir) / "journal" / f"{erasure_id}.json"


def receipt_path(data_dir: str | Path, erasure_id: str) -> Path:
    return erasures_dir(data_dir) / "receipts" / f"{erasure_id}.json"


def load_journal(data_dir: str | Path, erasure_id: str) -> dict[str, Any] | None:
    path = journal_path(data_dir, erasure_id)
    return json.loads(path.read_text()) if path.exists() else None


def save_journal(data_dir: str | Path, journal: dict[str, Any]) -> None:
    write_json(journal_path(data_dir, journal["erasure_id"]), journal)


def new_journal(
    erasure_id: str, listeners: int, plan: dict[str, Any], at: dt.datetime
) -> dict[str, Any]:
    return {
        "erasure_id": erasure_id,
        "listeners": listeners,
        "requested_at": at.isoformat(),
        "status": PLANNED,
        "plan": plan,
        "steps": {},
    }


def mark_step(
    data_dir: str | Path, journal: dict[str, Any], step: str, result: Any, at: dt.datetime
) -> None:
    journal["steps"][step] = {"completed_at": at.isoformat(), "result": result}
    save_journal(data_dir, journal)


def build_receipt(
    journal: dict[str, Any], verification: dict[str, Any], at: dt.datetime
) -> dict[str, Any]:
    plan = journal["plan"]
    return {
        "erasure_id": journal["erasure_id"],
        "listeners": journal["listeners"],
        "requested_at": journal["requested_at"],
        "completed_at": at.isoformat(),
        "removed": {
            "lake": plan["lake"],
            "warehouse": plan["warehouse"],
            "mlflow_model_files": plan["mlflow"],
            "landing": plan["landing"],
        },
        "steps": journal["steps"],
        "retrain": plan["mlflow"],
        "verification": verification,
    }


def store_receipt(
    data_dir: str | Path, receipt: dict[str, Any], backup_url: str | None
) -> list[str]:
    """Write the receipt locally and, when a backup destination is set, beside the backups;
    returns where it was stored."""
    local = receipt_path(data_dir, receipt["erasure_id"])
    write_json(local, receipt)
    stored = [str(local)]
    if backup_url:
        stored.append(_store_at_backup(backup_url, receipt))
    return stored


def _store_at_backup(backup_url: str, receipt: dict[str, Any]) -> str:
    name = f"{RECEIPTS_FOLDER}/{receipt['erasure_id']}.json"
    data = (json.dumps(receipt, indent=2, sort_keys=True) + "\n").encode()
    if not backup_url.startswith("s3://"):
        target = Path(backup_url) / name
        from spotify_agent_assets.lake.atomic_file import write_bytes

        write_bytes(target, data)
        return str(target)
    from spotify_agent_assets.lake.s3 import S3Settings, arrow_filesystem

    uri = f"{backup_url.rstrip('/')}/{name}"
    with arrow_filesystem(S3Settings.from_env()).open_output_stream(uri[len("s3://") :]) as out:
        out.write(data)  # one PUT
    return uri


def load_receipts(data_dir: str | Path) -> list[dict[str, Any]]:
    """Every stored receipt, oldest first."""
    folder = erasures_dir(data_dir) / "receipts"
    receipts = [json.loads(p.read_text()) for p in folder.glob("*.json")] if folder.exists() else []
    return sorted(receipts, key=lambda r: r["completed_at"])
