"""Search anything a run leaves behind for planted secrets and raw listener ids.

A needle is a value that must never appear, in each form text may carry it in: raw, URL
encoded, and for the Spotify client the HTTP Basic header's base64 of ``id:secret``. Listener
ids match only as whole tokens (a handle such as ``mara_k1987`` inside a longer word is not
that listener). Files are read as what they are: gzip decompressed, Parquet read cell by cell
(its pages are compressed, so their bytes would hide a value), everything else searched as
raw bytes (DuckDB and SQLite files keep short strings uncompressed).
"""

from __future__ import annotations

import base64
import gzip
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote


@dataclass(frozen=True)
class Needle:
    """``label`` names the needle in a finding (never its value, which is a secret)."""

    label: str
    pattern: re.Pattern[bytes]


@dataclass(frozen=True)
class Finding:
    where: str
    label: str

    def __str__(self) -> str:
        return f"{self.label} in {self.where}"


def secret_needles(
    secrets: Mapping[str, str], *, basic_auth: tuple[str, str] | None = None
) -> list[Needle]:
    """A needle per secret (``{variable: value}``) and form: raw and URL encoded, plus the
    base64 of ``client_id:client_secret`` when ``basic_auth`` is given."""
    needles = []
    for name, value in secrets.items():
        forms = {"raw": value, "url-encoded": quote(value, safe="")}
        for form, text in forms.items():
            if form != "raw" and text == value:
                continue
            needles.append(Needle(f"{name} ({form})", re.compile(re.escape(text.encode()))))
    if basic_auth is not None:
        pair = base64.b64encode(f"{basic_auth[0]}:{basic_auth[1]}".encode())
        needles.append(Needle("Spotify client (base64 id:secret)", re.compile(re.escape(pair))))
    return needles


def listener_needles(listener_ids: Iterable[str]) -> list[Needle]:
    """One needle for all raw listener ids, matching whole tokens only."""
    ids = sorted({i for i in listener_ids if i}, key=len, reverse=True)
    if not ids:
        return []
    alternatives = b"|".join(re.escape(i.encode()) for i in ids)
    token = rb"(?<![A-Za-z0-9_.])(?:" + alternatives + rb")(?![A-Za-z0-9_])"
    return [Needle("a raw listener id", re.compile(token))]


def scan_bytes(data: bytes, where: str, needles: Iterable[Needle]) -> list[Finding]:
    return [Finding(where, n.label) for n in needles if n.pattern.search(data)]


def scan_text(text: str, where: str, needles: Iterable[Needle]) -> list[Finding]:
    return scan_bytes(text.encode("utf-8", "surrogateescape"), where, needles)


def file_bytes(path: Path) -> bytes:
    """What ``path`` holds, readable: gzip decompressed, Parquet as its cells' text."""
    if path.suffix == ".parquet":
        import json

        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError):  # not Parquet after all: search its bytes
            return path.read_bytes()
        return json.dumps(table.to_pylist(), default=str).encode()
    data = path.read_bytes()
    if path.suffix == ".gz" or data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError):
            return data
    return data


def scan_tree(
    root: Path, needles: Iterable[Needle], *, skip: Iterable[Path] = ()
) -> tuple[list[Finding], int]:
    """Findings in every file under ``root`` (or in ``root``, a file), except under ``skip``,
    and how many files were read, so a caller can tell an empty tree from a clean one."""
    needles = list(needles)
    skipped = [p.resolve() for p in skip]
    findings: list[Finding] = []
    count = 0
    for path in [root] if root.is_file() else sorted(root.rglob("*")):
        if not path.is_file() or any(path.resolve().is_relative_to(s) for s in skipped):
            continue
        count += 1
        where = path.name if path == root else str(path.relative_to(root))
        findings += scan_bytes(file_bytes(path), where, needles)
    return findings, count
