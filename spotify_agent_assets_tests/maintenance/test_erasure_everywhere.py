"""gdpr_erasure_job over a world built through the whole graph (landing zone, streams, dbt,
analytics, interaction matrix, a registered recommender and its recommendations).

In order, on one world: a malformed or unknown id changes nothing; an erasure of two listeners
(one from the daily files, one with their own extended-history export) leaves no trace in any
store while every other listener's rows are unchanged; the automation then rebuilds exactly the
days that changed; the recommender is asked to retrain once; redelivered raw files bring
nobody back; and stores restored from before the erasure are cleaned by ``reapply_erasures``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spotify_agent_assets.defs.maintenance.erasure import (
    erasure_retraining_sensor,
    gdpr_erasure_job,
)
from spotify_agent_assets.defs.resources import build_resources
from spotify_agent_assets.environment import AgentSettings
from spotify_agent_assets.lake import ParquetLake
from spotify_agent_assets.maintenance.erasure import reapply_erasures
from spotify_agent_assets.maintenance.erasure_journal import load_receipts
from spotify_agent_assets.recommend.registry import load_recommender
from spotify_agent_assets.sample_world.listening import ListeningWorld
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets.streams.erased_listeners import ledger_path
from spotify_agent_assets_tests.defs.graph_runs import DAILY_MODELS, graph_settings
from spotify_agent_assets_tests.maintenance.erasure_world import (
    DAYS,
    FIRST,
    WINDOW,
    build_world,
    daily_file_listener,
    exported_listeners,
    lake_rows,
    pseudonyms,
    warehouse_rows,
    without,
    world_defs,
    write_request,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::dagster.BetaWarning"),
    pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy:DeprecationWarning"),
]

NOW = dt.datetime.combine(FIRST + dt.timedelta(days=DAYS), dt.time(20), tzinfo=dt.UTC)
FIRST_SEEN = "intermediate.int_track_listener_first_seen"


class World:
    def __init__(self, settings: AgentSettings, listening: ListeningWorld, instance: Any):
        self.settings = settings
        self.listening = listening
        self.instance = instance
        self.defs = world_defs(settings)
        self.lake = ParquetLake(settings.lake_root)
        self.cursor: Any = None


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, world: SampleWorld) -> Iterator[World]:
    settings = graph_settings(tmp_path_factory.mktemp("erasure-world") / "run", world)
    with dg.instance_for_test() as instance:
        listening = build_world(settings, world, instance)
        yield World(settings, listening, instance)


def _erase(built: World, request: Path) -> dg.ExecuteInProcessResult:
    return gdpr_erasure_job.execute_in_process(
        run_config={"request_file": str(request)},
        resources=build_resources(built.settings),
        instance=built.instance,
        raise_on_error=False,
    )


def _fingerprint(data_dir: Path) -> dict[str, str]:
    return {
        str(p.relative_to(data_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(data_dir.rglob("*"))
        if p.is_file() and "audio" not in p.parts
    }


def _failure(result: dg.ExecuteInProcessResult) -> str:
    [event] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return event.step_failure_data.error.message


def _requested(built: World, tick: Any) -> dict[dg.AssetKey, set[str | None]]:
    return {
        r.key: {p.partition_key for p in r.true_subset.expensively_compute_asset_partitions()}
        for r in tick.results
        if r.true_subset.size and isinstance(r.key, dg.AssetKey)
    }


def _tick_until_quiet(built: World) -> dict[str, set[str | None]]:
    """Evaluate the automation and run what it asks for until it asks for nothing."""
    from spotify_agent_assets_tests.defs.graph_runs import materialize_keys

    graph = built.defs.resolve_asset_graph()
    order = {key: i for i, key in enumerate(graph.toposorted_asset_keys)}
    requested: dict[str, set[str | None]] = defaultdict(set)
    for _ in range(8):
        tick = dg.evaluate_automation_conditions(
            defs=built.defs, instance=built.instance, cursor=built.cursor, evaluation_time=NOW
        )
        built.cursor = tick.cursor
        this_tick = _requested(built, tick)
        if not this_tick:
            return dict(requested)
        batches: dict[tuple[str | None, ...], list[dg.AssetKey]] = defaultdict(list)
        for key, partitions in sorted(this_tick.items(), key=lambda kv: order[kv[0]]):
            requested[key.to_user_string()] |= partitions
            batches[tuple(sorted(partitions, key=str))].append(key)
        for partitions, keys in sorted(batches.items(), key=lambda kv: order[kv[1][0]]):
            days = [p for p in partitions if p is not None]
            materialize_keys(
                built.defs, built.instance, [k.to_user_string() for k in keys], days or None
            )
    raise AssertionError(f"automation still requesting after 8 ticks: {dict(requested)}")


def _plays_match_events(built: World) -> dict[str, tuple[int, int]]:
    """Per day: plays in fct_streams_daily and events in stream_events."""
    events = built.lake.read("streams", "stream_events")
    counts: dict[str, int] = defaultdict(int)
    for day in events["date"].to_pylist():
        counts[day.isoformat()] += 1
    plays = dict(
        (d.isoformat(), n)
        for d, n in warehouse_rows(
            built.settings,
            "(select date, sum(plays)::bigint from analytics.fct_streams_daily group by 1)",
        )
    )
    return {
        day: (plays.get(day, 0), counts.get(day, 0)) for day in sorted(set(plays) | set(counts))
    }


def _model_users(built: World) -> list[str]:
    model = load_recommender(built.settings.mlflow_tracking_uri, "recommender", "1")
    return list(model.users)


def _no_trace(data_dir: Path, needles: list[str]) -> list[str]:
    """An independent search: every lake Parquet text value, and the bytes of every other
    file of the data folder (warehouse, MLflow, state, ledger, receipts, landing text)."""
    found = []
    for path in sorted(data_dir.rglob("*")):
        if not path.is_file() or "audio" in path.parts:
            continue
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            for column in table.column_names:
                if pa.types.is_string(table.schema.field(column).type):
                    text = "\n".join(v for v in table[column].to_pylist() if v)
                    found += [f"{path}:{column}" for n in needles if n in text]
        else:
            data = path.read_bytes()
            found += [str(path) for n in needles if n.encode() in data]
        found += [str(path) for n in needles if n in str(path)]
    return found


def test_malformed_or_unknown_ids_fail_clearly_and_change_nothing(built: World, tmp_path: Path):
    known = exported_listeners(built.settings)[0]
    before = _fingerprint(built.settings.data_dir)
    for entries, expected in [
        (
            [known, "no-such-listener-anywhere"],
            "entry 2 of the erasure request is a listener found in no store",
        ),
        ([known, "has\ttab"], "entry 2 of 'listener_ids' contains a control"),
        ([known, ""], "entry 2 of 'listener_ids' is empty"),
    ]:
        request = write_request(tmp_path / "request.json", entries)
        result = _erase(built, request)
        assert not result.success
        message = _failure(result)
        assert expected in message, message
        assert known not in message and "no-such-listener" not in message
        assert request.exists()
    assert _fingerprint(built.settings.data_dir) == before
    assert not ledger_path(built.settings.data_dir).exists()


def test_an_erasure_removes_two_listeners_everywhere_and_nothing_else(
    built: World, tmp_path: Path
) -> None:
    settings = built.settings
    raw_ids = [daily_file_listener(settings, built.listening), exported_listeners(settings)[0]]
    keys = pseudonyms(settings, raw_ids)
    gone = set(keys.values())
    quiet = _tick_until_quiet(built)  # steady state, and the automation's cursor
    assert not set(quiet) & DAILY_MODELS, quiet
    before = lake_rows(built.lake)
    first_seen = warehouse_rows(settings, FIRST_SEEN)
    users = _model_users(built)
    assert gone <= set(users)
    assert gone <= set(before["ml.user_recommendations"]["listener_key"].to_pylist())
    landing = Path(settings.landing_dir) / "streams"
    shutil.copytree(landing, tmp_path / "landing-before")
    shutil.copytree(settings.lake_root, tmp_path / "lake-before")
    shutil.copy(settings.warehouse_path, tmp_path / "warehouse-before.duckdb")
    [model_dir] = [p.parent for p in Path(settings.mlflow_artifact_root).rglob("users.json")]
    shutil.copytree(model_dir, tmp_path / "model-before")
    assert _no_trace(settings.data_dir, [*raw_ids, *gone])  # the search can find them

    result = _erase(built, write_request(tmp_path / "request.json", raw_ids))
    assert result.success

    after = lake_rows(built.lake)
    for table, rows in before.items():
        assert without(after[table], set()) == without(rows, gone), table
        assert not gone & set(after[table]["listener_key"].to_pylist()), table
    assert after["ml.user_recommendations"].num_rows < before["ml.user_recommendations"].num_rows
    assert warehouse_rows(settings, FIRST_SEEN) == [r for r in first_seen if r[2] not in gone]
    assert _model_users(built) == [u for u in users if u not in gone]  # still loads
    assert not (landing / "extended_history" / raw_ids[1]).exists()
    assert _no_trace(settings.data_dir, [*raw_ids, *gone]) == []

    [receipt] = load_receipts(settings.data_dir)
    text = json.dumps(receipt)
    assert not any(value in text for value in [*raw_ids, *gone])
    assert receipt["listeners"] == 2
    assert receipt["retrain"] == [
        {
            "model": "recommender",
            "version": "1",
            "run_id": receipt["retrain"][0]["run_id"],
            "listeners": 2,
        }
    ]
    removed = defaultdict(int)
    for file in receipt["removed"]["lake"]:
        removed[file["table"]] += file["rows"]
    for table, rows in before.items():
        assert removed.get(table, 0) == rows.num_rows - after[table].num_rows, table
    assert receipt["removed"]["warehouse"] == {
        FIRST_SEEN: len(first_seen) - len(warehouse_rows(settings, FIRST_SEEN))
    }
    landing_actions = {c["action"] for c in receipt["removed"]["landing"]}
    assert landing_actions == {"removed", "rewritten"}
    assert any("<erased listener 2>" in c["file"] for c in receipt["removed"]["landing"])
    [shown] = [
        e.step_output_data.metadata["receipt"].value
        for e in result.all_events
        if e.event_type_value == "STEP_OUTPUT" and e.step_key == "verify_erasure"
    ]
    assert {k: v for k, v in shown.items() if k != "stored_at"} == receipt

    # The automation rebuilds exactly the days whose events changed, through every daily model.
    changed = {
        file["partition"]
        for file in receipt["removed"]["lake"]
        if file["table"] == "streams.stream_events"
    }
    requested = _tick_until_quiet(built)
    assert {k: v for k, v in requested.items() if k in DAILY_MODELS} == {
        name: changed for name in DAILY_MODELS
    }
    assert all(plays == events for plays, events in _plays_match_events(built).values())
    assert _no_trace(settings.data_dir, [*raw_ids, *gone]) == []

    # The recommender is asked to retrain once per erasure, until a version is trained.
    resources = {"stream_landing": built.defs.resources["stream_landing"]}
    with dg.build_sensor_context(instance=built.instance, resources=resources) as context:
        [request] = list(erasure_retraining_sensor(context))
        cursor = context.cursor
    assert request.run_key == f"erasure-{receipt['erasure_id']}"
    with dg.build_sensor_context(
        instance=built.instance, resources=resources, cursor=cursor
    ) as context:
        assert list(erasure_retraining_sensor(context)) == []  # never twice

    # Raw files delivered again bring nobody back: ingestion consults the ledger.
    shutil.rmtree(landing)
    shutil.copytree(tmp_path / "landing-before", landing)
    from spotify_agent_assets_tests.defs.graph_runs import materialize_keys

    materialize_keys(built.defs, built.instance, ["stream_events", "stream_quarantine"], WINDOW)
    for table in ("streams.stream_events", "streams.stream_quarantine"):
        group, asset = table.split(".")
        again = built.lake.read(group, asset)
        assert without(again, set()) == without(before[table], gone), table

    # Stores restored from before the erasure: reapply_erasures cleans them again.
    for table in ("streams/stream_events", "ml/interaction_matrix", "ml/user_recommendations"):
        shutil.rmtree(Path(settings.lake_root) / table)
        shutil.copytree(tmp_path / "lake-before" / table, Path(settings.lake_root) / table)
    shutil.copy(tmp_path / "warehouse-before.duckdb", settings.warehouse_path)
    shutil.rmtree(model_dir)
    shutil.copytree(tmp_path / "model-before", model_dir)
    assert gone <= set(_model_users(built))
    assert gone <= set(built.lake.read("streams", "stream_events")["listener_key"].to_pylist())
    assert reapply_erasures(settings) == 2
    assert reapply_erasures(settings) == 0  # nothing left to do
    for table in ("streams.stream_events", "ml.interaction_matrix", "ml.user_recommendations"):
        group, asset = table.split(".")
        assert without(built.lake.read(group, asset), set()) == without(before[table], gone)
    assert warehouse_rows(settings, FIRST_SEEN) == [r for r in first_seen if r[2] not in gone]
    assert _model_users(built) == [u for u in users if u not in gone]
    shutil.rmtree(landing)
    shutil.copytree(tmp_path / "landing-before", landing)  # raw files stay raw: not ours
    assert [p for p in _no_trace(settings.data_dir, list(gone)) if "landing" not in p] == []

    result = dg.materialize(
        [*built.defs.assets],  # type: ignore[list-item]
        selection=dg.AssetSelection.assets("recommender_model"),
        resources=built.defs.resources,
        instance=built.instance,
        run_config={
            "ops": {
                "recommender_model": {"config": {"search": False, "factors": 4, "iterations": 2}}
            }
        },
    )
    assert result.success
    with dg.build_sensor_context(instance=built.instance, resources=resources) as context:
        assert list(erasure_retraining_sensor(context)) == []
