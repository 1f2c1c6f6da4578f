"""Refused records in the quarantine table's layout, with no raw listener id in them.

Raw listener ids become their HMAC in ``listener_key`` (so GDPR erasure can find them);
text that could not be parsed gets one more scrub; file paths lose the folder named after a
listener (extended-history exports).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import MutableMapping
from typing import TYPE_CHECKING

from spotify_agent_assets.streams.dedupe import first_occurrence_mask
from spotify_agent_assets.streams.event_schema import quarantine_schema
from spotify_agent_assets.streams.pseudonymize import (
    PseudonymKey,
    pseudonymize,
    pseudonymize_one,
)
from spotify_agent_assets.streams.raw_batch import RawBatch, redact_listener_text

if TYPE_CHECKING:
    import pyarrow as pa


def safe_source_file(batch: RawBatch, key: PseudonymKey) -> str:
    """The file path to record as lineage, without a raw listener id in it: an
    extended-history export lives in a folder named after the listener, so that segment is
    replaced by (a prefix of) the listener's pseudonym."""
    folder = batch.listener_folder
    if not folder:
        return batch.source_file
    segments = batch.source_file.replace("\\", "/").split("/")
    alias = f"listener-{pseudonymize_one(folder, key)[:16]}"
    return "/".join(alias if segment == folder else segment for segment in segments)


def quarantine_records(
    batch: RawBatch,
    rejected: pa.Table,
    rows: pa.Table,
    key: PseudonymKey,
    digests: MutableMapping[str, str],
    source_file: str,
) -> pa.Table:
    """Rejected records in the quarantine layout (without ``quarantined_at``), raw listener
    ids replaced by their HMAC in ``listener_key``. Text the readers could not parse (no
    known listener) gets one more scrub: any token equal to a listener id seen in this batch
    (its validated ``rows`` or its rejected records) is redacted."""
    import pyarrow as pa
    import pyarrow.compute as pc

    raw = rejected["raw"].to_pylist()
    listeners = rejected["listener_id"].to_pylist()
    if batch.rejected and any(who is None for who in listeners):
        known = {
            value
            for column in (rows["listener_id"], rejected["listener_id"])
            for value in pc.unique(column.cast(pa.string())).to_pylist()
            if value
        }
        raw = [
            redact_listener_text(text, known) if text and who is None else text
            for text, who in zip(raw, listeners, strict=True)
        ]
    n = rejected.num_rows
    return pa.table(
        {
            "source_file": pa.array([source_file] * n, pa.string()),
            "line": rejected["line"],
            "reason": rejected["reason"],
            "raw": pa.array(raw, pa.string()),
            "listener_key": pseudonymize(rejected["listener_id"], key, cache=digests),
        }
    )


def stamp_quarantine(part: pa.Table, at: dt.datetime) -> pa.Table:
    """``quarantine_records`` output with its ``quarantined_at`` time, in the table schema."""
    import pyarrow as pa

    stamp = pa.array([at] * part.num_rows, pa.timestamp("us", tz="UTC"))
    schema = quarantine_schema()
    return pa.Table.from_arrays([*(part[name] for name in schema.names[:-1]), stamp], schema=schema)


def dedupe_quarantine(table: pa.Table) -> pa.Table:
    """The same bad record read twice in one run (same file listed twice) is kept once."""
    import pyarrow as pa

    if table.num_rows < 2:
        return table
    ids = pa.array(
        [
            f"{f}\x1f{line}\x1f{reason}"
            for f, line, reason in zip(
                table["source_file"].to_pylist(),
                table["line"].to_pylist(),
                table["reason"].to_pylist(),
                strict=True,
            )
        ]
    )
    keep = first_occurrence_mask(ids)
    return table if keep.all() else table.filter(pa.array(keep))
