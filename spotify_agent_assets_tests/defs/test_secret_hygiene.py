"""A sentinel client secret must appear in no log line, metadata value, run config or error."""

from __future__ import annotations

import logging
from pathlib import Path

import dagster as dg
import pytest
from dagster._serdes import serialize_value

from spotify_agent_assets.defs.resources import build_resources
from spotify_agent_assets.environment import load_settings
from spotify_agent_assets.sample_world.emulator import FaultPlan, SpotifyEmulator
from spotify_agent_assets_tests.conftest import write_roster
from spotify_agent_assets_tests.defs.harness import CATALOGUE_ASSETS, checks_for
from spotify_agent_assets_tests.secret_scanner import Finding, scan_text, secret_needles

SENTINEL = "SENTINEL-SECRET-7f3a9c"
CLIENT_ID = "hygiene-client-id"


def leaks(text: str) -> list[Finding]:
    needles = secret_needles({"SPOTIFY_CLIENT_SECRET": SENTINEL}, basic_auth=(CLIENT_ID, SENTINEL))
    return scan_text(text, "text", needles)


@pytest.mark.emulator
def test_sentinel_secret_never_leaves_the_environment(
    tmp_path: Path, world, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with SpotifyEmulator(world, credentials=(CLIENT_ID, SENTINEL)) as emu:
        monkeypatch.setenv("SPOTIFY_AGENT_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("SPOTIFY_AGENT_ROSTER", str(write_roster(tmp_path / "r.yaml", world)))
        monkeypatch.setenv("SPOTIFY_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("SPOTIFY_CLIENT_SECRET", SENTINEL)
        monkeypatch.setenv("SPOTIFY_API_BASE_URL", emu.api_base_url)
        monkeypatch.setenv("SPOTIFY_ACCOUNTS_URL", emu.accounts_url)
        # Expired tokens force re-authentication mid-run, the path most likely to log a secret.
        emu.faults = FaultPlan(rate=0.1, kinds=("expired_token",), seed=11)
        resources = build_resources(load_settings())
        instance = dg.DagsterInstance.ephemeral()
        ok = dg.materialize(
            [*CATALOGUE_ASSETS, *checks_for(CATALOGUE_ASSETS)],
            resources=resources,
            instance=instance,
        )
        assert ok.success
        assert emu.count("/v1/", faulted=True) > 0

    # The rejected-credentials path: a Spotify that expects another secret.
    with SpotifyEmulator(world, credentials=(CLIENT_ID, "another-secret")) as other:
        monkeypatch.setenv("SPOTIFY_API_BASE_URL", other.api_base_url)
        monkeypatch.setenv("SPOTIFY_ACCOUNTS_URL", other.accounts_url)
        failed = dg.materialize(
            CATALOGUE_ASSETS,
            resources=build_resources(load_settings()),
            instance=instance,
            raise_on_error=False,
        )
        assert not failed.success

    records = []
    for run in instance.get_runs():
        records.append(serialize_value(run))
        records.extend(serialize_value(e) for e in instance.all_logs(run.run_id))
    errors = [
        e.step_failure_data.error.to_string()
        for e in failed.all_events
        if e.event_type == dg.DagsterEventType.STEP_FAILURE
    ]
    assert errors and any("credentials" in e.lower() or "invalid_client" in e for e in errors)
    assert not leaks("\n".join(records)), "secret in the event log, metadata or run config"
    assert not leaks("\n".join(errors)), "secret in an error"
    log_text = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert caplog.records, "nothing was logged, so the check would prove nothing"
    assert not leaks(log_text), "secret in a log line"
