"""Fill the local audio landing zone with the sample world's synthesized clips (``make run``).

    python -m spotify_agent_assets.sample_world.write_audio_zone [--force]

One clip per track, ``<landing>/audio/<track_id>.<ext>``, and the ground truth in
``<landing>/audio/_ground_truth.json`` (see `sample_world.audio`). Writes nothing when the zone
already holds this sample (a ``_sample_audio.json`` marker with a version stamp, and every
clip still there): rewriting identical files would only bump their modification times and make
the audio landing sensor analyse the whole catalogue again.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from spotify_agent_assets.environment import load_settings

MARKER = "_sample_audio.json"
# Bump when the clips or their ground truth change, so existing zones are rewritten once.
SAMPLE_AUDIO_VERSION = 1


def write_zone(landing_dir: Path, *, force: bool = False) -> tuple[int, bool]:
    """(clips in the sample, whether they were written now)."""
    from spotify_agent_assets.sample_world.audio import (
        DEFAULT_DURATIONS_S,
        SAMPLE_RATE,
        audio_dir,
        audio_ground_truth,
        ground_truth_path,
        write_audio_landing_zone,
    )
    from spotify_agent_assets.sample_world.catalogue import DEFAULT_AS_OF
    from spotify_agent_assets.sample_world.world import SampleWorld

    world = SampleWorld()
    truths = audio_ground_truth(world, DEFAULT_AS_OF)
    stamp = {
        "version": SAMPLE_AUDIO_VERSION,
        "seed": world.seed,
        "as_of": DEFAULT_AS_OF.isoformat(),
        "sample_rate": SAMPLE_RATE,
        "durations_s": list(DEFAULT_DURATIONS_S),
        "clips": len(truths),
    }
    folder = audio_dir(landing_dir)
    marker = folder / MARKER
    if not force and marker.exists():
        try:
            saved = json.loads(marker.read_text())
        except ValueError:
            saved = None
        complete = ground_truth_path(landing_dir).exists() and all(
            (folder / truth.file_name).exists() for truth in truths
        )
        if isinstance(saved, dict) and saved.get("stamp") == stamp and complete:
            return len(truths), False
    written = write_audio_landing_zone(world, landing_dir, as_of=DEFAULT_AS_OF)
    size = sum(path.stat().st_size for path in written)
    tmp = marker.with_name(f".{marker.name}.tmp")
    tmp.write_text(json.dumps({"stamp": stamp, "files": len(written), "bytes": size}, indent=2))
    tmp.replace(marker)
    return len(written), True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
        f"sample audio landing zone {settings.landing_dir}/audio {verb} {count} clips "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
