"""The social import reads only files inside its landing folder, never through a symlink out."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from spotify_agent_assets.activation.social_import import import_social_files

ARTIST = "artistAAAAAAAAAAAAAAAAA"
DAY = dt.date(2026, 10, 20)


def _record() -> str:
    return json.dumps(
        {
            "date": DAY.isoformat(),
            "artist_id": ARTIST,
            "platform": "youtube",
            "source_id": "UCxxxxxxxxxxxxxxxxxxxxxx",
            "followers": 10,
        }
    )


def test_a_symlink_out_of_the_folder_is_refused_and_inside_ones_are_read(tmp_path: Path) -> None:
    folder = tmp_path / "social"
    folder.mkdir()
    (folder / "a.jsonl").write_text(_record() + "\n")
    outside = tmp_path / "private.jsonl"
    outside.write_text(_record() + "\n")
    (folder / "b.jsonl").symlink_to(outside)

    result = import_social_files(folder, DAY, [ARTIST])

    assert [(f.entity_id, f.field) for f in result.failures] == [("b.jsonl", "(file)")]
    assert "symlink out of the social landing folder" in result.failures[0].reason
    assert [m.artist_id for m in result.metrics] == [ARTIST]
