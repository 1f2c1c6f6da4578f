"""The social accounts YAML's validation and the CSV/JSON import: bad records set aside with
their reason, the rest landing."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from spotify_agent_assets.activation.social_accounts import (
    SocialAccountsError,
    load_social_accounts,
    parse_social_accounts,
)
from spotify_agent_assets.activation.social_import import import_social_files
from spotify_agent_assets.sample_world.write_social_zone import sample_exports_csv, write_zone

ROSTER = ["artistAAAAAAAAAAAAAAAAA", "artistBBBBBBBBBBBBBBBBB"]
A, B = ROSTER
DAY = dt.date(2026, 10, 20)
CHANNEL = "UC" + "x" * 22


def test_accounts_parse_and_every_error_names_its_field(tmp_path: Path) -> None:
    accounts = parse_social_accounts(
        {"artists": {A: {"youtube_channel_id": CHANNEL, "lastfm_name": " Wilder Coast "}}}, ROSTER
    )
    assert (accounts[0].youtube_channel_id, accounts[0].lastfm_name) == (CHANNEL, "Wilder Coast")
    cases = {
        f"artists.{'nobody'}: unknown artist id": {"artists": {"nobody": {"lastfm_name": "x"}}},
        f"artists.{A}.youtube_channel_id: expected 'UC'": {
            "artists": {A: {"youtube_channel_id": "channel/abc"}}
        },
        f"artists.{A}.lastfm_mbid: expected a MusicBrainz id": {
            "artists": {A: {"lastfm_mbid": "not-a-uuid"}}
        },
        f"artists.{A}.twitter: unknown field": {"artists": {A: {"twitter": "@x"}}},
        f"artists.{A}.lastfm_name: expected a non-empty string": {
            "artists": {A: {"lastfm_name": 12}}
        },
        "artists: expected a mapping": {"artists": ["x"]},
        "single key 'artists'": {"artist": {}},
    }
    for message, doc in cases.items():
        with pytest.raises(SocialAccountsError, match=re.escape(message)):
            parse_social_accounts(doc, ROSTER)
    with pytest.raises(
        SocialAccountsError, match=re.escape("not found (SPOTIFY_AGENT_SOCIAL_ACCOUNTS)")
    ):
        load_social_accounts(tmp_path / "missing.yaml", ROSTER)


def test_the_shipped_accounts_file_is_valid_for_the_shipped_roster() -> None:
    from spotify_agent_assets.environment import DEFAULT_SOCIAL_ACCOUNTS
    from spotify_agent_assets.spotify.roster import load_roster

    roster = load_roster(DEFAULT_SOCIAL_ACCOUNTS.parent / "artists.yaml")
    accounts = load_social_accounts(DEFAULT_SOCIAL_ACCOUNTS, [a.spotify_id for a in roster.artists])
    assert accounts and all(a.lastfm_name for a in accounts)


def test_import_lands_good_records_and_sets_aside_bad_ones_with_reasons(tmp_path: Path) -> None:
    folder = tmp_path / "social"
    folder.mkdir()
    (folder / "a_tiktok.csv").write_text(
        "date,artist_id,platform,source_id,followers,views,listeners\n"
        f"2026-10-20,{A},tiktok,@a,100,2000,\n"  # line 2: good, listeners null
        f"2026-10-20,{B},tiktok,@b,12k,,\n"  # line 3: bad count
        f"2026-10-21,{A},tiktok,@a,101,2100,\n"  # line 4: another day
        "2026-10-20,listener-123,tiktok,@c,1,,\n"  # line 5: not a roster artist
        f"20/10/2026,{A},instagram,a,1,,\n"  # line 6: bad date
        f"2026-10-20,{A},tiktok,@a2,5,,\n"  # line 7: repeat
        f"2026-10-20,{B},TikTok!,@b,5,,\n"  # line 8: bad platform
        f"2026-10-20,{B},instagram,b,,,\n"  # line 9: no number
        f"2026-10-20,{B},instagram,b,-4,,\n",  # line 10: negative
        encoding="utf-8",
    )
    (folder / "b_instagram.json").write_text(
        json.dumps(
            [
                {
                    "date": "2026-10-20",
                    "artist_id": B,
                    "platform": "instagram",
                    "source_id": "b",
                    "followers": 77,
                    "views": None,
                },
                "not an object",
            ]
        )
    )
    (folder / "c_broken.json").write_text("{not json")
    (folder / "d_header.csv").write_text("day,artist\n2026-10-20,x\n")
    (folder / "e_lines.jsonl").write_text(
        json.dumps(
            {
                "date": "2026-10-20",
                "artist_id": B,
                "platform": "threads",
                "source_id": "b",
                "listeners": "9",
            }
        )
        + "\n{oops\n"
    )
    (folder / "notes.txt").write_text("ignored")
    result = import_social_files(folder, DAY, ROSTER)
    got = {
        (m.artist_id, m.platform): (m.followers, m.views, m.listeners, m.source)
        for m in result.metrics
    }
    assert got == {
        (A, "tiktok"): (100, 2000, None, "import:a_tiktok.csv"),
        (B, "instagram"): (77, None, None, "import:b_instagram.json"),
        (B, "threads"): (None, None, 9, "import:e_lines.jsonl"),
    }
    assert result.other_days == 1
    failures = {(f.entity_id, f.field): f.reason for f in result.failures}
    assert failures == {
        ("a_tiktok.csv:3", "followers"): "expected a whole number (as a string), got '12k'",
        ("a_tiktok.csv:5", "artist_id"): "not a roster artist",
        ("a_tiktok.csv:6", "date"): "expected YYYY-MM-DD, got '20/10/2026'",
        ("a_tiktok.csv:7", "(record)"): "repeats the record at a_tiktok.csv:2",
        ("a_tiktok.csv:8", "platform"): "expected a lowercase name (a-z, 0-9, _), got 'TikTok!'",
        ("a_tiktok.csv:9", "(record)"): "none of followers, views, listeners is given",
        ("a_tiktok.csv:10", "followers"): "expected a whole number (as a string), got '-4'",
        ("b_instagram.json:2", "(record)"): "not an object / not valid JSON",
        ("c_broken.json", "(file)"): "not valid JSON (line 1)",
        (
            "d_header.csv",
            "(file)",
        ): "CSV header lacks date, artist_id, platform, source_id, followers, views, listeners",
        ("e_lines.jsonl:2", "(record)"): "not an object / not valid JSON",
    }
    assert "listener-123" not in json.dumps([f.__dict__ for f in result.failures])


def test_the_sample_export_is_deterministic_and_imports_cleanly(tmp_path: Path, world) -> None:
    assert sample_exports_csv() == sample_exports_csv()
    assert write_zone(tmp_path) == (1, True)
    assert write_zone(tmp_path) == (1, False)  # unchanged: not rewritten
    roster = [artist_id for artist_id, _ in world.roster()]
    result = import_social_files(tmp_path / "social", dt.date(2026, 10, 31), roster)
    assert not result.failures
    assert sorted({m.platform for m in result.metrics}) == ["instagram", "tiktok"]
    assert len(result.metrics) == 8 and result.other_days == 29 * 8
