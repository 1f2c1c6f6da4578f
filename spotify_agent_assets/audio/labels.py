"""Curated content-type labels: what the content-type classifier learns from.

Contract: ``<audio zone>/_labels.csv``, UTF-8 CSV with a header row and the columns
``track_id`` (the 22-character id; a ``spotify:track:`` URI or ``open.spotify.com`` link is
accepted) and ``content_type`` (``music``, ``speech``, ``other`` or ``silence``; what each covers:
`classification`); other columns are ignored.
The ``_`` prefix keeps the catalogue from taking it for audio. Whoever curates the audio keeps it
(the sample world writes its ground truth there). A row that cannot be used (an unknown label, a
bad id, a track labelled twice with different labels) is left out with its line and reason; the
others stand.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from spotify_agent_assets.spotify.ids import InvalidSpotifyIdError, normalize_spotify_id

LABELS_FILE = "_labels.csv"
CONTENT_TYPES = ("music", "speech", "other", "silence")
REQUIRED_COLUMNS = ("track_id", "content_type")


class LabelsFileError(ValueError):
    """The labels file as a whole is unusable (not UTF-8 CSV, a required column missing)."""


@dataclass(frozen=True)
class LabelProblem:
    line: int
    reason: str


@dataclass(frozen=True)
class ContentTypeLabels:
    labels: dict[str, str]
    problems: tuple[LabelProblem, ...]


def parse_content_type_labels(data: bytes, source: str = LABELS_FILE) -> ContentTypeLabels:
    """Labels by track id from the bytes of a labels file; ``source`` names it in errors."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise LabelsFileError(f"{source} is not UTF-8 text ({error}); expected a CSV") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise LabelsFileError(
            f"{source} lacks the column(s) {', '.join(missing)}; expected a header row with "
            f"{', '.join(REQUIRED_COLUMNS)} (found {reader.fieldnames or 'no header'})"
        )
    labels: dict[str, str] = {}
    lines: dict[str, int] = {}
    problems: list[LabelProblem] = []
    conflicted: set[str] = set()
    for row in reader:
        line = reader.line_num
        label = (row.get("content_type") or "").strip().lower()
        if label not in CONTENT_TYPES:
            problems.append(
                LabelProblem(
                    line, f"content_type {label!r} is not one of {', '.join(CONTENT_TYPES)}"
                )
            )
            continue
        try:
            track_id = normalize_spotify_id((row.get("track_id") or "").strip(), "track")
        except InvalidSpotifyIdError as error:
            problems.append(LabelProblem(line, str(error)))
            continue
        known = labels.get(track_id)
        if known is not None and known != label:
            problems.append(
                LabelProblem(
                    line,
                    f"track {track_id} is labelled {label!r} here and {known!r} on line "
                    f"{lines[track_id]}; both left out",
                )
            )
            conflicted.add(track_id)
            continue
        labels[track_id] = label
        lines.setdefault(track_id, line)
    for track_id in conflicted:
        labels.pop(track_id, None)
    return ContentTypeLabels(labels, tuple(problems))


def format_content_type_labels(labels: dict[str, str]) -> str:
    """A labels file's text for ``labels`` (track id -> content type), sorted by track id."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(REQUIRED_COLUMNS)
    for track_id in sorted(labels):
        writer.writerow((track_id, labels[track_id]))
    return out.getvalue()
