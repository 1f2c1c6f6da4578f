"""The Parquet lake: one directory per table, one file per partition, atomic replacement.

Layout (the storage contract every reader relies on)::

    <root>/<group>/<asset>/part-0.parquet                      unpartitioned
    <root>/<group>/<asset>/date=YYYY-MM-DD/part-0.parquet      daily partitions

``root`` is a local directory or an ``s3://bucket/prefix`` URL. Partition files keep their
``date`` column (a DATE) so a file read on its own is still complete. Local files are replaced
through ``lake.atomic_file`` (a hidden ``.part-0.parquet.<id>.tmp`` renamed into place; a
killed writer's leftover is removed by the next write of that partition); on S3 an object is
one PUT.

Files are zstd-compressed; every column is dictionary-encoded (dictionary pages up to
``DICTIONARY_PAGE_LIMIT``, plain once that is outgrown) and has min/max statistics, unless the
table's Arrow schema says otherwise for the column in its field metadata (``WRITE_HINT``, set
with ``with_write_hints``): hinted columns get a delta encoding instead of a dictionary
(``TEXT_DELTA``, ``INTEGER_DELTA``). Hints are removed before writing: the stored schema is
the table's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spotify_agent_assets.lake.atomic_file import atomic_path
from spotify_agent_assets.lake.atomic_file import write_bytes as write_local_bytes
from spotify_agent_assets.lake.s3 import S3Settings, arrow_filesystem, split_s3_url

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from pyarrow.fs import FileSystem

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
PARTITION_KEY_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PARTITION_COLUMN = "date"
PARTITION_DIR_PREFIX = f"{PARTITION_COLUMN}="
PART_FILE = "part-0.parquet"

# Field metadata key by which a table tells the writer what a column's values are like:
#   DISTINCT_VALUES  nearly every value differs (times, amounts): no dictionary attempt, which
#                    would build a hash table of every value only to fall back to plain;
#   RANDOM_IDS       unique random ids or digests: no dictionary either, and no statistics, whose
#                    min and max span the whole key space in every row group and so never prune.
WRITE_HINT = b"lake.write"
DISTINCT_VALUES = b"distinct_values"
RANDOM_IDS = b"random_ids"
# Arrow's default is 1 MiB, which a day's distinct track ids (~50k of 22 characters) outgrow,
# falling back to plain half way through the column.
DICTIONARY_PAGE_LIMIT = 8 << 20
WRITE_HINTS = frozenset({DISTINCT_VALUES, RANDOM_IDS})
# Encodings of hinted columns instead of a dictionary. Text goes as one run of bytes after
# its delta-packed lengths (DELTA_LENGTH_BYTE_ARRAY): in PLAIN every value carries a 4-byte
# length, the same bytes every few dozen, in which zstd finds a short match each time; random
# hex without them leaves zstd only the literals to code (a day of stream_events is written in
# a sixth less CPU, and its file is 5% smaller). Integers and times are delta-packed (DELTA_BINARY_PACKED): times sorted in
# the file take a few bits each, random amounts no more than zstd made of them.
TEXT_DELTA = "DELTA_LENGTH_BYTE_ARRAY"
INTEGER_DELTA = "DELTA_BINARY_PACKED"


class TableNotFoundError(FileNotFoundError):
    """A lake table, or some of its requested partitions, has never been written."""


@dataclass(frozen=True)
class WriteResult:
    """What one ``ParquetLake.write`` left behind: the file's URI, its rows and its size."""

    uri: str
    rows: int
    bytes: int


def validate_name(kind: str, value: str) -> str:
    """Group and asset names become path segments and SQL identifiers, so keep them boring."""
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise ValueError(
            f"invalid lake {kind} name {value!r}: expected lowercase letters, digits and "
            f"underscores, starting with a letter ({NAME_PATTERN.pattern})"
        )
    return value


def validate_partition_key(key: str) -> date:
    """Daily partition keys are ISO dates; anything else would break the ``date=`` layout."""
    if not isinstance(key, str) or not PARTITION_KEY_PATTERN.fullmatch(key):
        raise ValueError(f"invalid partition key {key!r}: expected a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(key)
    except ValueError:
        raise ValueError(f"invalid partition key {key!r}: not a calendar date") from None


class ParquetLake:
    """Reads and writes lake tables under ``root`` (a local path or ``s3://bucket/prefix``)."""

    def __init__(self, root: str, s3: S3Settings | None = None) -> None:
        if root.startswith("s3://"):
            bucket, prefix = split_s3_url(root)
            self.root = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
            self.s3: S3Settings | None = s3 or S3Settings.from_env()
        elif "://" in root:
            raise ValueError(f"unsupported lake root {root!r}: expected a local path or s3:// URL")
        else:
            # Absolute, because warehouse views embed these paths and are opened from anywhere.
            self.root = str(Path(root).expanduser().resolve())
            self.s3 = None

    def __repr__(self) -> str:
        return f"ParquetLake(root={self.root!r}, s3={self.s3!r})"

    @property
    def is_s3(self) -> bool:
        return self.s3 is not None

    @cached_property
    def filesystem(self) -> FileSystem:
        """The Arrow filesystem behind the lake; its paths are URIs without ``s3://``."""
        from pyarrow.fs import LocalFileSystem

        return arrow_filesystem(self.s3) if self.s3 is not None else LocalFileSystem()

    def table_uri(self, group: str, asset: str) -> str:
        return f"{self.root}/{validate_name('group', group)}/{validate_name('asset', asset)}"

    def partition_uri(self, group: str, asset: str, partition_key: str | None) -> str:
        """The directory holding one partition (the table directory when unpartitioned)."""
        table = self.table_uri(group, asset)
        if partition_key is None:
            return table
        validate_partition_key(partition_key)
        return f"{table}/{PARTITION_DIR_PREFIX}{partition_key}"

    def glob(self, group: str, asset: str, partitioned: bool) -> str:
        """The pattern DuckDB reads; temp files (``.name.parquet.<id>.tmp``) never match it."""
        table = self.table_uri(group, asset)
        return f"{table}/{PARTITION_DIR_PREFIX}*/*.parquet" if partitioned else f"{table}/*.parquet"

    def write(
        self,
        table: pa.Table | pd.DataFrame,
        group: str,
        asset: str,
        partition_key: str | None = None,
        *,
        footer: Mapping[str, str] | None = None,
    ) -> WriteResult:
        """Replace the table (or one of its partitions) with ``table``, atomically.

        An empty table is still written, with its schema, so a re-run that yields no rows
        replaces what an earlier run left in the partition. ``footer`` entries are stored in
        the file's Parquet footer (read back with ``read_footer``), in the same atomic write
        as the rows they describe.
        """
        self._check_layout(group, asset, partitioned=partition_key is not None)
        return self._write_file(table, group, asset, partition_key, footer)

    def write_partitions(
        self,
        group: str,
        asset: str,
        partitions: Iterable[tuple[str, pa.Table, Mapping[str, str] | None]],
    ) -> list[WriteResult]:
        """``write`` for many partitions of one table, given as ``(key, table, footer)``.

        The layout is checked once, not per partition: a backfill of years writes thousands
        of partitions, and listing the table folder for each one would cost quadratic time.
        ``partitions`` may be a generator, so only one partition is held at a time.
        """
        self._check_layout(group, asset, partitioned=True)
        return [
            self._write_file(table, group, asset, key, footer) for key, table, footer in partitions
        ]

    def _write_file(
        self,
        table: pa.Table | pd.DataFrame,
        group: str,
        asset: str,
        partition_key: str | None,
        footer: Mapping[str, str] | None,
    ) -> WriteResult:
        name = f"{group}.{asset}"
        arrow = _to_arrow(table, name)
        directory = self.partition_uri(group, asset, partition_key)
        if partition_key is not None:
            arrow = _with_partition_column(arrow, partition_key, name)
        if footer:
            arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), **footer})

        target = f"{directory}/{PART_FILE}"
        if self.is_s3:
            size = self._put_object(arrow, _fs_path(target))
        else:
            size = _replace_local_file(arrow, Path(target))
        # Only after the new file is in place, so readers never see the partition empty.
        self._remove_stale_files(directory, keep=PART_FILE)
        return WriteResult(uri=target, rows=arrow.num_rows, bytes=size)

    def read(self, group: str, asset: str, partition_keys: Sequence[str] | None = None) -> pa.Table:
        """The whole table, or only ``partition_keys`` (every one of which must exist)."""
        import pyarrow as pa

        name = f"{group}.{asset}"
        files = self._data_files(group, asset)
        if not files:
            raise TableNotFoundError(
                f"lake table {name} does not exist: no Parquet files under "
                f"{self.table_uri(group, asset)}"
            )
        if partition_keys is None:
            paths = [path for key in sorted(files, key=str) for path in files[key]]
        else:
            if isinstance(partition_keys, str):
                raise TypeError("partition_keys must be a sequence of keys, not one string")
            if not partition_keys:
                raise ValueError(f"no partition keys given to read from lake table {name}")
            if None in files:
                raise ValueError(f"lake table {name} is not partitioned; read it without keys")
            for key in partition_keys:
                validate_partition_key(key)
            missing = sorted(set(partition_keys) - files.keys())
            if missing:
                raise TableNotFoundError(
                    f"lake table {name} has no partition(s) {', '.join(missing)} "
                    f"under {self.table_uri(group, asset)}"
                )
            paths = [path for key in sorted(set(partition_keys)) for path in files[key]]

        tables = [self._read_file(path) for path in paths]
        # Permissive so an all-null column in one partition still joins the typed ones.
        return pa.concat_tables(tables, promote_options="permissive")

    def read_footer(
        self, group: str, asset: str, partition_key: str | None = None
    ) -> dict[str, str] | None:
        """The footer entries ``write`` stored with a table or partition (Arrow's own schema
        entry left out), or ``None`` when it was never written. Reads only the footer."""
        import pyarrow.parquet as pq

        path = _fs_path(f"{self.partition_uri(group, asset, partition_key)}/{PART_FILE}")
        try:
            with self.filesystem.open_input_file(path) as handle:
                metadata = pq.read_schema(handle).metadata or {}
        except FileNotFoundError:
            return None
        return {
            key.decode(): value.decode()
            for key, value in metadata.items()
            if not key.startswith((b"ARROW:", b"pandas"))
        }

    def exists(self, group: str, asset: str, partition_key: str | None = None) -> bool:
        files = self._data_files(group, asset)
        if partition_key is None:
            return bool(files)
        validate_partition_key(partition_key)
        return partition_key in files

    def partitions(self, group: str, asset: str) -> list[str]:
        """The partition keys written so far, oldest first."""
        return sorted(key for key in self._data_files(group, asset) if key is not None)

    def file_uris(self, group: str, asset: str) -> dict[str | None, list[str]]:
        """The table's visible Parquet files as URIs DuckDB can read, by partition key
        (``None`` for an unpartitioned table)."""
        prefix = "s3://" if self.is_s3 else ""
        return {
            key: [f"{prefix}{path}" for path in paths]
            for key, paths in self._data_files(group, asset).items()
        }

    def read_schema(self, uri: str) -> pa.Schema:
        """The schema in one file's footer, without reading its rows."""
        import pyarrow.parquet as pq

        with self.filesystem.open_input_file(_fs_path(uri)) as handle:
            return pq.read_schema(handle)

    def write_file(self, uri: str, data: bytes) -> str:
        """Replace the file at ``uri`` (inside the lake) with ``data``, atomically; returns it.

        For files that travel with a table but are not Parquet (report pages, charts).
        """
        if not uri.startswith(f"{self.root}/"):
            raise ValueError(f"cannot write {uri}: it is outside the lake root {self.root}")
        if self.is_s3:
            with self.filesystem.open_output_stream(_fs_path(uri)) as out:
                out.write(data)
        else:
            write_local_bytes(uri, data)
        return uri

    def _data_files(self, group: str, asset: str) -> dict[str | None, list[str]]:
        """Visible Parquet files by partition key (``None`` for an unpartitioned table)."""
        from pyarrow.fs import FileSelector, FileType

        table_path = _fs_path(self.table_uri(group, asset))
        selector = FileSelector(table_path, recursive=True, allow_not_found=True)
        found: dict[str | None, list[str]] = {}
        for info in self.filesystem.get_file_info(selector):
            if info.type != FileType.File or not _is_visible_parquet(info.base_name):
                continue
            parts = info.path[len(table_path) :].strip("/").split("/")
            if len(parts) == 1:
                found.setdefault(None, []).append(info.path)
            elif len(parts) == 2 and parts[0].startswith(PARTITION_DIR_PREFIX):
                found.setdefault(parts[0][len(PARTITION_DIR_PREFIX) :], []).append(info.path)
        return {key: sorted(paths) for key, paths in found.items()}

    def _check_layout(self, group: str, asset: str, partitioned: bool) -> None:
        """Refuse to mix layouts: the warehouse view reads one glob or the other, never both."""
        from pyarrow.fs import FileSelector, FileType

        name = f"{group}.{asset}"
        table_path = _fs_path(self.table_uri(group, asset))
        selector = FileSelector(table_path, recursive=False, allow_not_found=True)
        for info in self.filesystem.get_file_info(selector):
            if partitioned and info.type == FileType.File and _is_visible_parquet(info.base_name):
                raise ValueError(
                    f"lake table {name} is stored unpartitioned; cannot write a partition into it"
                )
            if (
                not partitioned
                and info.type == FileType.Directory
                and info.base_name.startswith(PARTITION_DIR_PREFIX)
            ):
                raise ValueError(
                    f"lake table {name} is stored in daily partitions; pass a partition_key"
                )

    def _put_object(self, table: pa.Table, path: str) -> int:
        """Serialise first, then upload in one request: S3 shows an object only once complete."""
        import pyarrow as pa

        buffer = pa.BufferOutputStream()
        _write_parquet(table, buffer)
        data = buffer.getvalue()
        with self.filesystem.open_output_stream(path) as out:
            out.write(data)
        return data.size

    def _remove_stale_files(self, directory_uri: str, keep: str) -> None:
        from pyarrow.fs import FileSelector, FileType

        selector = FileSelector(_fs_path(directory_uri), recursive=False, allow_not_found=True)
        for info in self.filesystem.get_file_info(selector):
            if (
                info.type == FileType.File
                and info.base_name != keep
                and _is_visible_parquet(info.base_name)
            ):
                self.filesystem.delete_file(info.path)

    def _read_file(self, path: str) -> pa.Table:
        import pyarrow.parquet as pq

        # Read through an open file, not a path, so Arrow does not add hive columns itself.
        with self.filesystem.open_input_file(path) as handle:
            return pq.read_table(handle)


def _fs_path(uri: str) -> str:
    return uri.removeprefix("s3://")


def _is_visible_parquet(base_name: str) -> bool:
    return base_name.endswith(".parquet") and not base_name.startswith(".")


def _to_arrow(table: Any, name: str) -> pa.Table:
    import pyarrow as pa

    if isinstance(table, pa.Table):
        return table
    import pandas as pd

    if isinstance(table, pd.DataFrame):
        # The index is an in-memory artefact; columns are the table.
        return pa.Table.from_pandas(table, preserve_index=False)
    raise TypeError(
        f"cannot write {type(table).__name__} to lake table {name}: "
        "expected a pyarrow.Table or pandas.DataFrame"
    )


def _with_partition_column(table: pa.Table, partition_key: str, name: str) -> pa.Table:
    """Add or normalise the ``date`` column and check every row belongs to ``partition_key``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    day = validate_partition_key(partition_key)
    if PARTITION_COLUMN not in table.column_names:
        return table.append_column(
            pa.field(PARTITION_COLUMN, pa.date32()),
            pa.array([day] * table.num_rows, type=pa.date32()),
        )
    index = table.schema.get_field_index(PARTITION_COLUMN)
    try:
        column = pc.cast(table.column(index), pa.date32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise ValueError(
            f"column {PARTITION_COLUMN!r} of lake table {name} is "
            f"{table.schema.field(index).type}, which cannot be read as a DATE: {error}"
        ) from error
    matches = pc.fill_null(pc.equal(column, pa.scalar(day, pa.date32())), False)
    # pc.all of no rows is null, not true; an empty slice always fits its partition.
    if table.num_rows and not pc.all(matches).as_py():
        others = pc.unique(pc.filter(column, pc.invert(matches))).to_pylist()
        shown = ", ".join(sorted("null" if d is None else d.isoformat() for d in others))
        raise ValueError(
            f"rows of lake table {name} written to partition {partition_key} have "
            f"{PARTITION_COLUMN} {shown}"
        )
    return table.set_column(index, pa.field(PARTITION_COLUMN, pa.date32()), column)


def with_write_hints(schema: pa.Schema, hints: Mapping[str, bytes]) -> pa.Schema:
    """``schema`` with ``WRITE_HINT`` set on the columns named in ``hints`` (column name to
    ``DISTINCT_VALUES`` or ``RANDOM_IDS``); only how those columns are written changes."""
    import pyarrow as pa

    unknown = sorted(set(hints) - set(schema.names))
    if unknown:
        raise ValueError(f"write hints for columns not in the schema: {', '.join(unknown)}")
    invalid = {name: hint for name, hint in hints.items() if hint not in WRITE_HINTS}
    if invalid:
        raise ValueError(
            f"unknown write hints {invalid}: expected {DISTINCT_VALUES!r} or {RANDOM_IDS!r}"
        )
    fields = [
        field.with_metadata({**(field.metadata or {}), WRITE_HINT: hints[field.name]})
        if field.name in hints
        else field
        for field in schema
    ]
    return pa.schema(fields, metadata=schema.metadata)


def _write_parquet(table: pa.Table, sink: Any) -> None:
    """``table`` as zstd Parquet, each column written as its ``WRITE_HINT`` says."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    hints = {field.name: (field.metadata or {}).get(WRITE_HINT) for field in table.schema}
    encodings: dict[str, str] = {}
    if any(hints.values()):
        # The hints only steer this write; the stored schema is the table's own.
        fields = [field.remove_metadata() if hints[field.name] else field for field in table.schema]
        table = pa.Table.from_arrays(table.columns, schema=pa.schema(fields, table.schema.metadata))
        encodings = _delta_encodings(table.schema, [name for name, hint in hints.items() if hint])
    pq.write_table(
        table,
        sink,
        compression="zstd",
        use_dictionary=[name for name, hint in hints.items() if hint is None],
        write_statistics=[name for name, hint in hints.items() if hint != RANDOM_IDS],
        dictionary_pagesize_limit=DICTIONARY_PAGE_LIMIT,
        column_encoding=encodings or None,
    )


def _delta_encodings(schema: pa.Schema, names: list[str]) -> dict[str, str]:
    """The delta encoding for each of the columns ``names`` whose type has one (others keep
    Parquet's default)."""
    import pyarrow as pa

    encodings = {}
    for name in names:
        kind = schema.field(name).type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind):
            encodings[name] = TEXT_DELTA
        elif pa.types.is_integer(kind) or pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            encodings[name] = INTEGER_DELTA
    return encodings


def _replace_local_file(table: pa.Table, target: Path) -> int:
    with atomic_path(target) as temp, open(temp, "wb") as handle:
        _write_parquet(table, handle)
    return target.stat().st_size
