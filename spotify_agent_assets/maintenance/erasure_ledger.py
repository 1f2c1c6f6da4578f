"""The erasure ledger: every erased listener, as a one-way digest, for good.

``<data>/maintenance/erasures/ledger.json`` lists ``{"digest", "erasure_id", "recorded_at"}``
per listener (``streams.erased_listeners.ledger_digest``: a SHA-256 of the pseudonym, never the
pseudonym or the raw id). Ingestion drops listeners it names; ``reapply_erasures`` erases them
again from stores restored from an older backup. Entries are only ever added, each time by
rewriting the file aside and renaming it over the old one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from spotify_agent_assets.lake.atomic_file import write_bytes
from spotify_agent_assets.streams.erased_listeners import ledger_path, load_erased_digests


def write_json(path: Path, document: Any) -> None:
    """``document`` as JSON at ``path``, replaced atomically (fsynced temp file, rename)."""
    write_bytes(path, (json.dumps(document, indent=2, sort_keys=True) + "\n").encode())


def ledger_entries(data_dir: str | Path) -> list[dict[str, str]]:
    path = ledger_path(data_dir)
    if not path.exists():
        return []
    load_erased_digests(data_dir)  # raises a clear error on a damaged ledger
    return list(json.loads(path.read_text())["entries"])


def record_in_ledger(
    data_dir: str | Path, digests: Iterable[str], erasure_id: str, at: dt.datetime
) -> int:
    """Add ``digests`` not in the ledger yet (idempotent); returns how many were new."""
    entries = ledger_entries(data_dir)
    known = {entry["digest"] for entry in entries}
    new = [d for d in dict.fromkeys(digests) if d not in known]
    if new:
        entries += [
            {"digest": d, "erasure_id": erasure_id, "recorded_at": at.isoformat()} for d in new
        ]
        write_json(ledger_path(data_dir), {"version": 1, "entries": entries})
    return len(new)
