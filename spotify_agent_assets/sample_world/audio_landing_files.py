"""The audio landing zone of the sample world: clip files, their ground truth and labels.

`write_audio_landing_zone` writes one file per track at ``<landing>/audio/<track_id>.<ext>``.
**The file stem is the 22-character Spotify track id**: that is how the audio catalogue joins a
file to `spotify_tracks`; nothing else in the path or the file's tags carries it. Formats are
mixed per track (mostly ``wav``, some ``flac``, ``ogg`` (Vorbis) and ``mp3``), so readers meet all
four. Every file is written under a dot-prefixed temporary name and renamed into place, so a
scanner never sees half a file. The ground truth of every clip goes to
``<landing>/audio/_ground_truth.json`` (a JSON array of `AudioGroundTruth` records sorted by
track id); like every ``_``- or ``.``-prefixed name it is not audio and scanners skip it. WAV and
FLAC bytes are reproducible for a given numpy and libsndfile build; Ogg Vorbis streams carry a
random serial number, so only their samples are.

Apart from `audio` (what a clip is and its samples) because this is file writing: formats,
atomic renames and the zone's layout.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from spotify_agent_assets.lake.atomic_file import atomic_path, write_bytes
from spotify_agent_assets.sample_world.audio import (
    AUDIO_FORMATS,
    DEFAULT_DURATIONS_S,
    SAMPLE_RATE,
    AudioGroundTruth,
    audio_ground_truth,
    render_clip,
)
from spotify_agent_assets.sample_world.catalogue import DEFAULT_AS_OF

if TYPE_CHECKING:
    from spotify_agent_assets.sample_world.world import SampleWorld

AUDIO_DIR = "audio"
GROUND_TRUTH_FILE = "_ground_truth.json"
# libsndfile's (major format, subtype) per extension. Files are written under a temporary name,
# so the format cannot be inferred from it.
_SOUNDFILE_FORMATS = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
}


def audio_dir(landing_dir: Path) -> Path:
    return Path(landing_dir) / AUDIO_DIR


def ground_truth_path(landing_dir: Path) -> Path:
    return audio_dir(landing_dir) / GROUND_TRUTH_FILE


def write_clip(samples: np.ndarray, path: Path, sample_rate: int = SAMPLE_RATE) -> None:
    """Write one clip atomically; the format follows the extension (one of AUDIO_FORMATS)."""
    import soundfile as sf

    extension = path.suffix.lstrip(".")
    if extension not in _SOUNDFILE_FORMATS:
        raise ValueError(f"{path}: extension must be one of {AUDIO_FORMATS}, got {extension!r}")
    major, subtype = _SOUNDFILE_FORMATS[extension]
    with atomic_path(path) as temporary:
        sf.write(temporary, samples, sample_rate, format=major, subtype=subtype)


def write_ground_truth(truths: Sequence[AudioGroundTruth], landing_dir: Path) -> Path:
    path = ground_truth_path(landing_dir)
    records = [truth.as_record() for truth in sorted(truths, key=lambda t: t.track_id)]
    write_bytes(path, (json.dumps(records, indent=1) + "\n").encode())
    return path


def write_content_type_labels(truths: Sequence[AudioGroundTruth], landing_dir: Path) -> Path:
    """The curated labels file the content-type classifier trains on (`audio.labels`)."""
    from spotify_agent_assets.audio.labels import LABELS_FILE, format_content_type_labels

    path = audio_dir(landing_dir) / LABELS_FILE
    write_bytes(
        path, format_content_type_labels({t.track_id: t.content_type for t in truths}).encode()
    )
    return path


def write_audio_landing_zone(
    world: SampleWorld,
    landing_dir: Path,
    *,
    as_of: date = DEFAULT_AS_OF,
    durations: tuple[float, float] = DEFAULT_DURATIONS_S,
) -> list[Path]:
    """Synthesize every track's clip into ``<landing>/audio/`` plus the ground truth and the
    content-type labels file (``_labels.csv``, the curated labels of `audio.labels`).

    Returns the audio files, one per track, sorted by track id. A file this sample wrote
    earlier for the same track in another format is removed, so a track never has two clips.
    """
    truths = audio_ground_truth(world, as_of, durations=durations)
    folder = audio_dir(landing_dir)
    written = []
    for truth in truths:
        path = folder / truth.file_name
        write_clip(render_clip(truth, world.seed), path, truth.sample_rate)
        for other in AUDIO_FORMATS:
            if other != truth.audio_format:
                (folder / f"{truth.track_id}.{other}").unlink(missing_ok=True)
        written.append(path)
    write_ground_truth(truths, landing_dir)
    write_content_type_labels(truths, landing_dir)
    return written
