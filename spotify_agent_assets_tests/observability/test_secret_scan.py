"""The secret scan of a full run: distinctive secrets planted in every secret variable the
project reads, the graph run from landing files through streams, the Spotify catalogue (on the
emulator), dbt, analytics, ml, activation (playlist write-back, alert deliveries) and the
maintenance jobs (backup, a failing health check and its run-failure alert), then everything
the runs left searched for the secrets and for the landing files' raw listener ids.

The scanner's own tests show it finds a deliberately leaked copy in each form and place, so a
clean scan means something.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster._serdes import serialize_value

from spotify_agent_assets.defs.activation import alerts as activation_alerts
from spotify_agent_assets.defs.activation import playlists as activation_playlists
from spotify_agent_assets.defs.maintenance import backup, health
from spotify_agent_assets.defs.observability.run_failure_sensor import run_failure_alert_sensor
from spotify_agent_assets.defs.resources import build_resources
from spotify_agent_assets.defs.spotify import assets as spotify_assets
from spotify_agent_assets.environment import AgentSettings, load_settings
from spotify_agent_assets.lake import ParquetLake
from spotify_agent_assets.observability.sentry_setup import SECRET_ENV_VARS
from spotify_agent_assets.sample_world.emulator import SpotifyEmulator
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.activation.alert_receivers import Receiver, three_receivers
from spotify_agent_assets_tests.activation.playlist_world import (
    top_artists,
    upstream_rows,
    write_specs,
    write_upstream,
)
from spotify_agent_assets_tests.conftest import write_roster
from spotify_agent_assets_tests.defs.harness import checks_for
from spotify_agent_assets_tests.maintenance.erasure_world import build_world
from spotify_agent_assets_tests.secret_scanner import (
    Finding,
    listener_needles,
    scan_bytes,
    scan_text,
    scan_tree,
    secret_needles,
)

CLIENT_ID = "scan-client-id-0d3e"
SENTRY_KEY = "scansentrykey9c4b1e7a"
SLACK_TOKEN = "scanslacktoken5f2a8d"
# 32 bytes each, as base64 (hex would look like a pseudonym and be scrubbed for that reason).
PSEUDONYM_KEY = base64.b64encode(b"scan-pseudonym-key-32-bytes-long").decode()
BACKUP_KEY = base64.b64encode(b"scan-backup-key-is-32-bytes-long").decode()
FIXED_SECRETS = {
    "SPOTIFY_CLIENT_SECRET": "scan-client-secret-5b7e2c",
    "SPOTIFY_REFRESH_TOKEN": "scan-refresh-token-8d1f4a",
    "SPOTIFY_AGENT_PSEUDONYM_KEY": PSEUDONYM_KEY,
    "SPOTIFY_AGENT_BACKUP_KEY": BACKUP_KEY,
    "PAGERDUTY_ROUTING_KEY": "scan-pd-routing-key-3c9a",
    "CONTENT_LLM_API_KEY": "scan-llm-api-key-6e2d",
    "YOUTUBE_API_KEY": "scan-youtube-key-1a8b",
    "LASTFM_API_KEY": "scan-lastfm-key-4f0c",
    "AWS_SECRET_ACCESS_KEY": "scan-aws-secret-7a3e/+x",  # URL-encodes differently
    "AWS_SESSION_TOKEN": "scan-aws-session-token-9b1c",
    "DAGSTER_PG_PASSWORD": "scan-pg-password-2b6d",
    "OTEL_EXPORTER_OTLP_HEADERS": "authorization=scan-otlp-token-0e5f",
}


# ---------------------------------------------------------------- the scanner can fail


def test_the_scanner_finds_each_form_of_a_leaked_secret_and_listener_id(tmp_path: Path) -> None:
    secret = "leak-me-not/+42"
    needles = [
        *secret_needles({"SOME_SECRET": secret}, basic_auth=("the-id", secret)),
        *listener_needles(["mara_k1987", "31abcdefghijklmnopqrstuvwxyz"]),
    ]
    basic = base64.b64encode(f"the-id:{secret}".encode()).decode()
    (tmp_path / "clean.txt").write_text("nothing here but mara_k19870 and xmara_k1987")
    (tmp_path / "raw.log").write_text(f"token={secret}")
    (tmp_path / "url.txt").write_text(f"https://x/?key={quote(secret, safe='')}")
    (tmp_path / "basic.txt").write_text(f"Authorization: Basic {basic}")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "events.gz").write_bytes(gzip.compress(b'{"who": "mara_k1987"}'))
    pq.write_table(
        pa.table({"listener": ["31abcdefghijklmnopqrstuvwxyz"]}), tmp_path / "nested" / "t.parquet"
    )
    findings, count = scan_tree(tmp_path, needles)
    assert count == 6
    assert {(f.where, f.label) for f in findings} == {
        ("raw.log", "SOME_SECRET (raw)"),
        ("url.txt", "SOME_SECRET (url-encoded)"),
        ("basic.txt", "Spotify client (base64 id:secret)"),
        ("nested/events.gz", "a raw listener id"),
        ("nested/t.parquet", "a raw listener id"),
    }
    # A finding names the place and the needle, never the value.
    assert all(secret not in str(f) for f in findings)
    assert scan_text(f"x {secret} y", "log", needles) == [Finding("log", "SOME_SECRET (raw)")]
    assert not scan_tree(tmp_path, needles, skip=[tmp_path])[0]


def test_every_secret_variable_read_through_envvar_is_planted() -> None:
    """The list of secret variables is the code's: a new dg.EnvVar secret must be added there,
    and then it is planted here."""
    import re

    root = Path(__file__).parents[2] / "spotify_agent_assets"
    read = set()
    for path in root.rglob("*.py"):
        read |= set(re.findall(r'(?:EnvVar|_env_if_set)\("([A-Z0-9_]+)"\)', path.read_text()))
    not_secret = {
        "SPOTIFY_CLIENT_ID",
        "SPOTIFY_API_BASE_URL",
        "SPOTIFY_ACCOUNTS_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "PAGERDUTY_EVENTS_URL",
        "CONTENT_LLM_BASE_URL",
        "CONTENT_LLM_MODEL",
        "YOUTUBE_API_URL",
        "LASTFM_API_URL",
        "MLFLOW_TRACKING_URI",  # its password part is taken by secret_values
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    }
    assert read - not_secret <= set(SECRET_ENV_VARS), read - not_secret - set(SECRET_ENV_VARS)
    assert set(SECRET_ENV_VARS) <= {*FIXED_SECRETS, "SENTRY_DSN", "SLACK_WEBHOOK_URL"}


# ---------------------------------------------------------------- the full run


def _playlist_specs(path: Path, world: SampleWorld) -> Path:
    first, second = top_artists(world, 2)
    return write_specs(
        path,
        [{"name": "Scan Mix", "seeds": {"artists": [first, second]}, "mood": "upbeat",
          "length": 40, "max_per_artist": 40}],
    )  # fmt: skip


def _receiver_payloads(receivers: dict[str, Receiver]) -> list[tuple[str, bytes]]:
    """Every accepted request body; PagerDuty's ``routing_key`` field is its protocol's place
    for the key, so it is checked and taken out, and only the rest is searched."""
    payloads = []
    for channel, receiver in receivers.items():
        for request in receiver.accepted():
            body = request.body
            # sentry-sdk's own transport (the health check's alerts) compresses its envelopes.
            encoding = {k.lower(): v for k, v in request.headers.items()}.get("content-encoding")
            if encoding == "gzip":
                body = gzip.decompress(body)
            if channel == "pagerduty":
                document = json.loads(body)
                assert document.pop("routing_key") == FIXED_SECRETS["PAGERDUTY_ROUTING_KEY"]
                body = json.dumps(document).encode()
            payloads.append((f"{channel} request {request.path}", body))
    return payloads


def _run_job(settings: AgentSettings, instance: dg.DagsterInstance, job: Any, **kwargs: Any) -> Any:
    definitions = dg.Definitions(jobs=[job], resources=build_resources(settings))
    return definitions.get_job_def(job.name).execute_in_process(
        instance=instance, raise_on_error=False, **kwargs
    )


@pytest.mark.slow
@pytest.mark.emulator
def test_a_full_run_leaves_no_secret_and_no_raw_listener_id_anywhere(
    tmp_path: Path,
    world: SampleWorld,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    data_dir = tmp_path / "data"
    home = data_dir / "dagster_home"
    home.mkdir(parents=True)
    with (
        SpotifyEmulator(
            world, credentials=(CLIENT_ID, FIXED_SECRETS["SPOTIFY_CLIENT_SECRET"])
        ) as emu,
        three_receivers() as receivers,
        dg.instance_for_test(temp_dir=str(home)) as instance,
    ):
        emu.api.refresh_token = FIXED_SECRETS["SPOTIFY_REFRESH_TOKEN"]
        secrets = {
            **FIXED_SECRETS,
            "SENTRY_DSN": f"http://{SENTRY_KEY}@127.0.0.1:{receivers['sentry'].port}/42",
            "SLACK_WEBHOOK_URL": f"{receivers['slack'].url}/services/T0/B0/{SLACK_TOKEN}",
        }
        environment = {
            **secrets,
            "SPOTIFY_AGENT_ENV": "local",
            "SPOTIFY_AGENT_DATA_DIR": str(data_dir),
            "SPOTIFY_AGENT_ROSTER": str(write_roster(tmp_path / "artists.yaml", world)),
            "SPOTIFY_AGENT_PLAYLISTS": str(_playlist_specs(tmp_path / "playlists.yaml", world)),
            "PAGERDUTY_EVENTS_URL": f"{receivers['pagerduty'].url}/v2/enqueue",
        }
        spotify_client_secret = environment.pop("SPOTIFY_CLIENT_SECRET")
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        # Landing files -> streams -> catalogue -> dbt -> analytics -> ml, over the sample
        # world: Spotify reports only today's followers, so past days' snapshots come from it.
        listening = build_world(load_settings(), world, instance)

        # From here on the Spotify client is real (the emulator): the catalogue again, the
        # write-back with the refresh token, the health check's API probe.
        for name, value in {
            "SPOTIFY_CLIENT_ID": CLIENT_ID,
            "SPOTIFY_CLIENT_SECRET": spotify_client_secret,
            "SPOTIFY_API_BASE_URL": emu.api_base_url,
            "SPOTIFY_ACCOUNTS_URL": emu.accounts_url,
        }.items():
            monkeypatch.setenv(name, value)
        settings = load_settings()
        assert not settings.use_sample_world  # the client secret is really used
        catalogue = [*spotify_assets.CATALOGUE_ASSETS, *checks_for(spotify_assets.CATALOGUE_ASSETS)]
        assert dg.materialize(
            catalogue, resources=build_resources(settings), instance=instance
        ).success
        assert emu.count("/v1/") > 0

        # Curation reads audio features and neighbours: made up here rather than analysing
        # audio (minutes of librosa), as the playlist tests do.
        rows = upstream_rows(world)
        lake = ParquetLake(settings.lake_root)
        write_upstream(
            lake,
            {key: rows[key] for key in (("audio", "audio_features"), ("ml", "similar_tracks"))},
        )
        resources = build_resources(settings)
        playlists = dg.materialize(
            [*activation_playlists.ASSETS, *activation_playlists.CHECKS],
            resources=resources,
            instance=instance,
            run_config={"ops": {"playlist_write_plan": {"config": {"write": True}}}},
        )
        assert playlists.success and emu.api.user_playlists.writes > 0
        assert dg.materialize(
            [*activation_alerts.ASSETS, *activation_alerts.CHECKS],
            resources=resources,
            instance=instance,
        ).success

        # Maintenance: a sealed backup, then a health check made to fail (free disk), whose
        # per-check alert and run-failure alert go out on every channel.
        assert _run_job(settings, instance, backup.backup_job).success
        failed = _run_job(
            settings,
            instance,
            health.health_check_job,
            run_config={"ops": {"run_health_checks": {"config": {"min_free_disk_gb": 1e9}}}},
        )
        assert not failed.success
        (failure_event,) = [
            e for e in failed.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE
        ]
        run_failure_alert_sensor(
            dg.build_run_status_sensor_context(
                sensor_name=run_failure_alert_sensor.name,
                dagster_event=failure_event,
                dagster_instance=instance,
                dagster_run=failed.dagster_run,
                resources={"alert_channels": resources["alert_channels"]},
            ).for_run_failure()
        )

        records = []
        for run in instance.get_runs():
            records.append((f"run {run.run_id}", serialize_value(run)))
            records += [(f"event log of {run.run_id}", serialize_value(e)) for e in instance.all_logs(run.run_id)]  # fmt: skip
        payloads = _receiver_payloads(receivers)

    # What was received, by channel: the failure reached every one of them.
    sentry_events = [body for where, body in payloads if where.startswith("sentry")]
    assert len(sentry_events) >= 2  # the health check's free_disk alert + the run's
    assert all(b'"type":"event"' in body for body in sentry_events)
    assert receivers["pagerduty"].accepted() and receivers["slack"].accepted()

    secret_forms = {**secrets, "SENTRY_DSN key": SENTRY_KEY, "SLACK_WEBHOOK_URL token": SLACK_TOKEN}
    needles = secret_needles(secret_forms, basic_auth=(CLIENT_ID, secrets["SPOTIFY_CLIENT_SECRET"]))
    raw_ids = listening.listeners()["listener_id"].to_pylist()
    everything = [*needles, *listener_needles(raw_ids)]
    findings: list[Finding] = []
    for where, text in records:
        findings += scan_text(text, where, everything)
    for where, body in payloads:
        findings += scan_bytes(body, where, everything)
    log_text = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)
    assert caplog.records, "nothing was logged, so the log scan would prove nothing"
    findings += scan_text(log_text, "captured Python log records", everything)
    # The data dir holds the instance (event log, compute logs), lake, warehouse, MLflow,
    # state, backups, audit records. Raw ids belong in the landing zone only, and in the
    # landing index (its file paths: an extended-history folder is named after its listener;
    # erasure rewrites it with the zone): both are searched for secrets alone.
    raw_places = [Path(settings.landing_dir), data_dir / "state" / "landing_index.json"]
    tree, scanned = scan_tree(data_dir, everything, skip=raw_places)
    findings += tree
    for place in raw_places:
        findings += scan_tree(place, needles)[0]
    assert not findings, "\n".join(sorted({str(f) for f in findings}))

    compute_logs = [p for p in home.rglob("*") if p.suffix in (".out", ".err") and p.is_file()]
    assert compute_logs, "no compute log was captured, so their scan proved nothing"
    assert scanned > 100, f"only {scanned} files scanned"
    audit = [p for p in settings.audit_log_dir.glob("audit-*.jsonl") if p.stat().st_size]
    assert audit, "no audit record was written, so their scan proved nothing"
    # And the same scan does see a leak in the data dir, in a compute log's place.
    leak = compute_logs[0].with_name("leaked.err")
    leak.write_text(f"oops {secrets['SPOTIFY_REFRESH_TOKEN']} and {raw_ids[0]}")
    leaked, _ = scan_tree(data_dir, everything, skip=raw_places)
    assert {f.label for f in leaked} == {"SPOTIFY_REFRESH_TOKEN (raw)", "a raw listener id"}
