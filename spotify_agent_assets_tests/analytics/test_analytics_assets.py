"""The analytics assets in real Dagster runs, over a warehouse holding the dbt models' tables.

The dbt models are written straight into a temporary warehouse with DuckDB (as dbt would leave
them) and stand in the graph as external assets, so these runs exercise the SQL reads, the lake
IO manager, the views, the report files and the metadata without running dbt.
"""

# No `from __future__ import annotations`: Dagster inspects annotations at runtime.
from datetime import date
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from spotify_agent_assets.analytics.anomalies import streaming_anomalies
from spotify_agent_assets.analytics.tables import (
    ARTIST_TRENDS,
    STREAMING_ANOMALIES,
    WEEKLY_ARTIST_REPORT,
)
from spotify_agent_assets.analytics.trends import artist_trends
from spotify_agent_assets.defs.analytics.assets import (
    ANALYTICS_AUTOMATION,
    ARTIST_DAILY_METRICS,
    DIM_TRACK,
    FCT_STREAMS_DAILY,
)
from spotify_agent_assets.defs.analytics.python_assets import (
    ANALYTICS_ASSETS,
    ANALYTICS_TABLE_CHECKS,
)
from spotify_agent_assets.defs.lake import LakeIOManager, LakeResource
from spotify_agent_assets.defs.table_checks import KEY_CHECK, SCHEMA_CHECK
from spotify_agent_assets.lake import ParquetLake, Warehouse
from spotify_agent_assets.sample_world.world import GroundTruthEvent
from spotify_agent_assets_tests.analytics.sample_tables import (
    SampleTables,
    with_partial_last_day,
    without_last_day,
)

HOSTILE_NAME = "Hana <script>alert('owned')</script> Okoye"
DBT_MODELS = [dg.AssetSpec(key) for key in (ARTIST_DAILY_METRICS, FCT_STREAMS_DAILY, DIM_TRACK)]


def _lake(tmp_path: Path) -> LakeResource:
    return LakeResource(
        lake_root=str(tmp_path / "lake"), warehouse_path=str(tmp_path / "warehouse.duckdb")
    )


def _write_dbt_tables(lake: LakeResource, tables: dict[str, pa.Table]) -> None:
    with Warehouse(lake.warehouse_path, ParquetLake(lake.lake_root)).writer() as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS analytics")
        for name, table in tables.items():
            connection.register("source_table", table)
            # DDL takes no parameters; the names are this test's own constants.
            connection.execute(f"CREATE TABLE analytics.{name} AS SELECT * FROM source_table")
            connection.unregister("source_table")


def _materialize(
    lake: LakeResource, instance: dg.DagsterInstance | None = None
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [*ANALYTICS_ASSETS, *ANALYTICS_TABLE_CHECKS, *DBT_MODELS],
        resources={"io_manager": LakeIOManager(storage=lake), "lake": lake},
        instance=instance,
    )


def _replace_dbt_tables(lake: LakeResource, tables: SampleTables) -> None:
    with Warehouse(lake.warehouse_path, ParquetLake(lake.lake_root)).writer() as connection:
        for name in ("artist_daily_metrics", "fct_streams_daily", "dim_track"):
            connection.execute(f"DROP TABLE IF EXISTS analytics.{name}")  # test's own names
    _write_dbt_tables(
        lake,
        {
            "artist_daily_metrics": tables.artist_daily_metrics,
            "fct_streams_daily": tables.fct_streams_daily,
            "dim_track": tables.dim_track,
        },
    )


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    (materialization,) = result.asset_materializations_for_node(asset)
    return materialization.metadata


@pytest.fixture(scope="module")
def materialized(
    tmp_path_factory: pytest.TempPathFactory,
    sample_tables: SampleTables,
    planted: dict[str, GroundTruthEvent],
) -> tuple[LakeResource, dg.ExecuteInProcessResult]:
    lake = _lake(tmp_path_factory.mktemp("analytics"))
    metrics = sample_tables.artist_daily_metrics
    spike_artist = pc.equal(metrics.column("artist_id"), planted["streaming_spike"].artist_id)
    names = pc.if_else(spike_artist, HOSTILE_NAME, metrics.column("artist_name"))
    metrics = metrics.set_column(
        metrics.schema.get_field_index("artist_name"), "artist_name", names
    )
    _write_dbt_tables(
        lake,
        {
            "artist_daily_metrics": metrics,
            "fct_streams_daily": sample_tables.fct_streams_daily,
            "dim_track": sample_tables.dim_track,
        },
    )
    result = _materialize(lake)
    assert result.success
    return lake, result


def test_tables_land_in_the_lake_and_as_warehouse_views(materialized, sample_tables):
    lake, _ = materialized
    parquet_lake = lake.lake()
    for asset in ("artist_trends", "streaming_anomalies", "weekly_artist_report"):
        assert parquet_lake.exists("analytics", asset)
    views = lake.warehouse().views()
    assert {"analytics.artist_trends", "analytics.streaming_anomalies"} <= set(views)
    assert "analytics.weekly_artist_report" in views
    connection = lake.warehouse().connect()
    try:
        (trend_rows,) = connection.execute(
            "SELECT count(*) FROM analytics.artist_trends"
        ).fetchone()
        breakouts = connection.execute(
            "SELECT DISTINCT artist_name, breakout_day FROM analytics.artist_trends "
            "WHERE is_breakout"
        ).fetchall()
        spike = connection.execute(
            "SELECT entity_name, date FROM analytics.streaming_anomalies "
            "WHERE level = 'artist' AND kind = 'spike' AND entity_name LIKE 'Hana%'"
        ).fetchall()
    finally:
        connection.close()
    assert trend_rows == sample_tables.artist_daily_metrics.num_rows
    assert [(name, str(day)) for name, day in breakouts] == [("Luca Bellandi", "2026-10-20")]
    assert [(name, str(day)) for name, day in spike] == [(HOSTILE_NAME, "2026-10-10")]


def test_report_files_exist_and_escape_names(materialized, planted):
    lake, _ = materialized
    index = lake.read_table("analytics", "weekly_artist_report").to_pylist()
    assert len(index) == 32 and {row["week"] for row in index} == {"2026-W44"}
    root = Path(lake.lake_root).resolve() / "analytics" / "weekly_artist_report" / "files"
    for row in index:
        folder = root / "2026-W44" / row["artist_id"]
        assert row["html_uri"] == str(folder / "report.html")
        assert row["markdown_uri"] == str(folder / "report.md")
        assert sorted(Path(uri).name for uri in row["chart_uris"]) == [
            "followers.png",
            "streams.png",
        ]
        for uri in (row["html_uri"], row["markdown_uri"], *row["chart_uris"]):
            assert Path(uri).is_file() and Path(uri).stat().st_size > 0
    assert not list(root.rglob(".*.tmp"))  # nothing left of the atomic writes
    hostile = next(r for r in index if r["artist_id"] == planted["streaming_spike"].artist_id)
    assert hostile["artist_name"] == HOSTILE_NAME
    page = Path(hostile["html_uri"]).read_text()
    assert "<script>" not in page
    assert "Hana &lt;script&gt;alert(&#x27;owned&#x27;)&lt;/script&gt; Okoye" in page
    assert "<script>" not in Path(hostile["markdown_uri"]).read_text()
    # The table stays readable next to the files: one Parquet file at the top.
    stored = sorted(p.name for p in root.parent.iterdir())
    assert stored == ["files", "part-0.parquet"]


def test_metadata_shows_breakouts_anomalies_and_the_report(materialized):
    _, result = materialized
    trends = _metadata(result, "artist_trends")
    assert trends["dagster/row_count"].value == 960
    assert trends["breakout_artists"].value == 1
    assert "| Luca Bellandi | 2026-10-20 |" in trends["breakouts"].value
    anomalies = _metadata(result, "streaming_anomalies")
    assert anomalies["incidents_by_kind"].value == {
        "artist_level_shift": 1,
        "artist_spike": 1,
        "track_level_shift": 1,
    }
    assert "Hana &lt;script&gt;" in anomalies["incidents"].value
    for asset in ("artist_trends", "streaming_anomalies"):  # a first run computes every day
        window = _metadata(result, asset)
        assert window["as_of"].value == "2026-10-31"
        assert window["scored_from"].value == window["read_from"].value == "2026-10-02"
        assert window["scored_days"].value == 30
    report = _metadata(result, "weekly_artist_report")
    assert report["week"].value == "2026-W44"
    assert "![daily streams](data:image/png;base64," in report["summary"].value
    assert "<script>" not in report["summary"].value
    assert report["report_root"].value.endswith("analytics/weekly_artist_report/files/2026-W44")
    assert report["dagster/row_count"].value == 32


def test_metadata_charts_show_top_artists_and_the_newest_incident(materialized):
    """Plots an operator reads in the UI: an SVG in Markdown metadata (plots/asset_charts)."""
    import base64
    import re

    _, result = materialized
    images = {}
    for asset, key in (
        ("artist_trends", "streams_chart"),
        ("streaming_anomalies", "observed_vs_expected_chart"),
    ):
        markdown = _metadata(result, asset)[key].value
        (data,) = re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)", markdown)
        images[asset] = base64.b64decode(data).decode()
        assert len(markdown) < 30_000
    assert images["artist_trends"].count("<polyline") >= 5  # the top five artists' lines
    # The newest artist incident of the sample month is the level shift of the artist who
    # broke out (see the breakouts table above); its expected streams are a hollow dot.
    caption = _metadata(result, "streaming_anomalies")["observed_vs_expected_chart"].value
    assert caption.startswith(
        "Daily streams of Luca Bellandi, the artist of the newest incident (2026-10-20, "
        "level_shift up)"
    )
    assert images["streaming_anomalies"].count("fill='white' stroke='#d62728'") >= 1


def test_key_and_schema_checks_pass_on_the_stored_tables(materialized):
    _, result = materialized
    evaluations = {
        (c.asset_key.to_user_string(), c.check_name): c
        for c in result.get_asset_check_evaluations()
    }
    for contract in (ARTIST_TRENDS, STREAMING_ANOMALIES, WEEKLY_ARTIST_REPORT):
        for check in (KEY_CHECK, SCHEMA_CHECK):
            evaluation = evaluations[(contract.name, check)]
            assert evaluation.passed, (contract.name, check, evaluation.metadata)
        assert evaluations[(contract.name, KEY_CHECK)].metadata["rows"].value > 0
        # The UI's column docs on the materialization are the contract's.
        columns = _metadata(result, contract.name)["dagster/column_schema"].value.columns
        assert [(c.name, c.description) for c in columns] == [
            (c.name, c.description) for c in contract.columns
        ]


def test_rerun_gives_identical_report_files(materialized):
    lake, _ = materialized
    index = lake.read_table("analytics", "weekly_artist_report").to_pylist()
    before = {
        uri: Path(uri).read_bytes()
        for row in index
        for uri in (row["html_uri"], *row["chart_uris"])
    }
    assert _materialize(lake).success
    after = {uri: Path(uri).read_bytes() for uri in before}
    assert after == before


def test_missing_dbt_model_fails_naming_it(tmp_path: Path):
    lake = _lake(tmp_path)
    _write_dbt_tables(lake, {})
    result = dg.materialize(
        [ANALYTICS_ASSETS[0], *DBT_MODELS],
        resources={"io_manager": LakeIOManager(storage=lake), "lake": lake},
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = result.get_step_failure_events()
    message = str(failure.step_failure_data.error)
    assert "analytics.artist_daily_metrics" in message and "dbt model" in message


def test_assets_are_wired_for_declarative_automation():
    specs = {spec.key.to_user_string(): spec for a in ANALYTICS_ASSETS for spec in a.specs}
    assert set(specs) == {"artist_trends", "streaming_anomalies", "weekly_artist_report"}
    for spec in specs.values():
        assert spec.group_name == "analytics"
        assert spec.automation_condition == ANALYTICS_AUTOMATION
        assert spec.description  # the docstring shows in the UI
    deps = {key: {dep.asset_key for dep in spec.deps} for key, spec in specs.items()}
    assert deps["artist_trends"] == {ARTIST_DAILY_METRICS}
    assert deps["streaming_anomalies"] == {ARTIST_DAILY_METRICS, FCT_STREAMS_DAILY, DIM_TRACK}
    assert deps["weekly_artist_report"] == {
        ARTIST_DAILY_METRICS,
        FCT_STREAMS_DAILY,
        DIM_TRACK,
        dg.AssetKey("artist_trends"),
        dg.AssetKey("streaming_anomalies"),
    }


def _requested_after_latest_day(condition: dg.AutomationCondition) -> set[str]:
    """What one automation tick requests after only the latest day of the daily models landed.

    The dbt models stand in as external specs with the real shapes: two daily-partitioned
    models (a month of which only the last day exists) and an unpartitioned dimension.
    """
    days = dg.DailyPartitionsDefinition(start_date="2026-10-01", end_date="2026-11-01")
    upstream = [
        dg.AssetSpec(ARTIST_DAILY_METRICS, partitions_def=days),
        dg.AssetSpec(FCT_STREAMS_DAILY, partitions_def=days),
        dg.AssetSpec(DIM_TRACK),
    ]
    assets = [
        a.map_asset_specs(lambda spec: spec.replace_attributes(automation_condition=condition))
        for a in ANALYTICS_ASSETS
    ]
    lake = _lake(Path("never-opened"))  # evaluation reads the instance only
    defs = dg.Definitions(
        assets=[*assets, *upstream],
        resources={"lake": lake, "io_manager": LakeIOManager(storage=lake)},
    )
    with dg.instance_for_test() as instance:
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert first.total_requested == 0  # nothing has happened upstream yet
        for key in (ARTIST_DAILY_METRICS, FCT_STREAMS_DAILY):
            instance.report_runless_asset_event(
                dg.AssetMaterialization(asset_key=key, partition="2026-10-31")
            )
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=DIM_TRACK))
        tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
        return {
            spec.key.to_user_string()
            for a in ANALYTICS_ASSETS
            for spec in a.specs
            if tick.get_num_requested(spec.key)
        }


@pytest.mark.filterwarnings("ignore::dagster.BetaWarning")  # raised inside the evaluator
def test_a_new_day_of_the_dbt_models_triggers_all_three_assets():
    assert _requested_after_latest_day(ANALYTICS_AUTOMATION) == {
        "artist_trends",
        "streaming_anomalies",
        "weekly_artist_report",
    }
    # Plain eager() would wait for the 30 earlier days that were never materialized.
    assert _requested_after_latest_day(dg.AutomationCondition.eager()) == set()


def test_the_day_in_progress_is_never_read(tmp_path: Path, sample_tables: SampleTables):
    """Done means: with a partial current day (40% of its plays, is_complete false) no incident
    and no trend change comes from it: the stored tables are those of the day before."""
    lake = _lake(tmp_path)
    _replace_dbt_tables(lake, with_partial_last_day(sample_tables, share=0.4))
    result = _materialize(lake)
    assert result.success
    day_before = without_last_day(sample_tables)
    expected_trends = artist_trends(day_before.artist_daily_metrics)
    expected_anomalies = streaming_anomalies(
        day_before.artist_daily_metrics, day_before.fct_streams_daily, day_before.dim_track
    )
    assert lake.read_table("analytics", "artist_trends").equals(expected_trends)
    assert lake.read_table("analytics", "streaming_anomalies").equals(expected_anomalies)
    for asset in ("artist_trends", "streaming_anomalies"):
        assert _metadata(result, asset)["as_of"].value == "2026-10-30"
    index = lake.read_table("analytics", "weekly_artist_report").to_pylist()
    assert {row["week_end"] for row in index} == {date(2026, 10, 30)}


def test_a_later_run_recomputes_only_its_last_days_and_matches_a_full_run(
    tmp_path: Path, sample_tables: SampleTables
):
    full = {
        "artist_trends": artist_trends(sample_tables.artist_daily_metrics),
        "streaming_anomalies": streaming_anomalies(
            sample_tables.artist_daily_metrics,
            sample_tables.fct_streams_daily,
            sample_tables.dim_track,
        ),
    }
    lake = _lake(tmp_path)
    with dg.instance_for_test() as instance:
        _replace_dbt_tables(lake, without_last_day(sample_tables))
        assert _materialize(lake, instance).success
        _replace_dbt_tables(lake, sample_tables)
        later = _materialize(lake, instance)
        assert later.success
        # A late file rebuilt 2026-10-05 of the daily models: the next run starts there.
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=ARTIST_DAILY_METRICS, partition="2026-10-05")
        )
        after_late = _materialize(lake, instance)
        assert after_late.success
    for asset in ("artist_trends", "streaming_anomalies"):
        assert _metadata(after_late, asset)["scored_from"].value == "2026-10-05"
        assert lake.read_table("analytics", asset).equals(full[asset]), asset
    for asset in ("artist_trends", "streaming_anomalies"):
        window = _metadata(later, asset)
        # The day after the previous as_of (10-30), and always the last 7 days.
        assert (window["as_of"].value, window["scored_from"].value) == (
            "2026-10-31",
            "2026-10-25",
        )
        assert window["scored_days"].value == 7
        # Kept rows and recomputed ones together: the table a run over every day makes.
        stored = lake.read_table("analytics", asset)
        assert stored.equals(full[asset]), asset
