"""Readers for stream event v1's text formats: JSON Lines and CSV.

Both are one record per line, so a record that cannot be parsed is rejected by its file line
and the rest of the file still lands. Apart from ``readers`` (which detects the format and
decodes the text) so each format's parsing can be read on its own.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from spotify_agent_assets.streams.event_schema import V1_COLUMNS
from spotify_agent_assets.streams.raw_batch import (
    MAX_RAW_CHARS,
    REDACTED,
    RawBatch,
    RejectedRecord,
    UnreadableFileError,
    make_batch,
    redact_listener_text,
    require_v1_columns,
)


def jsonl_batches(path: str, text: str, batch_records: int) -> Iterator[RawBatch]:
    import duckdb
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    all_lines = pa.array(text.split("\n"), pa.large_string())
    del text
    nonblank = pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(all_lines)), 0)
    line_numbers = np.flatnonzero(nonblank.to_numpy(zero_copy_only=False)) + 1
    records = all_lines.filter(nonblank)
    del all_lines
    # One JSON parse per line for all fields: DuckDB's multi-path json_extract_string. A line
    # that is not a JSON object is a rejected record, never a file failure.
    paths = ", ".join(f"'$.\"{name}\"'" for name in V1_COLUMNS)
    picks = ", ".join(f"v[{i + 1}] AS {name}" for i, name in enumerate(V1_COLUMNS))
    con = duckdb.connect()
    try:
        for start in range(0, len(records), batch_records) or [0]:
            chunk = pa.table(
                {
                    "__line": pa.array(line_numbers[start : start + batch_records], pa.int64()),
                    "__text": records.slice(start, batch_records),
                }
            )
            con.register("jsonl_chunk", chunk)
            result = con.execute(
                f"""
                WITH parsed AS (
                    SELECT __line, __text,
                        CASE WHEN json_valid(__text) THEN json_type(__text) END AS kind
                    FROM jsonl_chunk
                )
                SELECT __line, kind, __text, {picks}
                FROM (
                    SELECT __line, kind,
                        CASE WHEN kind IS DISTINCT FROM 'OBJECT' THEN __text END AS __text,
                        CASE WHEN kind = 'OBJECT' THEN json_extract_string(__text, [{paths}]) END
                            AS v
                    FROM parsed
                )
                ORDER BY __line
                """  # noqa: S608 -- picks and paths come from the constant V1_COLUMNS
            ).to_arrow_table()
            good = pc.equal(pc.fill_null(result["kind"], ""), "OBJECT")
            bad = result.filter(pc.invert(good)).select(["__line", "kind", "__text"]).to_pylist()
            rejected = [
                RejectedRecord(
                    line=row["__line"],
                    reason="line is not valid JSON"
                    if row["kind"] is None
                    else f"line is a JSON {row['kind'].lower()}, not an object",
                    raw=redact_listener_text(row["__text"]),
                )
                for row in bad
            ]
            ok = result.filter(good)
            yield make_batch(
                path,
                "jsonl",
                {name: ok[name] for name in V1_COLUMNS},
                ok["__line"].combine_chunks(),
                rejected,
            )
    finally:
        con.close()


def csv_batches(path: str, data: bytes, text: str, batch_records: int) -> Iterator[RawBatch]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv

    header_line = text.lstrip().split("\n", 1)[0]
    header = [name.strip() for name in next(csv.reader([header_line]))]
    require_v1_columns(path, header, "CSV header", "expected a header with")
    if len(set(header)) != len(header):
        raise UnreadableFileError(path, "CSV header repeats a column name")
    del text
    listener_pos = header.index("listener_id")

    # pyarrow numbers invalid rows by non-empty physical line, skipping blank lines; map that
    # back to file line numbers. Newlines inside quoted values are not allowed (v1 has no
    # free text), so one record is always one line and this mapping holds.
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(buf)]))
    crlf = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13)
    nonempty_lines = np.flatnonzero((ends - starts - crlf) > 0) + 1

    invalid: list[tuple[int, str, str]] = []

    def on_invalid(row: Any) -> str:
        line = int(nonempty_lines[row.number - 1]) if row.number is not None else 0
        invalid.append(
            (
                line,
                f"CSV row has {row.actual_columns} fields, expected {row.expected_columns}",
                row.text,
            )
        )
        return "skip"

    present = [name for name in V1_COLUMNS if name in header]
    try:
        table = pcsv.read_csv(
            io.BytesIO(data),
            read_options=pcsv.ReadOptions(use_threads=False, block_size=16 << 20),
            parse_options=pcsv.ParseOptions(
                newlines_in_values=False, invalid_row_handler=on_invalid
            ),
            convert_options=pcsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                include_columns=present,
                null_values=[""],
                strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, ValueError) as exc:
        raise UnreadableFileError(path, f"not a readable CSV file: {exc}") from exc
    del data, buf
    invalid_lines = {line for line, _, _ in invalid}
    data_lines = nonempty_lines[1:]  # the first non-empty line is the header
    if invalid_lines:
        data_lines = data_lines[~np.isin(data_lines, np.fromiter(invalid_lines, np.int64))]
    rejected = [
        RejectedRecord(line=line, reason=reason, raw=_redact_csv_row(row, listener_pos))
        for line, reason, row in invalid
    ]
    for start in range(0, table.num_rows, batch_records) or [0]:
        chunk = table.slice(start, batch_records)
        yield make_batch(
            path,
            "csv",
            {name: chunk[name] for name in present},
            data_lines[start : start + chunk.num_rows],
            rejected if start == 0 else [],
        )


def _redact_csv_row(text: str, listener_pos: int) -> str:
    try:
        fields = next(csv.reader([text]))
    except (csv.Error, StopIteration):
        return redact_listener_text(text)
    if listener_pos < len(fields):
        fields[listener_pos] = REDACTED
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue()[:MAX_RAW_CHARS]
