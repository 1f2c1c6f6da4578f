"""Write a sample landing zone once: a stamp file says which sample a zone already holds.

Rewriting identical sample files would only bump their modification times and make the
landing sensors re-run everything, so the writers check the stamp first. The marker's name
starts with ``_``, which every landing-zone scanner ignores.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spotify_agent_assets.environment import load_settings
from spotify_agent_assets.lake.atomic_file import write_bytes


def saved_payload(marker: Path, stamp: dict[str, Any]) -> dict[str, Any] | None:
    """What the marker recorded, if it was written for exactly this ``stamp``."""
    try:
        saved = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    if isinstance(saved, dict) and saved.get("stamp") == stamp:
        return saved
    return None


def write_marker(marker: Path, stamp: dict[str, Any], **facts: Any) -> None:
    """Record the stamp (atomically: a crash leaves no marker, so the zone is rewritten)."""
    write_bytes(marker, json.dumps({"stamp": stamp, **facts}, indent=2).encode())


def run_cli(
    argv: list[str] | None,
    description: str,
    what: str,
    write_zone: Callable[..., tuple[int, bool]],
) -> int:
    """The shared ``python -m ...write_*_zone [--force]`` entry point for local zones."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--force", action="store_true", help="rewrite even if already there")
    args = parser.parse_args(argv)
    settings = load_settings()
    if "://" in settings.landing_dir:
        print(f"refusing to write sample files to {settings.landing_dir}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    count, wrote = write_zone(Path(settings.landing_dir), force=args.force)
    verb = "wrote" if wrote else "already has"
    print(
        f"{what} in {settings.landing_dir}: {verb} {count} files ({time.perf_counter() - started:.1f} s)"
    )
    return 0
