"""A local stream landing zone never lets a symlink make ingestion read a file outside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from spotify_agent_assets.streams.landing_index import (
    LandingPathError,
    landing_filesystem,
    list_landing_files,
)

LINE = '{"ts": "2026-10-03T10:00:00Z"}\n'


@pytest.fixture
def zone(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    (root / "2026-10-03").mkdir(parents=True)
    (root / "2026-10-03" / "app-0.jsonl").write_text(LINE)
    return root


def test_a_file_symlink_out_of_the_zone_fails_the_listing(zone: Path, tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere" / "credentials.jsonl"
    secret.parent.mkdir()
    secret.write_text("not for ingestion\n")
    (zone / "2026-10-03" / "link.jsonl").symlink_to(secret)
    with pytest.raises(LandingPathError, match=r"'2026-10-03/link\.jsonl' resolves to .*outside"):
        list_landing_files(landing_filesystem(str(zone)))


def test_a_directory_symlink_out_of_the_zone_fails_the_listing(zone: Path, tmp_path: Path) -> None:
    outside = tmp_path / "home"
    outside.mkdir()
    (outside / "history.json").write_text("[]")
    (zone / "more").symlink_to(outside, target_is_directory=True)
    with pytest.raises(LandingPathError, match=r"'more/history\.json'"):
        list_landing_files(landing_filesystem(str(zone)))


def test_links_inside_the_zone_and_a_linked_zone_root_are_read(zone: Path, tmp_path: Path) -> None:
    (zone / "2026-10-03" / "again.jsonl").symlink_to(zone / "2026-10-03" / "app-0.jsonl")
    linked_root = tmp_path / "zone-link"
    linked_root.symlink_to(zone, target_is_directory=True)
    listed = [f.path for f in list_landing_files(landing_filesystem(str(linked_root)))]
    assert listed == ["2026-10-03/again.jsonl", "2026-10-03/app-0.jsonl"]
