"""Fill the local stream landing zone with the sample world's listening events (``make run``).

    python -m spotify_agent_assets.sample_world.write_landing_zone [--force]

Writes nothing when the zone already holds this sample (a ``_sample_world.json`` marker, which
ingestion ignores like every ``_``-prefixed name): rewriting identical files would only bump
their modification times and make the landing sensor re-run every day.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from spotify_agent_assets.lake.atomic_file import write_bytes
from spotify_agent_assets.sample_world.zone_marker import run_cli, saved_payload, write_marker

if TYPE_CHECKING:
    from spotify_agent_assets.sample_world.listening import ListeningWorld

MARKER = "_sample_world.json"
# Bump when the sample's files change, so existing zones are rewritten once.
SAMPLE_VERSION = 2
IMPERFECT_DAY = date(2026, 10, 15)


def write_zone(landing_dir: Path, *, force: bool = False) -> tuple[int, bool]:
    """(files in the sample, whether they were written now)."""
    from spotify_agent_assets.sample_world.landing_files import write_sample_landing_zone
    from spotify_agent_assets.sample_world.listening import ListeningWorld
    from spotify_agent_assets.sample_world.world import SampleWorld

    world = SampleWorld()
    listening = ListeningWorld(world)
    stamp = {
        "version": SAMPLE_VERSION,
        "seed": world.seed,
        "listeners": listening.n_listeners,
        "first_day": listening.first_day.isoformat(),
        "days": listening.days,
    }
    marker = landing_dir / "streams" / MARKER
    saved = None if force else saved_payload(marker, stamp)
    if saved is not None:
        return int(saved.get("files", 0)), False
    written = write_sample_landing_zone(listening, landing_dir)
    written.append(write_imperfect_delivery(listening, landing_dir))
    write_marker(marker, stamp, files=len(written))
    return len(written), True


def write_imperfect_delivery(listening: ListeningWorld, landing_dir: Path) -> Path:
    """A partner re-delivery on the spike day with what real feeds contain: an event that was
    already delivered, a negative play time, a malformed track id and a truncated line. The
    good-looking duplicate must be dropped and the other three quarantined."""
    from spotify_agent_assets.sample_world.landing_files import daily_file_path

    day = IMPERFECT_DAY
    first = listening.events_for_day(day).slice(0, 3).to_pylist()
    rows = [dict(row, ts=row["ts"].isoformat().replace("+00:00", "Z")) for row in first]
    rows[1]["event_id"] += "-negative"
    rows[1]["ms_played"] = -1200
    rows[2]["event_id"] += "-badtrack"
    rows[2]["track_id"] = "spotify:track:tooShort"
    lines = [json.dumps(row) for row in rows] + ['{"event_id": "cut-off", "listener_']
    path = daily_file_path(landing_dir, day, "jsonl", part=99, source="partner-redelivery")
    write_bytes(path, ("\n".join(lines) + "\n").encode())
    return path


def main(argv: list[str] | None = None) -> int:
    return run_cli(argv, __doc__.splitlines()[0], "sample stream landing zone", write_zone)


if __name__ == "__main__":
    sys.exit(main())
