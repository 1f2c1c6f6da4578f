"""The reader for Spotify's extended streaming history export (a JSON array per listener).

Apart from the v1 readers because the export is mapped onto stream event v1 here: fields
renamed, podcasts and audiobooks rejected, the listener taken from ``username`` or the
export's folder, and the fields that identify a person or device never copied anywhere.
"""

from __future__ import annotations

import json
import posixpath
from typing import Any

from spotify_agent_assets.streams.raw_batch import (
    MAX_RAW_CHARS,
    RawBatch,
    RejectedRecord,
    UnreadableFileError,
    make_batch,
)

NOT_MUSIC_REASON = "not a music track (episode/audiobook)"

# Extended streaming history fields that identify a person or device; never copied anywhere.
EXTENDED_PRIVATE_FIELDS = frozenset(
    {"username", "ip_addr", "ip_addr_decrypted", "user_agent_decrypted"}
)
EXTENDED_NON_MUSIC_FIELDS = (
    "spotify_episode_uri",
    "episode_name",
    "episode_show_name",
    "audiobook_uri",
    "audiobook_title",
    "audiobook_chapter_uri",
    "audiobook_chapter_title",
)
# Stream event v1 column <- extended history field (event_id and listener_id are derived).
EXTENDED_FIELD_MAP = {
    "track_id": "spotify_track_uri",
    "ts": "ts",
    "ms_played": "ms_played",
    "country": "conn_country",
    "platform": "platform",
    "reason_start": "reason_start",
    "reason_end": "reason_end",
    "shuffle": "shuffle",
    "skipped": "skipped",
    "offline": "offline",
}


def extended_history_batch(path: str, fs_path: str, text: str) -> RawBatch:
    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableFileError(
            path, f"not valid JSON ({exc}): expected a Spotify extended streaming history array"
        ) from None
    if not isinstance(records, list) or not any(
        isinstance(r, dict) and {"ts", "ms_played", "spotify_track_uri"} <= r.keys()
        for r in records
    ):
        raise UnreadableFileError(
            path, "expected a JSON array of extended streaming history objects"
        )
    folder = posixpath.basename(posixpath.dirname(fs_path.replace("\\", "/")))
    plays: list[dict[str, Any]] = []
    listeners: list[str | None] = []
    lines: list[int] = []
    rejected: list[RejectedRecord] = []
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            rejected.append(
                RejectedRecord(number, "record is not a JSON object", _safe_json(record))
            )
            continue
        listener = _text(record.get("username")) or folder
        if record.get("spotify_track_uri") is None and any(
            record.get(name) is not None for name in EXTENDED_NON_MUSIC_FIELDS
        ):
            rejected.append(
                RejectedRecord(number, NOT_MUSIC_REASON, _safe_extended(record), listener)
            )
            continue
        plays.append(record)
        listeners.append(listener)
        lines.append(number)
    # Column by column: a whole history is millions of plays, and the text of most values is
    # the string itself, taken without a call.
    columns: dict[str, list[Any]] = {"listener_id": listeners}
    for column, source in EXTENDED_FIELD_MAP.items():
        values = [play.get(source) for play in plays]
        columns[column] = [v if v.__class__ is str and v else _text(v) for v in values]
    return make_batch(path, "extended_history", columns, lines, rejected, folder)


def _text(value: Any) -> str | None:
    """JSON scalar to the text a v1 producer would have written (bools as true/false)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if value.__class__ is int:
        return str(value)  # what json.dumps writes for an int, without the encoder
    return json.dumps(value)


def _safe_extended(record: dict[str, Any]) -> str:
    """An extended-history record fit to store: no IP, user agent or username."""
    return _safe_json({k: v for k, v in record.items() if k not in EXTENDED_PRIVATE_FIELDS})


def _safe_json(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)[:MAX_RAW_CHARS]
