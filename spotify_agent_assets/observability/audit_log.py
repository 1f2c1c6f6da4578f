"""The audit log: one JSON object per line for every materialization and every action.

Records go to ``<data>/logs/audit-YYYY-MM-DD.jsonl`` (the UTC day the record was written;
``log_and_run_rotation_job`` compresses a day's file once it is idle) and, for containers, to
standard output as the same JSON line (``SPOTIFY_AGENT_AUDIT_LOG=stdout`` or ``both``).

A batch of records is appended with one ``write`` on an ``O_APPEND`` descriptor under an
exclusive ``flock`` and fsynced: concurrent writers (the steps of a multiprocess run, the
export sensor) never interleave inside a line, and a crash loses at most the batch being
written, never a line already returned from ``write``.

Materializations are written by ``observability_export_sensor`` from Dagster's event log
(each with its event id); actions by the code that acts, through ``record_action`` with plain
values: playlist writes, alert deliveries, backups and restores, erasures, retention deletions.
Both carry the run id, step key, trace id and span id of the step (``trace_context``).

No secret and no raw listener id is ever a field: the callers pass counts, table names,
Spotify object ids and erasure ids; ``build_record`` refuses field names that would hold a
credential or a listener identity, so a careless caller fails loudly in tests.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from spotify_agent_assets.observability.trace_context import TraceContext, current

SCHEMA_VERSION = 1
FILE_PREFIX = "audit-"
ACTION = "ACTION"
MATERIALIZATION = "ASSET_MATERIALIZATION"
SINKS = ("file", "stdout", "both")
# Field names that would hold a credential or a listener's identity: never in an audit record.
_FORBIDDEN_FIELD = re.compile(
    r"(secret|password|token|api_?key|authorization|dsn|credential|listener_id|user_id|raw_id"
    r"|pseudonym_key)",
    re.IGNORECASE,
)
logger = logging.getLogger("spotify_agent_assets.audit")


class AuditRecordError(ValueError):
    """An audit record was given a field it must not hold, or a value JSON cannot carry."""


def audit_file(directory: Path, when: dt.datetime) -> Path:
    """The day file a record written at ``when`` goes to."""
    return Path(directory) / f"{FILE_PREFIX}{when.astimezone(dt.UTC):%Y-%m-%d}.jsonl"


def _check_fields(values: Mapping[str, Any], where: str) -> None:
    for name, value in values.items():
        if _FORBIDDEN_FIELD.search(name):
            raise AuditRecordError(
                f"audit record field {where}{name!r} could hold a secret or a listener id; "
                "pass counts, table names or pseudonymous keys instead"
            )
        if isinstance(value, Mapping):
            _check_fields(value, f"{where}{name}.")


def build_record(
    event_type: str,
    what: str,
    *,
    timestamp: dt.datetime | None = None,
    trace: TraceContext | None = None,
    asset_key: str | None = None,
    partition: str | None = None,
    row_count: int | None = None,
    action: str | None = None,
    details: Mapping[str, Any] | None = None,
    event_id: int | None = None,
) -> dict[str, Any]:
    """One audit record: what happened (``what``, a sentence), where in which run, and when."""
    when = (timestamp or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    details = dict(details or {})
    _check_fields(details, "details.")
    record = {
        "schema": SCHEMA_VERSION,
        "timestamp": when.isoformat(timespec="microseconds"),
        "event_type": event_type,
        "action": action,
        "what": what,
        "run_id": trace.run_id if trace else None,
        "step_key": trace.step_key if trace else None,
        "trace_id": trace.trace_id if trace else None,
        "span_id": trace.span_id if trace else None,
        "asset_key": asset_key,
        "partition": partition,
        "row_count": row_count,
        "event_id": event_id,
        "details": details,
    }
    try:
        json.dumps(record, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise AuditRecordError(f"audit record {what!r} is not plain JSON: {error}") from None
    return record


@dataclass(frozen=True)
class AuditLog:
    """Where records go: a folder of day files (None: no file) and/or standard output."""

    directory: Path | None
    to_stdout: bool = False

    def write(self, records: Iterable[Mapping[str, Any]], stream: TextIO | None = None) -> int:
        """Append ``records`` (one line each); returns how many were written."""
        lines = [json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in records]
        if not lines:
            return 0
        payload = "".join(lines)
        for line in lines:  # first: the logger has the record even if the file cannot be written
            logger.info(line.rstrip("\n"))
        if self.directory is not None:
            _append(audit_file(self.directory, dt.datetime.now(dt.UTC)), payload.encode())
        if self.to_stdout:
            (stream or sys.stdout).write(payload)
            (stream or sys.stdout).flush()
        return len(lines)


def _append(path: Path, payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        written = 0
        while written < len(payload):  # a regular file takes it whole; a short write resumes
            written += os.write(descriptor, payload[written:])
        os.fsync(descriptor)
    finally:
        os.close(descriptor)  # closing releases the lock


_configured: AuditLog | None = None
_configure_lock = threading.Lock()


def configure(directory: Path | str | None, sink: str = "file") -> AuditLog:
    """Set where ``record_action`` writes in this process (done once by ``build_resources``)."""
    global _configured
    if sink not in SINKS:
        raise ValueError(f"audit log sink {sink!r} is not known; expected one of {SINKS}")
    log = AuditLog(
        directory=Path(directory) if directory is not None and sink != "stdout" else None,
        to_stdout=sink in ("stdout", "both"),
    )
    with _configure_lock:
        _configured = log
    return log


def configured() -> AuditLog:
    """This process's audit log; unconfigured, records reach only the ``audit`` logger."""
    return _configured or AuditLog(directory=None)


def record_action(
    action: str,
    what: str,
    *,
    asset_key: str | None = None,
    partition: str | None = None,
    row_count: int | None = None,
    **details: Any,
) -> dict[str, Any]:
    """Audit one action that changed the world, in the current run's trace context."""
    record = build_record(
        ACTION,
        what,
        trace=current(),
        action=action,
        asset_key=asset_key,
        partition=partition,
        row_count=row_count,
        details=details,
    )
    try:
        configured().write([record])
    except OSError as error:
        # The action has happened: failing the step now would make a retry act twice. The
        # record still reaches the audit logger; the error says which file could not be written.
        logger.error("audit record not written to the audit folder (%s): %s", error, record["what"])
    return record


def read_records(directory: Path) -> list[dict[str, Any]]:
    """Every record of the plain day files in ``directory``, oldest file first (for tests and
    tools; compressed days are read with zcat)."""
    records = []
    for path in sorted(Path(directory).glob(f"{FILE_PREFIX}*.jsonl")):
        with open(path, encoding="utf-8") as lines:
            records += [json.loads(line) for line in lines if line.strip()]
    return records
