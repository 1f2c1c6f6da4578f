"""Restoring a backup taken before an erasure brings the listener back only until the restore
re-applies the erasure ledger: with the real erasure step, the listener is gone again and every
other listener's events are as the backup had them."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from spotify_agent_assets.lake import ParquetLake
from spotify_agent_assets.maintenance.backup import create_backup
from spotify_agent_assets.maintenance.erasure import ErasureStores, run_erasure
from spotify_agent_assets.maintenance.restore_in_place import restore_in_place
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets.streams.pseudonymize import load_pseudonym_key
from spotify_agent_assets_tests.defs.graph_runs import graph_settings
from spotify_agent_assets_tests.maintenance.backup_data import KEY
from spotify_agent_assets_tests.maintenance.erasure_world import (
    build_world,
    exported_listeners,
    pseudonyms,
    without,
    write_request,
)

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning")


def test_restore_of_a_backup_older_than_an_erasure_erases_the_listener_again(
    tmp_path: Path, world: SampleWorld
) -> None:
    settings = graph_settings(tmp_path / "run", world)
    with dg.instance_for_test() as instance:
        listening = build_world(settings, world, instance, full=False)
    lake = ParquetLake(settings.lake_root)
    backed_up = lake.read("streams", "stream_events")
    present = set(backed_up["listener_key"].to_pylist())
    exported = set(exported_listeners(settings))
    ids = [i for i in listening.listeners()["listener_id"].to_pylist() if i not in exported]
    keys = pseudonyms(settings, ids)
    raw = next(i for i in ids if keys[i] in present)
    backup = create_backup(settings, KEY)

    run_erasure(
        ErasureStores.from_settings(settings),
        write_request(tmp_path / "request.json", [raw]),
        load_pseudonym_key(settings.data_dir, {}),
    )
    assert keys[raw] not in set(lake.read("streams", "stream_events")["listener_key"].to_pylist())

    outcome = restore_in_place(settings, KEY, backup.backup_id)

    assert outcome.erasures_reapplied == 1
    restored = lake.read("streams", "stream_events")
    assert keys[raw] not in set(restored["listener_key"].to_pylist())
    assert without(restored, {keys[raw]}) == without(backed_up, {keys[raw]})
    assert restored.num_rows < backed_up.num_rows
