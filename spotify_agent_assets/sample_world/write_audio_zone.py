"""Fill the local audio landing zone with the sample world's synthesized clips (``make run``).

    python -m spotify_agent_assets.sample_world.write_audio_zone [--force]

One clip per track, ``<landing>/audio/<track_id>.<ext>``, and the ground truth in
``<landing>/audio/_ground_truth.json``, the content-type labels in ``_labels.csv`` (see
`sample_world.audio_landing_files`). Writes nothing when the zone
already holds this sample (a ``_sample_audio.json`` marker with a version stamp, and every
clip still there): rewriting identical files would only bump their modification times and make
the audio landing sensor analyse the whole catalogue again.
"""

from __future__ import annotations

import sys
from pathlib import Path

from spotify_agent_assets.sample_world.zone_marker import run_cli, saved_payload, write_marker

MARKER = "_sample_audio.json"
# Bump when the clips or their ground truth change, so existing zones are rewritten once.
SAMPLE_AUDIO_VERSION = 3


def write_zone(landing_dir: Path, *, force: bool = False) -> tuple[int, bool]:
    """(clips in the sample, whether they were written now)."""
    from spotify_agent_assets.audio.labels import LABELS_FILE
    from spotify_agent_assets.sample_world.audio import (
        DEFAULT_DURATIONS_S,
        SAMPLE_RATE,
        audio_ground_truth,
    )
    from spotify_agent_assets.sample_world.audio_landing_files import (
        audio_dir,
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
    saved = None if force else saved_payload(marker, stamp)
    complete = (
        ground_truth_path(landing_dir).exists()
        and (folder / LABELS_FILE).exists()
        and all((folder / truth.file_name).exists() for truth in truths)
    )
    if saved is not None and complete:
        return len(truths), False
    written = write_audio_landing_zone(world, landing_dir, as_of=DEFAULT_AS_OF)
    size = sum(path.stat().st_size for path in written)
    write_marker(marker, stamp, files=len(written), bytes=size)
    return len(written), True


def main(argv: list[str] | None = None) -> int:
    return run_cli(argv, __doc__.splitlines()[0], "sample audio landing zone", write_zone)


if __name__ == "__main__":
    sys.exit(main())
