"""Put the sample world's hand-kept social export in the local landing zone (``make run``).

    python -m spotify_agent_assets.sample_world.write_social_zone [--force]

One CSV, ``<landing>/social/sample_world_exports.csv``, in the import schema of
`activation.social_import`: TikTok and Instagram followers and views of four roster artists
over the sample's 30 days. Deterministic (the world's seed); left alone when already there with
the same content, so its modification time does not change.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import sys
from pathlib import Path

from spotify_agent_assets.sample_world.zone_marker import run_cli

FILE_NAME = "sample_world_exports.csv"
FIRST_DAY = dt.date(2026, 10, 2)
DAYS = 30
ARTISTS = 4


def sample_exports_csv(seed: int = 7) -> str:
    from spotify_agent_assets.activation.social_import import IMPORT_COLUMNS
    from spotify_agent_assets.sample_world.world import SampleWorld

    world = SampleWorld(seed=seed)
    rng = random.Random(seed)  # noqa: S311 -- seeded synthetic data, not security
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=IMPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for artist_id, name in world.roster()[:ARTISTS]:
        handle = "".join(c for c in name.lower() if c.isalnum())
        tiktok, instagram, views = rng.randint(5_000, 90_000), rng.randint(2_000, 40_000), 0
        for offset in range(DAYS):
            day = (FIRST_DAY + dt.timedelta(days=offset)).isoformat()
            tiktok += rng.randint(-40, 400)
            instagram += rng.randint(-20, 150)
            views += rng.randint(1_000, 30_000)
            writer.writerow(
                {
                    "date": day,
                    "artist_id": artist_id,
                    "platform": "tiktok",
                    "source_id": f"@{handle}",
                    "followers": tiktok,
                    "views": views,
                }
            )
            # Instagram exports carry no view count: the column stays empty (null).
            writer.writerow(
                {
                    "date": day,
                    "artist_id": artist_id,
                    "platform": "instagram",
                    "source_id": handle,
                    "followers": instagram,
                }
            )
    return out.getvalue()


def write_zone(landing_dir: Path, *, force: bool = False) -> tuple[int, bool]:
    """(files in the sample, whether written now)."""
    path = landing_dir / "social" / FILE_NAME
    text = sample_exports_csv()
    if not force and path.exists() and path.read_text(encoding="utf-8") == text:
        return 1, False
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_suffix(".csv.tmp")
    aside.write_text(text, encoding="utf-8")
    aside.replace(path)  # a reader never sees half a file
    return 1, True


def main(argv: list[str] | None = None) -> int:
    return run_cli(argv, __doc__.splitlines()[0], "sample social exports", write_zone)


if __name__ == "__main__":
    sys.exit(main())
