"""The Parquet landing-file reader: streamed by row group, repetitive text dictionary-encoded.

Apart from ``readers`` because Parquet keeps its native types (``ts``, ``ms_played``, the
flags) and is never decoded as text; how it reads text columns is what lets validation
screen them value by value.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from spotify_agent_assets.streams.event_schema import V1_COLUMNS
from spotify_agent_assets.streams.raw_batch import (
    RawBatch,
    UnreadableFileError,
    make_batch,
    require_v1_columns,
)

if TYPE_CHECKING:
    import pyarrow as pa
    from pyarrow.fs import FileSystem


# Parquet text columns with few distinct values per many rows, read dictionary-encoded.
# Not the listener: a row group holds nearly as many listeners as rows, and rebuilding a
# dictionary the writer gave up on costs five times reading plain text.
DICTIONARY_READ_COLUMNS = (
    "track_id",
    "country",
    "platform",
    "reason_start",
    "reason_end",
)


def parquet_batches(path: str, fs: FileSystem, fs_path: str) -> Iterator[RawBatch]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        source = fs.open_input_file(fs_path)
        parquet = pq.ParquetFile(source)
    except (pa.ArrowException, OSError) as exc:
        raise UnreadableFileError(
            path, f"not a readable Parquet file (truncated or corrupt?): {exc}"
        ) from exc
    names = set(parquet.schema_arrow.names)
    require_v1_columns(path, names, "Parquet file", "expected")
    present = [name for name in V1_COLUMNS if name in names]
    # Repetitive text is read as dictionaries (from the file's own dictionary pages where it
    # has them): validation then checks each distinct value once, and ingestion keeps the
    # indices instead of a string per row.
    repetitive = [
        name
        for name in DICTIONARY_READ_COLUMNS
        if name in names and _is_plain_text(parquet.schema_arrow.field(name).type)
    ]
    if repetitive:
        try:
            parquet = pq.ParquetFile(source, read_dictionary=repetitive)
        except (pa.ArrowException, OSError) as exc:
            raise UnreadableFileError(
                path, f"not a readable Parquet file (truncated or corrupt?): {exc}"
            ) from exc
    offset = 0
    for group in range(max(parquet.num_row_groups, 1)):
        try:
            chunk = (
                parquet.read_row_group(group, columns=present)
                if parquet.num_row_groups
                else parquet.schema_arrow.empty_table().select(present)
            )
        except (pa.ArrowException, OSError) as exc:
            raise UnreadableFileError(
                path, f"Parquet row group {group} cannot be read (truncated or corrupt?): {exc}"
            ) from exc
        lines = np.arange(offset + 1, offset + chunk.num_rows + 1, dtype=np.int64)
        offset += chunk.num_rows
        yield make_batch(path, "parquet", {n: chunk[n] for n in present}, lines, [])


def _is_plain_text(arrow_type: pa.DataType) -> bool:
    import pyarrow as pa

    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
