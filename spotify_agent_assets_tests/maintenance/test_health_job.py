"""health_check_job end to end: in process with some targets broken on purpose, and once from
the CLI as an operator runs it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest

from spotify_agent_assets.defs.maintenance import health
from spotify_agent_assets.defs.maintenance.health_records import FRESHNESS_CHECK_NAME
from spotify_agent_assets.defs.resources import build_resources
from spotify_agent_assets.environment import AgentSettings, load_settings
from spotify_agent_assets.lake.parquet_lake import ParquetLake
from spotify_agent_assets.lake.warehouse import Warehouse
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.conftest import EMULATOR_ID, write_roster
from spotify_agent_assets_tests.maintenance.cli_runs import cli_environment, execute_job
from spotify_agent_assets_tests.maintenance.sentry_receiver import (
    PUBLIC_KEY,
    SentryReceiver,
    sentry_receiver,
)

WRONG_SECRET = "wrong-spotify-secret-5c1e0b"
# Checks that pass over the prepared data; the rest fail on purpose (see below).
PASSING = {
    "lake_writable",
    "stream_landing_writable",
    "audio_landing_writable",
    "warehouse",
    "instance_storage",
    "mlflow",
    "free_disk",
    "freshness:spotify_artists",
}
FAILING = {
    "spotify_api",  # wrong secret at the emulator
    "freshness:stream_events",  # never materialized
    "backup_age",  # no backup
    "daemon_heartbeat",  # no daemon in a test
}


def prepare_data(settings: AgentSettings) -> None:
    """A lake table with its warehouse view and an MLflow store: what the passing checks read."""
    from mlflow.tracking import MlflowClient

    lake = ParquetLake(settings.lake_root)
    lake.write(pa.table({"id": [1, 2, 3]}), "spotify", "spotify_artists")
    Warehouse(settings.warehouse_path, lake).register("spotify", "spotify_artists", False)
    assert settings.mlflow_artifact_root is not None
    MlflowClient(tracking_uri=settings.mlflow_tracking_uri).create_experiment(
        "health", artifact_location=settings.mlflow_artifact_root
    )


@pytest.fixture
def receiver() -> Iterator[SentryReceiver]:
    with sentry_receiver() as receiver:
        yield receiver


@pytest.fixture
def broken_settings(
    tmp_path: Path,
    world: SampleWorld,
    emulator,
    receiver: SentryReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> AgentSettings:
    environ = {
        "SPOTIFY_AGENT_ENV": "local",
        "SPOTIFY_AGENT_DATA_DIR": str(tmp_path / "data"),
        "SPOTIFY_AGENT_ROSTER": str(write_roster(tmp_path / "artists.yaml", world)),
        "SPOTIFY_CLIENT_ID": EMULATOR_ID,
        "SPOTIFY_CLIENT_SECRET": WRONG_SECRET,
        "SPOTIFY_API_BASE_URL": emulator.api_base_url,
        "SPOTIFY_ACCOUNTS_URL": emulator.accounts_url,
        "SENTRY_DSN": receiver.dsn,
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return load_settings()


def test_job_records_every_check_alerts_failures_and_fails_naming_them(
    broken_settings: AgentSettings,
    receiver: SentryReceiver,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    prepare_data(broken_settings)

    @dg.asset(name="spotify_artists")
    def fresh_artists() -> None:
        pass

    job = dg.Definitions(
        jobs=[health.health_check_job], resources=build_resources(broken_settings)
    ).get_job_def("health_check_job")
    freshness = {"spotify_artists": 26.0, "stream_events": 26.0}
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        assert dg.materialize([fresh_artists], instance=instance).success
        with caplog.at_level(logging.DEBUG):
            result = job.execute_in_process(
                instance=instance,
                raise_on_error=False,
                run_config={
                    "ops": {"run_health_checks": {"config": {"freshness_max_age_hours": freshness}}}
                },
            )
        assert not result.success
        failure = result.failure_data_for_node("run_health_checks")
        assert failure is not None
        message = failure.error.message
        # daemon_heartbeat is a WARN locally: named, but it alone would not fail the run.
        assert f"{len(FAILING) - 1} health check(s) failed" in message
        assert "; and WARN: daemon_heartbeat" in message
        for name in FAILING:
            assert name in message
        for name in PASSING:
            assert name not in message

        # The table: one row per check, every check recorded before the run failed.
        output = next(e for e in result.all_events if e.event_type_value == "STEP_OUTPUT")
        metadata = output.step_output_data.metadata
        rows = {record.data["check"]: record.data for record in metadata["results"].records}
        assert set(rows) == PASSING | FAILING
        assert {name for name, row in rows.items() if row["status"] == "PASS"} == PASSING
        assert metadata["failed_checks"].value == ", ".join(
            name for name in rows if name in FAILING
        )
        assert metadata["alerting"].value == f"{len(FAILING)} alert(s) sent to Sentry"
        assert "| spotify_api | FAIL (ERROR) |" in metadata["report"].value

        # Asset check records of the freshness checks, on the assets themselves.
        for asset, passed in (("spotify_artists", True), ("stream_events", False)):
            key = dg.AssetCheckKey(dg.AssetKey(asset), FRESHNESS_CHECK_NAME)
            history = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)
            assert len(history) == 1 and history[0].run_id == result.run_id
            evaluation = history[0].event.dagster_event.event_specific_data
            assert evaluation.passed is passed

        stored = "\n".join(dg.serialize_value(entry) for entry in instance.all_logs(result.run_id))

    # One Sentry event per failed check.
    events = receiver.events()
    assert sorted(event["tags"]["health_check"] for event in events) == sorted(FAILING)
    spotify = next(e for e in events if e["tags"]["health_check"] == "spotify_api")
    assert "invalid_client" in spotify["message"]

    # The secret and the DSN's key are nowhere: events, logs, metadata, Sentry payloads.
    for leak in (WRONG_SECRET, PUBLIC_KEY):
        assert leak not in stored, leak
        assert leak.encode() not in receiver.raw, leak
        assert leak not in caplog.text, leak


@pytest.mark.slow
def test_job_runs_from_the_cli(tmp_path: Path, world: SampleWorld) -> None:
    """As the README shows it: ``dagster job execute -m spotify_agent_assets.definitions -j
    health_check_job``. With an empty data folder most checks fail, and the command says which."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    roster = write_roster(tmp_path / "artists.yaml", world)
    completed = execute_job("health_check_job", cli_environment(tmp_path / "data", home, roster))
    output = completed.stdout + completed.stderr
    assert completed.returncode != 0, output[-3000:]
    assert "health check(s) failed" in output, output[-3000:]
    for name in ("warehouse", "mlflow", "backup_age", "daemon_heartbeat"):
        assert name in output

    with dg.DagsterInstance.from_config(str(home)) as instance:
        [run] = instance.get_runs()
        assert run.job_name == "health_check_job" and run.status == dg.DagsterRunStatus.FAILURE
        outputs = [
            entry.dagster_event
            for entry in instance.all_logs(run.run_id)
            if entry.dagster_event and entry.dagster_event.event_type_value == "STEP_OUTPUT"
        ]
        metadata = outputs[0].step_output_data.metadata
        records = metadata["results"].records
        checks = {record.data["check"]: record.data["status"] for record in records}
        assert checks["spotify_api"] == "PASS"  # the sample world, through the same client
        assert checks["lake_writable"] == "PASS"
        assert checks["warehouse"].startswith("FAIL") and checks["mlflow"].startswith("FAIL")
        assert metadata["alerting"].value == "alerting is off: SENTRY_DSN is not set"


def test_job_and_daily_schedule_are_in_the_code_location() -> None:
    from spotify_agent_assets.definitions import defs

    assert defs.get_job_def("health_check_job").name == "health_check_job"
    schedule = defs.get_schedule_def("health_check_schedule")
    assert schedule.job_name == "health_check_job"
    assert schedule.cron_schedule == "0 6 * * *" and schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_a_failed_warn_check_is_alerted_but_does_not_fail_the_run(
    broken_settings: AgentSettings,
    receiver: SentryReceiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Locally the daemon heartbeat is a WARN: with every other check passing, the run succeeds,
    still records the failed check and still sends its alert."""
    from spotify_agent_assets.maintenance.health_results import CheckResult, Severity

    results = [
        CheckResult("free_disk", True, Severity.ERROR, "12.0 GB free"),
        CheckResult("daemon_heartbeat", False, Severity.WARN, "no daemon has ever sent one"),
    ]
    monkeypatch.setattr(health, "perform_health_checks", lambda *args, **kwargs: results)
    job = dg.Definitions(
        jobs=[health.health_check_job], resources=build_resources(broken_settings)
    ).get_job_def("health_check_job")
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        assert result.success
        warnings = [
            entry.user_message
            for entry in instance.all_logs(result.run_id)
            if entry.level == logging.WARNING
        ]
    assert any("WARN check(s) failed: daemon_heartbeat" in message for message in warnings)
    output = next(e for e in result.all_events if e.event_type_value == "STEP_OUTPUT")
    assert output.step_output_data.metadata["failed_checks"].value == "daemon_heartbeat"
    assert [event["tags"]["health_check"] for event in receiver.events()] == ["daemon_heartbeat"]
