"""GDPR erasure of listeners from every store, and its re-application after a restore.

``run_erasure`` is the whole job without Dagster: read and hash the request (raw ids never
leave memory), plan (every store searched; an id found nowhere stops everything before any
change), record the listeners in the ledger, apply each store's step under the journal
(``erasure_journal``), verify by scanning every store (``erasure_scan``), store the receipt and
delete the request file. ``reapply_erasures`` runs the same steps from the ledger alone, after
a restore brought older files back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spotify_agent_assets.lake.parquet_lake import ParquetLake
from spotify_agent_assets.maintenance import erasure_journal as journals
from spotify_agent_assets.maintenance.erasure_lake import FileErasure, erase_file, plan_lake
from spotify_agent_assets.maintenance.erasure_landing import erase_landing
from spotify_agent_assets.maintenance.erasure_ledger import ledger_entries, record_in_ledger
from spotify_agent_assets.maintenance.erasure_mlflow import erase_mlflow, plan_mlflow
from spotify_agent_assets.maintenance.erasure_request import (
    ErasureRequest,
    ErasureRequestError,
    load_request,
)
from spotify_agent_assets.maintenance.erasure_scan import (
    ErasureTraces,
    ScanReport,
    files_under,
    scan_files,
    scan_lake,
    scan_landing,
    scan_mlflow,
    scan_warehouse,
)
from spotify_agent_assets.maintenance.erasure_warehouse import erase_warehouse, plan_warehouse
from spotify_agent_assets.observability.audit_log import record_action

if TYPE_CHECKING:
    from pyarrow.fs import FileSystem

    from spotify_agent_assets.environment import AgentSettings
    from spotify_agent_assets.streams.pseudonymize import PseudonymKey

Progress = Callable[[str], None]


class ErasureVerificationError(RuntimeError):
    """The scan after an erasure still found a trace of an erased listener."""


@dataclass(frozen=True)
class ErasureStores:
    """Every place listener data lives, for one environment."""

    lake: ParquetLake
    warehouse_path: Path
    data_dir: Path
    landing: FileSystem
    landing_local_root: Path | None
    landing_index_path: Path
    mlflow_tracking_uri: str
    mlflow_artifact_root: str | None
    backup_url: str | None = None

    @classmethod
    def from_settings(cls, settings: AgentSettings) -> ErasureStores:
        from spotify_agent_assets.lake.s3 import S3Settings
        from spotify_agent_assets.streams.landing_index import landing_filesystem

        zone = f"{settings.landing_dir}/streams"
        local = None if zone.startswith("s3://") else Path(zone)
        return cls(
            lake=ParquetLake(settings.lake_root),
            warehouse_path=settings.warehouse_path,
            data_dir=settings.data_dir,
            landing=landing_filesystem(zone, None if local else S3Settings.from_env()),
            landing_local_root=local,
            landing_index_path=settings.data_dir / "state" / "landing_index.json",
            mlflow_tracking_uri=settings.mlflow_tracking_uri,
            mlflow_artifact_root=settings.mlflow_artifact_root,
            backup_url=settings.backup_url,
        )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _quiet(_: str) -> None:
    pass


def plan_erasure(stores: ErasureStores, request: ErasureRequest) -> dict[str, Any]:
    """The journal of this request: resumed if a run was interrupted, else planned (every
    store searched) and saved, and the listeners added to the ledger. Raises
    ``ErasureRequestError`` for an id found in no store, having changed nothing."""
    journal = journals.load_journal(stores.data_dir, request.erasure_id)
    if journal is not None and journal["status"] == journals.DONE:
        raise ErasureRequestError(
            f"these listeners were already erased (erasure {request.erasure_id}, receipt "
            f"{journals.receipt_path(stores.data_dir, request.erasure_id)}); nothing changed"
        )
    if journal is None:
        digests = request.digests
        lake, in_lake = plan_lake(stores.lake, digests)
        warehouse, in_warehouse = plan_warehouse(stores.warehouse_path, digests)
        models, in_mlflow = plan_mlflow(stores.mlflow_tracking_uri, digests)
        landing, in_landing = erase_landing(
            stores.landing, stores.landing_local_root, request.raw_ids, apply=False
        )
        found = in_lake | in_warehouse | in_mlflow
        for position, (digest, raw) in enumerate(
            zip(digests, request.raw_ids, strict=True), start=1
        ):
            if digest not in found and raw not in in_landing:
                raise ErasureRequestError(
                    f"entry {position} of the erasure request is a listener found in no store "
                    "(lake, warehouse, MLflow, landing zone); check the id: nothing was changed"
                )
        plan = {
            "lake": [f.as_dict() for f in lake],
            "warehouse": warehouse,
            "mlflow": [m.as_dict() for m in models],
            "landing": [c.as_dict() for c in landing],
        }
        journal = journals.new_journal(request.erasure_id, len(digests), plan, _now())
        journals.save_journal(stores.data_dir, journal)
    # After the journal: a run killed in between finds the journal and records them then.
    record_in_ledger(stores.data_dir, request.digests, request.erasure_id, _now())
    return journal


def apply_erasure(
    stores: ErasureStores,
    journal: dict[str, Any],
    digests: frozenset[str],
    raw_ids: tuple[str, ...] = (),
    progress: Progress = _quiet,
) -> list[FileErasure]:
    """Run every step not yet marked done; returns the lake files rewritten (by this run or
    an interrupted one), whose new contents downstream assets must follow."""
    planned = [
        FileErasure(*f["table"].split("."), f["partition"], f["rows"])
        for f in journal["plan"]["lake"]
    ]
    steps: dict[str, Callable[[], Any]] = {
        "lake": lambda: _erase_lake(stores.lake, planned, digests, progress),
        "warehouse": lambda: erase_warehouse(stores.warehouse_path, digests),
        "mlflow": lambda: erase_mlflow(stores.mlflow_tracking_uri, digests),
        "landing": lambda: _erase_landing(stores, raw_ids),
    }
    for step in journals.STEPS:
        if step in journal["steps"]:
            continue
        result = steps[step]()
        journals.mark_step(stores.data_dir, journal, step, result, _now())
        progress(f"erasure step {step} done")
    return planned


def _erase_lake(
    lake: ParquetLake, planned: list[FileErasure], digests: frozenset[str], progress: Progress
) -> dict[str, int]:
    removed: dict[str, int] = {}
    for file in planned:
        n = erase_file(lake, file, digests)
        removed[file.table] = removed.get(file.table, 0) + n
        progress(f"rewrote {file.table} partition {file.partition} (-{n} rows)")
    return removed


def _erase_landing(stores: ErasureStores, raw_ids: tuple[str, ...]) -> dict[str, int]:
    """Landing files changed, then their stale entries dropped from the landing index (a
    removed export's path names the listener). Without raw ids (a re-application) there is
    nothing to match: ingestion's ledger check keeps them out instead."""
    if not raw_ids:
        return {"files": 0}
    changes, _ = erase_landing(stores.landing, stores.landing_local_root, raw_ids, apply=True)
    from spotify_agent_assets.streams.landing_index import LandingIndex

    index = LandingIndex.load(stores.landing_index_path)
    stale = [p for p in index.entries if set(p.split("/")) & set(raw_ids)]
    for path in stale:
        del index.entries[path]
    if stale:
        index.save(stores.landing_index_path)
    return {"files": len(changes), "index_entries_dropped": len(stale)}


def verify_erasure(stores: ErasureStores, traces: ErasureTraces) -> dict[str, Any]:
    """Scan every store; raises ``ErasureVerificationError`` naming where traces remain."""
    report = ScanReport()
    scan_lake(stores.lake, traces, report)
    scan_warehouse(stores.warehouse_path, traces, report)
    scan_mlflow(stores.mlflow_tracking_uri, stores.mlflow_artifact_root, traces, report)
    state = files_under(stores.data_dir / "state", journals.erasures_dir(stores.data_dir))
    scan_files(state, traces, report, "state file")
    if not stores.lake.is_s3:  # report pages and charts travel with their tables
        pages = [p for p in files_under(Path(stores.lake.root)) if p.suffix != ".parquet"]
        scan_files(pages, traces, report, "lake file")
    scan_landing(stores.landing, traces, report)
    if report.findings:
        raise ErasureVerificationError(
            "erased listeners are still present in: " + "; ".join(report.findings)
        )
    return {"searched": report.searched, "findings": []}


def run_erasure(
    stores: ErasureStores,
    request_file: str | Path,
    key: PseudonymKey,
    progress: Progress = _quiet,
) -> dict[str, Any]:
    """Erase the listeners of ``request_file`` everywhere; returns the stored receipt."""
    request = load_request(request_file, key)
    journal = plan_erasure(stores, request)
    progress(f"erasure {request.erasure_id} planned for {len(request.raw_ids)} listener(s)")
    digests = frozenset(request.digests)
    apply_erasure(stores, journal, digests, request.raw_ids, progress)
    traces = ErasureTraces(digests, request.pseudonyms, request.raw_ids)
    return finish_erasure(stores, journal, verify_erasure(stores, traces), request_file)


def finish_erasure(
    stores: ErasureStores,
    journal: dict[str, Any],
    verification: dict[str, Any],
    request_file: str | Path,
) -> dict[str, Any]:
    """Store the receipt, mark the journal done, then delete the request (the raw ids)."""
    receipt = journals.build_receipt(journal, verification, _now())
    receipt["stored_at"] = journals.store_receipt(stores.data_dir, receipt, stores.backup_url)
    journal["status"] = journals.DONE
    journals.save_journal(stores.data_dir, journal)
    Path(request_file).unlink(missing_ok=True)
    plan = journal["plan"]
    # Counts only: no digest, pseudonym or landing path (a path can name the listener).
    record_action(
        "erasure",
        f"erased {journal['listeners']} listener(s) everywhere (erasure {journal['erasure_id']})",
        row_count=sum(int(f["rows"]) for f in plan["lake"]),
        erasure_id=journal["erasure_id"],
        listeners=journal["listeners"],
        lake_files_rewritten=len(plan["lake"]),
        warehouse_rows=sum(plan["warehouse"].values()),
        mlflow_model_files=len(plan["mlflow"]),
        landing_files=len(plan["landing"]),
    )
    return receipt


def reapply_erasures(settings: AgentSettings) -> int:
    """Erase every listener of the ledger again from the current stores (after a restore of
    an older backup); returns how many listeners were found and erased again. Safe when
    there is nothing to do."""
    stores = ErasureStores.from_settings(settings)
    digests = frozenset(entry["digest"] for entry in ledger_entries(stores.data_dir))
    if not digests:
        return 0
    lake, in_lake = plan_lake(stores.lake, digests)
    _, in_warehouse = plan_warehouse(stores.warehouse_path, digests)
    _, in_mlflow = plan_mlflow(stores.mlflow_tracking_uri, digests)
    found = in_lake | in_warehouse | in_mlflow
    if not found:
        return 0
    _erase_lake(stores.lake, lake, digests, _quiet)
    erase_warehouse(stores.warehouse_path, digests)
    erase_mlflow(stores.mlflow_tracking_uri, digests)
    report = ScanReport()
    traces = ErasureTraces(digests)
    scan_lake(stores.lake, traces, report)
    scan_warehouse(stores.warehouse_path, traces, report)
    report.findings += [
        f"mlflow {m.name}/{m.version}" for m in plan_mlflow(stores.mlflow_tracking_uri, digests)[0]
    ]
    if report.findings:
        raise ErasureVerificationError(
            "re-applied erasures left traces in: " + "; ".join(report.findings)
        )
    record_action(
        "erasure_reapplied",
        f"erased {len(found)} listener(s) of the ledger again after a restore",
        listeners=len(found),
        lake_files_rewritten=len(lake),
    )
    return len(found)
