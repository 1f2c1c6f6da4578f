"""Listeners erased under GDPR, as ingestion sees them: a set of one-way ledger digests.

The erasure ledger (``<data>/maintenance/erasures/ledger.json``, written by
``maintenance.erasure_ledger``) holds, per erased listener, ``sha256(LEDGER_PREFIX +
pseudonym)``: never the raw id, never the pseudonym itself, so a scan of every store for the
pseudonym finds nothing, while ingestion (which computes pseudonyms anyway) can still tell that
a landing file brings an erased listener back and drop their records before validation. The
check runs once per distinct listener of a batch, not per event.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, MutableMapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from spotify_agent_assets.streams.pseudonymize import PseudonymKey

if TYPE_CHECKING:
    from spotify_agent_assets.streams.raw_batch import RawBatch

LEDGER_PREFIX = "spotify-agent erasure ledger v1:"
ERASURES_DIR = Path("maintenance") / "erasures"
LEDGER_FILE = ERASURES_DIR / "ledger.json"


def ledger_digest(pseudonym: str) -> str:
    """The ledger's one-way digest of a listener's pseudonym (DuckDB: ``sha256(prefix || k)``)."""
    return hashlib.sha256(f"{LEDGER_PREFIX}{pseudonym}".encode()).hexdigest()


def ledger_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / LEDGER_FILE


def load_erased_digests(data_dir: str | Path) -> frozenset[str]:
    """Every digest in the ledger (empty when nothing was ever erased).

    A ledger that exists but cannot be read is an error, not an empty set: ingesting as if
    nobody had been erased would bring erased listeners back.
    """
    path = ledger_path(data_dir)
    if not path.exists():
        return frozenset()
    try:
        entries = json.loads(path.read_text())["entries"]
        return frozenset(str(entry["digest"]) for entry in entries)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"erasure ledger {path} is unreadable ({type(error).__name__}); expected JSON with "
            "an 'entries' list of {'digest': ...}: refusing to ingest without it"
        ) from error


def drop_erased(
    batch: RawBatch,
    key: PseudonymKey,
    erased: Collection[str],
    digests: MutableMapping[str, str],
) -> RawBatch:
    """``batch`` without the records of erased listeners (events and rejected records).

    ``digests`` is the run's raw id -> pseudonym cache, so each listener is hashed once.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if not erased:
        return batch
    ids = batch.table["listener_id"].cast(pa.string())
    uniques = [value for value in pc.unique(ids).to_pylist() if value]
    rejected_ids = {r.listener_id for r in batch.rejected if r.listener_id}
    candidates = sorted(set(uniques) | rejected_ids)
    missing = [value for value in candidates if value not in digests]
    digests.update(zip(missing, key.hex_digests(missing), strict=True))
    gone = {value for value in candidates if ledger_digest(digests[value]) in erased}
    if not gone:
        return batch
    keep = pc.invert(pc.fill_null(pc.is_in(ids, pa.array(sorted(gone), pa.string())), False))
    return replace(
        batch,
        table=batch.table.filter(keep),
        lines=pc.filter(batch.lines, keep),
        rejected=[r for r in batch.rejected if r.listener_id not in gone],
    )
