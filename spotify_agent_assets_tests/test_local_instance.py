"""The local instance `make run` creates: telemetry off, runs per core, pools limited."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from spotify_agent_assets.local_instance import POOL_LIMITS, ensure_local_instance


def test_the_local_instance_limits_runs_and_pools_and_sends_no_telemetry(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    assert ensure_local_instance(home, cores=2)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        settings = instance.get_settings("telemetry")
        assert settings == {"enabled": False}
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 2
        pool = instance.get_concurrency_config().pool_config
        # Unconfigured pools (stream ingestion, the audio zone) take one step at a time.
        assert pool.default_pool_limit == 1
        for name, limit in POOL_LIMITS.items():
            assert instance.event_log_storage.get_concurrency_info(name).slot_count == limit
    assert "spotify_api" in POOL_LIMITS


def test_an_edited_instance_file_is_kept(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    assert not ensure_local_instance(home, cores=8)
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.event_log_storage.get_concurrency_info("spotify_api").slot_count == 2
