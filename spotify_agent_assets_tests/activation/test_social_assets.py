"""social_media_metrics through Dagster: local YouTube and Last.fm emulators plus an import
file, one day's partition, re-run idempotently; keys kept out of every event and message."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from spotify_agent_assets.defs.activation.social import ASSETS, CHECKS
from spotify_agent_assets.defs.activation.social_resources import SocialMediaResource
from spotify_agent_assets.defs.lake.io_manager import LakeIOManager
from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.defs.spotify.assets import artist_roster
from spotify_agent_assets.defs.spotify.resources import RosterResource
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.activation.social_servers import (
    LASTFM_KEY,
    YOUTUBE_KEY,
    LastfmEmulator,
    YouTubeEmulator,
    lastfm_artist,
    serve,
)
from spotify_agent_assets_tests.conftest import write_roster

CHANNEL = "UC" + "a" * 22
HIDDEN = "UC" + "b" * 22
ROSTER_SPEC = dg.AssetSpec("artist_roster", group_name="spotify")


def _today() -> dt.date:
    """The newest partition (yesterday, a complete day): the APIs' numbers may land on it."""
    return dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)


@pytest.fixture
def emulators() -> Iterator[tuple[YouTubeEmulator, LastfmEmulator]]:
    youtube = YouTubeEmulator(
        {
            CHANNEL: {"viewCount": "1000", "subscriberCount": "50", "hiddenSubscriberCount": False},
            HIDDEN: {"viewCount": "7", "hiddenSubscriberCount": True},
        }
    )
    lastfm = LastfmEmulator({"Wilder Coast": lastfm_artist("Wilder Coast", "300", "4000")})
    with serve(youtube, "/youtube/v3/"), serve(lastfm, "/2.0/"):
        yield youtube, lastfm


@pytest.fixture
def setup(tmp_path: Path, world: SampleWorld) -> dict[str, Any]:
    """A lake holding the roster, an accounts file, and an import file for today and 10-20."""
    ids = [artist_id for artist_id, _ in world.roster()]
    lake = LakeResource(lake_root=str(tmp_path / "lake"), warehouse_path=str(tmp_path / "w.duckdb"))
    roster = write_roster(tmp_path / "artists.yaml", world)
    assert dg.materialize(
        [artist_roster],
        resources={
            "roster": RosterResource(path=str(roster)),
            "lake": lake,
            "io_manager": LakeIOManager(storage=lake),
        },
    ).success
    accounts = tmp_path / "social_accounts.yaml"
    accounts.write_text(
        yaml.safe_dump(
            {
                "artists": {
                    ids[0]: {"youtube_channel_id": CHANNEL, "lastfm_name": "Wilder Coast"},
                    ids[1]: {"youtube_channel_id": HIDDEN, "lastfm_name": "Unknown To Lastfm"},
                }
            }
        )
    )
    social = tmp_path / "landing" / "social"
    social.mkdir(parents=True)
    (social / "tiktok.csv").write_text(
        "date,artist_id,platform,source_id,followers,views,listeners\n"
        f"{_today()},{ids[2]},tiktok,@c,900,12000,\n"
        f"{_today()},{ids[2]},instagram,c,lots,,\n"
        f"2026-10-20,{ids[2]},tiktok,@c,800,11000,\n"
    )
    return {"ids": ids, "lake": lake, "accounts": str(accounts), "import_dir": str(social)}


def _run(setup: dict[str, Any], day: str, instance: dg.DagsterInstance, **social: Any):
    lake = setup["lake"]
    resource = SocialMediaResource(
        accounts_path=social.pop("accounts_path", setup["accounts"]),
        import_dir=setup["import_dir"],
        **social,
    )
    return dg.materialize(
        [*ASSETS, *CHECKS, ROSTER_SPEC],
        resources={
            "lake": lake,
            "io_manager": LakeIOManager(storage=lake),
            "social_media": resource,
        },
        partition_key=day,
        instance=instance,
        raise_on_error=False,
    )


def _keys(youtube: YouTubeEmulator, lastfm: LastfmEmulator, **over: str) -> dict[str, str]:
    return {
        "youtube_api_key": YOUTUBE_KEY,
        "lastfm_api_key": LASTFM_KEY,
        "youtube_api_url": youtube.url,
        "lastfm_api_url": lastfm.url,
        **over,
    }


def _rows(setup: dict[str, Any], day: str) -> list[dict[str, Any]]:
    table = setup["lake"].lake().read("activation", "social_media_metrics", partition_keys=[day])
    return sorted(table.to_pylist(), key=lambda r: (r["artist_id"], r["platform"]))


def _everything(instance: dg.DagsterInstance) -> str:
    """Every stored event of every run, as text (messages, metadata, errors)."""
    texts = []
    for run in instance.get_runs():
        texts.extend(repr(e) for e in instance.all_logs(run.run_id))
        texts.append(json.dumps(run.run_config, default=str))
    return "\n".join(texts)


def test_a_day_maps_every_platform_to_our_artists_and_a_rerun_replaces_it(
    setup: dict[str, Any], emulators: tuple[YouTubeEmulator, LastfmEmulator]
) -> None:
    youtube, lastfm = emulators
    ids, day = setup["ids"], _today().isoformat()
    with dg.instance_for_test() as instance:
        first = _run(setup, day, instance, **_keys(youtube, lastfm))
        assert first.success
        rows = _rows(setup, day)
        got = {
            (r["artist_id"], r["platform"]): (
                r["source_id"],
                r["followers"],
                r["views"],
                r["listeners"],
                r["source"],
            )
            for r in rows
        }
        assert got == {
            (ids[0], "youtube"): (CHANNEL, 50, 1000, None, "youtube_api"),
            (ids[0], "lastfm"): ("Wilder Coast", None, 4000, 300, "lastfm_api"),
            (ids[1], "youtube"): (HIDDEN, None, 7, None, "youtube_api"),
            (ids[2], "tiktok"): ("@c", 900, 12000, None, "import:tiktok.csv"),
        }
        (quarantine,) = [
            e
            for e in first.get_asset_check_evaluations()
            if e.check_name == "no_quarantined_records"
        ]
        assert not quarantine.passed and quarantine.severity == dg.AssetCheckSeverity.WARN
        assert "2 records set aside" in (quarantine.description or "")
        metadata = first.asset_materializations_for_node("social_media_metrics")[0].metadata
        assert metadata["platforms"].data == {
            "lastfm": "on: 1 artists, 1 set aside",
            "youtube": "on: 2 artists, 0 set aside",
        }
        assert all(
            e.passed
            for e in first.get_asset_check_evaluations()
            if e.check_name != "no_quarantined_records"
        )

        second = _run(setup, day, instance, **_keys(youtube, lastfm))
        assert second.success
        again = _rows(setup, day)
        strip = [{k: v for k, v in r.items() if k != "captured_at"} for r in again]
        assert strip == [{k: v for k, v in r.items() if k != "captured_at"} for r in rows]
        text = _everything(instance)
    for key in (YOUTUBE_KEY, LASTFM_KEY):
        assert key not in text
    assert len(youtube.requests) == 2 and len(lastfm.requests) == 4


def test_a_past_day_takes_only_its_import_records_and_no_api_call(
    setup: dict[str, Any], emulators: tuple[YouTubeEmulator, LastfmEmulator]
) -> None:
    youtube, lastfm = emulators
    with dg.instance_for_test() as instance:
        result = _run(setup, "2026-10-20", instance, **_keys(youtube, lastfm))
    assert result.success
    assert [(r["platform"], r["followers"]) for r in _rows(setup, "2026-10-20")] == [
        ("tiktok", 800)
    ]
    assert not youtube.requests and not lastfm.requests
    metadata = result.asset_materializations_for_node("social_media_metrics")[0].metadata
    assert metadata["platforms"].data["youtube"].startswith("skipped: 2026-10-20")


def test_without_keys_the_platforms_are_off_and_the_imports_still_land(
    setup: dict[str, Any],
) -> None:
    day = _today().isoformat()
    with dg.instance_for_test() as instance:
        result = _run(setup, day, instance)
    assert result.success
    metadata = result.asset_materializations_for_node("social_media_metrics")[0].metadata
    assert metadata["platforms"].data == {
        "lastfm": "off: LASTFM_API_KEY is not set",
        "youtube": "off: YOUTUBE_API_KEY is not set",
    }
    assert [r["platform"] for r in _rows(setup, day)] == ["tiktok"]


def test_a_refused_key_fails_once_without_showing_it(
    setup: dict[str, Any], emulators: tuple[YouTubeEmulator, LastfmEmulator]
) -> None:
    youtube, lastfm = emulators
    wrong = "yt-WRONG-9f8e7d6c5b4a"
    with dg.instance_for_test() as instance:
        result = _run(
            setup, _today().isoformat(), instance, **_keys(youtube, lastfm, youtube_api_key=wrong)
        )
        assert not result.success
        failure = result.failure_data_for_node("social_media_metrics")
        assert "youtube: HTTP 400 (keyInvalid)" in failure.error.message
        text = _everything(instance)
    assert wrong not in text and LASTFM_KEY not in text
    assert len(youtube.requests) == 1  # not retried, by the client or the RetryPolicy


def test_an_unknown_artist_in_the_accounts_file_fails_naming_it(
    setup: dict[str, Any], tmp_path: Path
) -> None:
    bad = tmp_path / "bad_accounts.yaml"
    bad.write_text(yaml.safe_dump({"artists": {"0000000000000000000000": {"lastfm_name": "x"}}}))
    with dg.instance_for_test() as instance:
        result = _run(setup, _today().isoformat(), instance, accounts_path=str(bad))
    assert not result.success
    message = result.failure_data_for_node("social_media_metrics").error.message
    assert "artists.0000000000000000000000: unknown artist id" in message


def test_the_daily_schedule_captures_yesterday_and_is_off_on_the_sample_world() -> None:
    from spotify_agent_assets.defs.activation.social import SCHEDULES

    (schedule,) = SCHEDULES
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    when = dt.datetime(2026, 10, 21, 3, 5, tzinfo=dt.UTC)
    with (
        dg.instance_for_test() as instance,
        dg.build_schedule_context(instance=instance, scheduled_execution_time=when) as context,
    ):
        result = schedule.evaluate_tick(context)
    assert [r.partition_key for r in result.run_requests or []] == ["2026-10-20"]
