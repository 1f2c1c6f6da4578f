"""Hand-kept social exports (TikTok, Instagram, ... any platform without a connector) dropped
in ``<landing>/social/`` as ``*.csv``, ``*.json`` (a list of objects) or ``*.jsonl``.

Schema, one record per artist, platform and day (column names exact, CSV with a header)::

    date        YYYY-MM-DD, the day the numbers describe
    artist_id   Spotify artist id of a roster artist
    platform    lowercase name: tiktok, instagram, ... (letters, digits, _)
    source_id   the account's id or handle on that platform
    followers   whole number >= 0, or empty
    views       whole number >= 0 (views, plays), or empty
    listeners   whole number >= 0 (monthly listeners, reach), or empty

A record that breaks the schema is set aside with its file, line and reason; the rest land.
A file that cannot be read at all is set aside whole. Records of other days are left for their
own partitions.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spotify_agent_assets.activation.social_connector import SocialFailure, SocialMetric, count

IMPORT_COLUMNS = ("date", "artist_id", "platform", "source_id", "followers", "views", "listeners")
METRICS = ("followers", "views", "listeners")
PLATFORM = re.compile(r"^[a-z][a-z0-9_]{1,31}$")
SUFFIXES = (".csv", ".json", ".jsonl")
IMPORT = "import"


@dataclass
class ImportResult:
    metrics: list[SocialMetric] = field(default_factory=list)
    failures: list[SocialFailure] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    other_days: int = 0


def import_social_files(folder: Path, day: dt.date, roster_ids: Collection[str]) -> ImportResult:
    """The records of ``day`` in every import file of ``folder`` (sorted by name, so the
    first of two records for the same artist and platform wins, deterministically)."""
    result = ImportResult()
    if not folder.is_dir():
        return result
    roster = set(roster_ids)
    seen: dict[tuple[str, str], str] = {}
    real_folder = folder.resolve()
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in SUFFIXES):
        result.files.append(path.name)
        # Whoever may drop files here must not make the import read files elsewhere.
        if not path.resolve().is_relative_to(real_folder):
            reason = "a symlink out of the social landing folder; expected a file inside it"
            result.failures.append(SocialFailure(IMPORT, path.name, "(file)", reason))
            continue
        try:
            records = _records(path)
        except ValueError as error:
            result.failures.append(SocialFailure(IMPORT, path.name, "(file)", str(error)))
            continue
        for line, record in records:
            where = f"{path.name}:{line}"
            try:
                metric, record_day = _metric(record, roster, path.name)
            except ValueError as error:
                field_name, _, reason = str(error).partition(": ")
                result.failures.append(SocialFailure(IMPORT, where, field_name, reason))
                continue
            if record_day != day:
                result.other_days += 1
                continue
            key = (metric.artist_id, metric.platform)
            if key in seen:
                result.failures.append(
                    SocialFailure(IMPORT, where, "(record)", f"repeats the record at {seen[key]}")
                )
                continue
            seen[key] = where
            result.metrics.append(metric)
    return result


def _records(path: Path) -> list[tuple[int, Any]]:
    """(line or index, record) pairs; ValueError when the file as a whole is unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    if path.suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        missing = [c for c in IMPORT_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"CSV header lacks {', '.join(missing)}")
        return [(reader.line_num, row) for row in reader]
    if path.suffix == ".jsonl":
        records = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    records.append((number, json.loads(line)))
                except json.JSONDecodeError:
                    records.append((number, None))
        return records
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not valid JSON (line {error.lineno})") from None
    if not isinstance(doc, list):
        raise ValueError("expected a JSON list of records")
    return list(enumerate(doc, start=1))


def _metric(record: Any, roster: set[str], file_name: str) -> tuple[SocialMetric, dt.date]:
    if not isinstance(record, dict):
        raise ValueError("(record): not an object / not valid JSON")
    text = {k: record.get(k) for k in IMPORT_COLUMNS}
    for name in ("date", "artist_id", "platform", "source_id"):
        if not isinstance(text[name], str) or not text[name].strip():
            raise ValueError(f"{name}: required (a non-empty string), got {text[name]!r}")
    try:
        day = dt.date.fromisoformat(text["date"].strip())
    except ValueError:
        raise ValueError(f"date: expected YYYY-MM-DD, got {text['date']!r}") from None
    artist_id, platform = text["artist_id"].strip(), text["platform"].strip()
    if artist_id not in roster:
        raise ValueError("artist_id: not a roster artist")
    if not PLATFORM.match(platform):
        raise ValueError(f"platform: expected a lowercase name (a-z, 0-9, _), got {platform!r}")
    numbers = {}
    for name in METRICS:
        value = text[name]
        value = None if value is None or (isinstance(value, str) and not value.strip()) else value
        numbers[name] = count(value, name)
    if all(v is None for v in numbers.values()):
        raise ValueError(f"(record): none of {', '.join(METRICS)} is given")
    metric = SocialMetric(
        artist_id=artist_id,
        platform=platform,
        source_id=text["source_id"].strip(),
        source=f"import:{file_name}",
        **numbers,
    )
    return metric, day
