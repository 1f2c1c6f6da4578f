"""``stream_events`` / ``stream_quarantine`` in Dagster: idempotent, late files, bad files, sensor."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest

from spotify_agent_assets.defs.resources import build_resources
from spotify_agent_assets.defs.streams.assets import stream_events
from spotify_agent_assets.defs.streams.automation import (
    hourly_stream_ingestion,
    stream_landing_sensor,
)
from spotify_agent_assets.environment import AgentSettings
from spotify_agent_assets.lake import ParquetLake
from spotify_agent_assets.sample_world.landing_files import (
    daily_file_path,
    write_events,
    write_sample_landing_zone,
)
from spotify_agent_assets.sample_world.listening import ListeningWorld
from spotify_agent_assets.sample_world.world import SampleWorld

FIRST = dt.date(2026, 10, 2)
DAYS = 4


@pytest.fixture(scope="module")
def small_zone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few days of a small listening world, written once and copied per test."""
    landing = tmp_path_factory.mktemp("zone") / "landing"
    listening = ListeningWorld(SampleWorld(), n_listeners=150, first_day=FIRST, days=DAYS)
    write_sample_landing_zone(listening, landing)
    return landing


@pytest.fixture
def zone(settings: AgentSettings, small_zone: Path) -> Path:
    target = Path(settings.landing_dir)
    shutil.copytree(small_zone, target, copy_function=shutil.copy2)
    return target / "streams"


def _materialize(
    settings: AgentSettings,
    partition_key: str | None = None,
    tags: dict[str, str] | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [stream_events],
        resources=build_resources(settings),
        partition_key=partition_key,
        tags=tags,
        raise_on_error=raise_on_error,
    )


def _range_tags(first: dt.date, last: dt.date) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": first.isoformat(),
        "dagster/asset_partition_range_end": last.isoformat(),
    }


def _lake(settings: AgentSettings) -> ParquetLake:
    return ParquetLake(settings.lake_root)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.parquet"))}


def _events(settings: AgentSettings, day: dt.date) -> pa.Table:
    return _lake(settings).read("streams", "stream_events", partition_keys=[day.isoformat()])


def test_a_day_holds_exactly_the_listening_worlds_events(settings, zone):
    _materialize(settings, partition_key=FIRST.isoformat())
    listening = ListeningWorld(SampleWorld(), n_listeners=150, first_day=FIRST, days=DAYS)
    expected = listening.events_for_day(FIRST)
    stored = _events(settings, FIRST)
    assert stored.num_rows == expected.num_rows > 0
    # Extended-history exports carry no event id (ingestion derives one); the rest keep theirs.
    daily = stored.filter(pa.compute.not_equal(stored["source_format"], "extended_history"))
    assert set(daily["event_id"].to_pylist()) <= set(expected["event_id"].to_pylist())

    # ... and whole seconds (Spotify's export format): compare plays at that resolution.
    def plays(table: pa.Table) -> list[tuple[str, dt.datetime]]:
        ts = [t.replace(microsecond=0) for t in table["ts"].to_pylist()]
        return sorted(zip(table["track_id"].to_pylist(), ts, strict=True))

    assert plays(stored) == plays(expected)
    raw_ids = set(expected["listener_id"].to_pylist())
    assert raw_ids.isdisjoint(stored["listener_key"].to_pylist())
    assert set(stored["source_format"].to_pylist()) >= {"extended_history"}
    assert all(not f.startswith("/") for f in stored["source_file"].to_pylist())


def test_single_run_backfill_equals_one_run_per_day(settings, zone, tmp_path):
    _materialize(settings, tags=_range_tags(FIRST, FIRST + dt.timedelta(days=DAYS - 1)))
    one_run = _files(Path(settings.lake_root))

    shutil.rmtree(settings.lake_root)
    for offset in range(DAYS):
        _materialize(settings, partition_key=(FIRST + dt.timedelta(days=offset)).isoformat())
    per_day = _files(Path(settings.lake_root))
    assert len(one_run) == 2 * DAYS  # events and quarantine, one file per day each
    assert one_run == per_day


def test_ingesting_the_same_files_twice_changes_nothing(settings, zone):
    key = FIRST.isoformat()
    _materialize(settings, partition_key=key)
    before = _files(Path(settings.lake_root))
    # The same file landing twice under another name adds no event either.
    original = daily_file_path(zone.parent, FIRST, "jsonl", part=1)
    if not original.exists():
        original = next(p for p in (zone / FIRST.isoformat()).iterdir())
    shutil.copy(original, original.with_name("resent-" + original.name))
    result = _materialize(settings, partition_key=key)
    after = _events(settings, FIRST)
    assert after.num_rows == _events_rows(before, settings, FIRST)
    meta = result.asset_materializations_for_node("stream_events")[0].metadata
    assert meta["duplicates_dropped"].value > 0
    # Third run without the copy: byte-identical to the first.
    original.with_name("resent-" + original.name).unlink()
    _materialize(settings, partition_key=key)
    assert _files(Path(settings.lake_root)) == before


def _events_rows(files: dict[str, bytes], settings: AgentSettings, day: dt.date) -> int:
    import io

    import pyarrow.parquet as pq

    name = next(k for k in files if "stream_events" in k and day.isoformat() in k)
    return pq.read_table(io.BytesIO(files[name])).num_rows


def test_malformed_rows_are_quarantined_and_good_rows_land(settings, zone):
    day = FIRST + dt.timedelta(days=1)
    good = {
        "event_id": "e-good-0001",
        "listener_id": "listener-raw-42",
        "track_id": "4uLU6hMCjMI75M1A2tKUQC",
        "ts": f"{day}T12:00:00Z",
        "ms_played": 120000,
    }
    lines = [
        json.dumps(good),
        json.dumps({**good, "event_id": "e-bad-ms", "ms_played": -5}),
        json.dumps({**good, "event_id": "e-bad-track", "track_id": "not-a-track"}),
        "{this is not json",
    ]
    path = zone / day.isoformat() / "partner-export-late-00.jsonl"
    path.write_text("\n".join(lines) + "\n")
    _materialize(settings, partition_key=day.isoformat())

    events = _events(settings, day)
    assert "e-good-0001" in events["event_id"].to_pylist()
    quarantine = _lake(settings).read("streams", "stream_quarantine", [day.isoformat()])
    mine = quarantine.filter(
        pa.compute.equal(quarantine["source_file"], f"{day}/partner-export-late-00.jsonl")
    ).to_pylist()
    assert sorted(r["line"] for r in mine) == [2, 3, 4]
    reasons = " ".join(r["reason"] for r in mine)
    assert "ms_played" in reasons and "track" in reasons and "JSON" in reasons.upper()
    assert all("listener-raw-42" not in (r["raw"] or "") for r in mine)


def test_an_unreadable_file_fails_its_run_and_keeps_what_is_stored(settings, zone):
    key = FIRST.isoformat()
    _materialize(settings, partition_key=key)
    before = _files(Path(settings.lake_root))
    broken = zone / key / "warehouse-dump-broken-00.parquet"
    broken.write_bytes(b"PAR1" + os.urandom(200) + b"PAR1")

    result = _materialize(settings, partition_key=key, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.step_failure_data.error.message
    assert f"{key}/warehouse-dump-broken-00.parquet" in message
    assert _files(Path(settings.lake_root)) == before


def _evaluate_sensor(settings: AgentSettings, cursor: str | None = None):
    resources = {"stream_landing": build_resources(settings)["stream_landing"]}
    with dg.build_sensor_context(cursor=cursor, resources=resources) as context:
        return stream_landing_sensor(context)


def _requested_days(result: dg.SensorResult) -> list[str]:
    """Every day the run requests cover (single partitions and ranges)."""
    days = []
    for request in result.run_requests:
        if request.partition_key:
            days.append(request.partition_key)
            continue
        first = dt.date.fromisoformat(request.tags["dagster/asset_partition_range_start"])
        last = dt.date.fromisoformat(request.tags["dagster/asset_partition_range_end"])
        days += [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    return sorted(days)


def test_sensor_turns_new_files_into_one_run_over_exactly_their_days(settings, zone):
    first = _evaluate_sensor(settings)
    window = [(FIRST + dt.timedelta(days=i)).isoformat() for i in range(DAYS)]
    days = _requested_days(first)
    assert set(window) <= set(days)
    assert len(days) <= DAYS + 1  # the last UTC day may spill past the window by a few plays
    # Consecutive days are one run (the asset backfills a range in one run), not one per day.
    assert len(first.run_requests) == 1

    again = _evaluate_sensor(settings, first.cursor)
    assert isinstance(again, dg.SkipReason)

    # A producer's temporary file is invisible until it is renamed into place.
    day = FIRST + dt.timedelta(days=2)
    listening = ListeningWorld(SampleWorld(), n_listeners=150, first_day=FIRST, days=DAYS)
    late = listening.events_for_day(day).slice(0, 10)
    tmp = zone / day.isoformat() / ".late.jsonl.tmp"
    write_events(late, tmp, "jsonl")
    assert isinstance(_evaluate_sensor(settings, first.cursor), dg.SkipReason)
    final = tmp.with_name("late-00.jsonl")
    tmp.rename(final)
    os.utime(final)  # a rename keeps the mtime; producers' files are newer than the cursor
    late_result = _evaluate_sensor(settings, first.cursor)
    assert [r.partition_key for r in late_result.run_requests] == [day.isoformat()]


def test_sensor_requests_nothing_for_content_that_is_stored(settings, zone):
    """After ingestion, a brand-new cursor requests no run; a touched or re-delivered file
    with the same bytes requests none; a new file gives exactly its days, a rewritten file its
    days again."""
    whole = _evaluate_sensor(settings)
    [request] = whole.run_requests
    _materialize(settings, tags=request.tags)

    fresh = _evaluate_sensor(settings)  # a brand-new cursor sees every file as new
    assert fresh.run_requests == [], _requested_days(fresh)
    cursor = fresh.cursor

    # Touched, and copied under another name: the same bytes are already stored.
    day = FIRST + dt.timedelta(days=1)
    original = sorted((zone / day.isoformat()).iterdir())[0]
    os.utime(original)
    shutil.copyfile(original, original.with_name(f"redelivered-{original.name}"))
    same = _evaluate_sensor(settings, cursor)
    assert same.run_requests == []
    cursor = same.cursor

    # A new file: exactly its day.
    listening = ListeningWorld(SampleWorld(), n_listeners=150, first_day=FIRST, days=DAYS)
    late = zone / day.isoformat() / "late-00.jsonl"
    write_events(listening.events_for_day(day).slice(0, 10), late, "jsonl")
    new = _evaluate_sensor(settings, cursor)
    assert _requested_days(new) == [day.isoformat()]
    _materialize(settings, partition_key=day.isoformat())
    assert _evaluate_sensor(settings).run_requests == []

    # Rewritten with other content: its day again.
    write_events(listening.events_for_day(day).slice(10, 30), late, "jsonl")
    os.utime(late, ns=(late.stat().st_mtime_ns + 10**9,) * 2)
    rewritten = _evaluate_sensor(settings, new.cursor)
    assert _requested_days(rewritten) == [day.isoformat()]


def test_a_late_file_rematerializes_its_day(settings, zone):
    day = FIRST + dt.timedelta(days=1)
    _materialize(settings, partition_key=day.isoformat())
    before = _events(settings, day).num_rows
    late = pa.table(
        {
            "event_id": ["late-1", "late-2"],
            "listener_id": ["l-1", "l-2"],
            "track_id": ["4uLU6hMCjMI75M1A2tKUQC"] * 2,
            "ts": pa.array(
                [dt.datetime(2026, 10, 3, 23, 59, tzinfo=dt.UTC)] * 2, pa.timestamp("us", "UTC")
            ),
            "ms_played": [1000, 2000],
        }
    )
    import pyarrow.parquet as pq

    pq.write_table(late, zone / "2026-10-04" / "late-delivery-00.parquet")
    _materialize(settings, partition_key=day.isoformat())
    assert _events(settings, day).num_rows == before + 2


def _hourly(settings: AgentSettings, at: dt.datetime) -> list[str] | str:
    resources = {"stream_landing": build_resources(settings)["stream_landing"]}
    # As a context manager: an unclosed context leaves the instance it made current for
    # Dagster, and later tests then load definitions against a disposed instance.
    with dg.build_schedule_context(scheduled_execution_time=at, resources=resources) as context:
        result = hourly_stream_ingestion(context)
    if isinstance(result, dg.SkipReason):
        return result.skip_message or ""
    return [r.partition_key for r in result]


def test_hourly_schedule_covers_yesterday_just_after_midnight_and_skips_stored_days(settings, zone):
    today = FIRST + dt.timedelta(days=2)
    after_midnight = dt.datetime.combine(today, dt.time(1, 5), dt.UTC)
    afternoon = dt.datetime.combine(today, dt.time(14, 5), dt.UTC)
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    assert _hourly(settings, after_midnight) == [yesterday, today.isoformat()]
    assert _hourly(settings, afternoon) == [today.isoformat()]

    _materialize(settings, tags=_range_tags(today - dt.timedelta(days=1), today))
    assert "already hold" in _hourly(settings, after_midnight)
    assert "already hold" in _hourly(settings, afternoon)
    # A day no file has reached yet: nothing to ingest, so no run (and nothing downstream).
    quiet = dt.datetime.combine(FIRST + dt.timedelta(days=20), dt.time(14, 5), dt.UTC)
    assert "already hold" in _hourly(settings, quiet)


def test_integrity_check_passes_on_real_data_and_fails_on_a_duplicate(settings, zone):
    from spotify_agent_assets.streams.rebuild import EventIntegrity

    result = _materialize(settings, partition_key=FIRST.isoformat())
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.passed
    assert evaluation.metadata["rows_checked"].value > 0
    events = _events(settings, FIRST)
    repeated = EventIntegrity()
    repeated.record(pa.concat_tables([events, events.slice(0, 1)]))
    assert not repeated.passed and repeated.duplicate_event_ids == 1
    raw = EventIntegrity()
    raw.record(
        events.set_column(
            events.schema.get_field_index("listener_key"),
            "listener_key",
            pa.array(["listener-1"] * events.num_rows),
        )
    )
    assert not raw.passed and raw.listener_keys_not_hmac == events.num_rows


def test_key_and_schema_checks_pass_on_the_stored_partitions(settings, zone):
    """The contract checks on real ingested days: the second run's key check reads its own
    days and probes the first run's for the same event ids."""
    from spotify_agent_assets.defs.streams.checks import STREAM_TABLE_CHECKS
    from spotify_agent_assets.defs.table_checks import KEY_CHECK, SCHEMA_CHECK

    def run(first: dt.date, last: dt.date) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
        result = dg.materialize(
            [stream_events, *STREAM_TABLE_CHECKS],
            resources=build_resources(settings),
            tags=_range_tags(first, last),
        )
        return {
            (c.asset_key.to_user_string(), c.check_name): c
            for c in result.get_asset_check_evaluations()
        }

    run(FIRST, FIRST + dt.timedelta(days=1))
    later = (FIRST + dt.timedelta(days=2), FIRST + dt.timedelta(days=DAYS - 1))
    checks = run(*later)
    assert len(checks) == 5 and all(c.passed for c in checks.values()), checks  # 4 + integrity
    events_key = checks[("stream_events", KEY_CHECK)].metadata
    stored = _lake(settings).read(
        "streams", "stream_events", [d.isoformat() for d in (later[0], later[1])]
    )
    assert events_key["rows"].value == stored.num_rows > 0
    assert "probed against 2 other partition(s)" in events_key["scope"].value
    assert checks[("stream_quarantine", SCHEMA_CHECK)].metadata["files_checked"].value == 2
