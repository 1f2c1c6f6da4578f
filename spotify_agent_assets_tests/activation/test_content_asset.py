"""``generated_content`` in Dagster over a small world: curated playlists from the sample
catalogue and analytics tables made up for three artists. Every number in every text is
parsed back and found in those tables; every playlist gets a 640x640 cover and a jingle, shown
in the metadata; a re-run stores the same; with the endpoint configured from the environment,
a text with a wrong number falls back, and the key appears in no event, log line or table."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import random
import re
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pyarrow as pa
import pytest
import soundfile
from PIL import Image

from spotify_agent_assets.activation.content_cover import PITCH_CLASSES
from spotify_agent_assets.activation.content_jingle import tonic_hz
from spotify_agent_assets.analytics.tables import ARTIST_TRENDS, WEEKLY_ARTIST_REPORT
from spotify_agent_assets.defs.activation import content, playlists
from spotify_agent_assets.defs.activation.playlist_resources import PlaylistSpecsResource
from spotify_agent_assets.defs.resources import build_resources
from spotify_agent_assets.environment import AgentSettings, load_settings
from spotify_agent_assets.lake import ParquetLake
from spotify_agent_assets.lake.table_contract import to_arrow
from spotify_agent_assets.lake.warehouse import Warehouse
from spotify_agent_assets.sample_world.world import SampleWorld
from spotify_agent_assets_tests.activation.fake_llm import API_KEY, facts_in, fake_llm
from spotify_agent_assets_tests.activation.playlist_world import (
    top_artists,
    upstream_rows,
    write_specs,
    write_upstream,
)

pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning")

WEEK_START, WEEK_END = dt.date(2026, 10, 26), dt.date(2026, 10, 31)
SELECTION = ("curated_playlists", "generated_content")


def _analytics(world: SampleWorld, settings: AgentSettings) -> dict[str, list[dict[str, Any]]]:
    """Three artists' report rows (this week and the one before), trends and daily metrics."""
    rng = random.Random(11)
    artists = {a.id: a.name for a in world.artists()}
    chosen = top_artists(world, 3)
    reports, trends, metrics = [], [], []
    for n, artist in enumerate(chosen):
        for week, start, end in (("2026-W43", WEEK_START - dt.timedelta(7), WEEK_END - dt.timedelta(7)),
                                 ("2026-W44", WEEK_START, WEEK_END)):  # fmt: skip
            reports.append({
                "artist_id": artist, "artist_name": artists[artist], "week": week,
                "week_start": start, "week_end": end, "streams": rng.randint(500, 90_000),
                "streams_change": None if n == 2 else rng.uniform(-0.4, 1.6), "trend_status": "steady",
                "anomalies": n, "markdown_uri": "x", "html_uri": "x", "chart_uris": [],
            })  # fmt: skip
        for day in (WEEK_END - dt.timedelta(1), WEEK_END):
            trends.append({
                "artist_id": artist, "artist_name": artists[artist], "date": day,
                "followers": rng.randint(1_000, 5_000_000), "follower_growth_7d": rng.uniform(-0.1, 0.3),
                "breakout_signal": False, "is_breakout": n == 0,
                "breakout_day": dt.date(2026, 10, 20) if n == 0 else None,
                "trend_status": "breakout" if n == 0 else "rising",
            })  # fmt: skip
        for offset in range(-3, 6):
            metrics.append({
                "date": WEEK_START + dt.timedelta(offset), "artist_id": artist,
                "listening_ms": rng.randint(1_000_000, 90_000_000), "popularity": rng.randint(10, 90),
            })  # fmt: skip
    lake = ParquetLake(settings.lake_root)
    lake.write(to_arrow(WEEKLY_ARTIST_REPORT, reports), "analytics", "weekly_artist_report")
    lake.write(to_arrow(ARTIST_TRENDS, trends), "analytics", "artist_trends")
    daily = pa.Table.from_pylist(metrics)
    with Warehouse(settings.warehouse_path, lake).writer() as connection:
        connection.execute("CREATE SCHEMA IF NOT EXISTS analytics")
        connection.register("daily", daily)
        connection.execute(
            "CREATE OR REPLACE TABLE analytics.artist_daily_metrics AS SELECT * FROM daily"
        )
    return {"reports": reports, "trends": trends, "metrics": metrics}


def _world(world: SampleWorld, settings: AgentSettings, tmp_path: Path) -> tuple[Path, dict]:
    rows = upstream_rows(world)
    for feature in rows[("audio", "audio_features")]:  # what the audio group stores beside
        feature["key_status"] = "ok" if feature["key"] else "atonal"
        feature["tempo_status"] = "ok" if feature["tempo_bpm"] else "no_pulse"
    write_upstream(ParquetLake(settings.lake_root), rows)
    first, second, third = top_artists(world, 3)
    specs = write_specs(tmp_path / "playlists.yaml", [
        {"name": "Top 40 Mix", "seeds": {"artists": [first, second]}, "mood": "upbeat", "length": 20},
        {"name": "Short Calm", "seeds": {"artists": [third]}, "mood": "calm", "duration_minutes": 20},
    ])  # fmt: skip
    return specs, _analytics(world, settings) | {"rows": rows}


def _materialize(settings: AgentSettings, specs: Path, instance: dg.DagsterInstance):
    resources = build_resources(settings) | {
        "playlist_specs": PlaylistSpecsResource(path=str(specs))
    }
    return dg.materialize(
        [*playlists.ASSETS, *playlists.CHECKS, *content.ASSETS, *content.CHECKS],
        selection=dg.AssetSelection.assets(*SELECTION) | dg.AssetSelection.checks_for_assets(*SELECTION),
        resources=resources,
        instance=instance,
    )  # fmt: skip


NUMBER = re.compile(r"[+-]?\d[\d,]*(?:\.\d+)?%?")


def _figures(text: str, names: list[str]) -> list[str]:
    """The test's own parse: names, ISO dates and Camelot codes out, then every number."""
    for name in names:
        text = text.replace(name, " ")
    text = re.sub(r"\d{4}-\d{2}-\d{2}|\d{4}-W\d{2}|\b\d{1,2}[AB]\b", " ", text)
    return NUMBER.findall(text)


def _found(figure: str, values: list[float]) -> bool:
    decimals = len(figure.split(".")[1].rstrip("%")) if "." in figure else 0
    number = abs(float(figure.rstrip("%").replace(",", "")))
    scale = 100 if figure.endswith("%") else 1
    return any(f"{abs(v) * scale:.{decimals}f}" == f"{number:.{decimals}f}" for v in values)


def _table_values(row: dict[str, Any], inputs: dict, curated: list[dict[str, Any]]) -> list[float]:
    """What the tables hold for the row's subject, computed here without the asset's code."""
    if row["kind"] == "insight_post":
        artist = row["subject_id"]
        report = next(
            r for r in inputs["reports"] if r["artist_id"] == artist and r["week"] == "2026-W44"
        )
        trend = next(
            t for t in inputs["trends"] if t["artist_id"] == artist and t["date"] == WEEK_END
        )
        week = [
            m
            for m in inputs["metrics"]
            if m["artist_id"] == artist and WEEK_START <= m["date"] <= WEEK_END
        ]
        return [report["streams"], report["streams_change"] or 0.0, report["anomalies"],
                trend["followers"], trend["follower_growth_7d"],
                sum(m["listening_ms"] for m in week) / 3_600_000,
                max(week, key=lambda m: m["date"])["popularity"]]  # fmt: skip
    tracks = [t for t in curated if t["playlist_key"] == row["subject_id"]]
    return [len(tracks), sum(t["duration_ms"] for t in tracks) / 60_000,
            len({t["primary_artist_id"] for t in tracks}),
            statistics.median(t["tempo_bpm"] for t in tracks if t["tempo_bpm"]),
            statistics.fmean(t["energy"] for t in tracks if t["energy"] is not None),
            statistics.fmean(t["valence"] for t in tracks if t["valence"] is not None)]  # fmt: skip


def _typical_key(inputs: dict, artist: str) -> str:
    tracks = {t["track_id"] for t in inputs["rows"][("spotify", "spotify_tracks")]
              if t["artist_ids"][0] == artist}  # fmt: skip
    keys = Counter(
        (f["key"], f["mode"]) for f in inputs["rows"][("audio", "audio_features")]
        if f["track_id"] in tracks and f["status"] == "ok" and f["key"]
    )  # fmt: skip
    best = max(keys.values())
    return min((k for k, n in keys.items() if n == best),
               key=lambda k: (PITCH_CLASSES.index(k[0]), k[1] != "major"))[0]  # fmt: skip


def _dominant_pitch_class(wav: bytes) -> str:
    samples, rate = soundfile.read(io.BytesIO(wav))
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    peak = np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)]
    return PITCH_CLASSES[(round(12 * np.log2(peak / tonic_hz("C"))) % 12)]


def test_content_for_every_artist_and_playlist_with_numbers_from_the_tables(
    settings: AgentSettings, world: SampleWorld, tmp_path: Path
) -> None:
    specs, inputs = _world(world, settings, tmp_path)
    lake = ParquetLake(settings.lake_root)
    with dg.instance_for_test() as instance:
        result = _materialize(settings, specs, instance)
        rows = lake.read("activation", "generated_content").to_pylist()
        curated = lake.read("activation", "curated_playlists").to_pylist()
        again = _materialize(settings, specs, instance)
        assert lake.read("activation", "generated_content").to_pylist() == rows  # idempotent

    kinds = sorted((r["kind"], r["subject_id"]) for r in rows)
    keys = sorted({t["playlist_key"] for t in curated})
    assert keys == ["short-calm", "top-40-mix"]
    assert kinds == sorted(
        [(k, a) for a in top_artists(world, 3) for k in ("insight_post", "jingle")]
        + [(k, p) for p in keys for k in ("cover_art", "jingle", "playlist_description")]
    )
    texts = [r for r in rows if r["text"] is not None]
    for row in texts:
        assert row["generator"] == "local" and row["fallback_reason"] is None
        figures = _figures(row["text"], [row["subject_name"]])
        assert len(figures) >= 4, row["text"]
        values = _table_values(row, inputs, curated)
        assert all(_found(f, values) for f in figures), (row["text"], figures, values)
    # Only the latest week was written about.
    assert {r["period"] for r in rows if r["kind"] == "insight_post"} == {"2026-W44"}
    for row in rows:
        data = Path(row["uri"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row["sha256"] and len(data) == row["bytes"]
        assert row["uri"].startswith(f"{settings.lake_root}/activation/generated_content/files/")
        if row["kind"] == "cover_art":
            assert Image.open(io.BytesIO(data)).size == (640, 640)
        if row["kind"] == "jingle":
            assert 1.0 < soundfile.info(io.BytesIO(data)).duration <= 6.0
    for artist in top_artists(world, 3):  # each artist's jingle is in their most common key
        (row,) = [r for r in rows if r["kind"] == "jingle" and r["subject_id"] == artist]
        assert _dominant_pitch_class(Path(row["uri"]).read_bytes()) == _typical_key(inputs, artist)
    (materialization,) = result.asset_materializations_for_node("generated_content")
    media = materialization.metadata["playlist_media"].value
    assert media.count("](data:image/png;base64,") == 2 and media.count("jingle: `") == 2
    (check,) = [
        c for c in again.get_asset_check_evaluations() if c.check_name == content.CONTENT_CHECK
    ]
    assert check.passed


def test_endpoint_texts_are_guarded_and_its_key_never_leaves_the_environment(
    tmp_path: Path,
    world: SampleWorld,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from dagster._serdes import serialize_value

    from spotify_agent_assets_tests.conftest import write_roster

    caplog.set_level(logging.DEBUG)
    wrong = top_artists(world, 3)[1]
    artist_names = {a.id: a.name for a in world.artists()}

    def answer(messages: list[dict[str, str]]) -> str:
        facts = facts_in(messages)
        if facts.get("artist_name") == artist_names[wrong]:
            return f"{facts['artist_name']} doubled to 99,999 streams!"
        if "artist_name" in facts:
            return f"{facts['artist_name']}: {facts['streams']} streams this week."
        return (
            f"{facts['playlist_name']}: {facts['tracks']} tracks around {facts['tempo_bpm']} BPM."
        )

    with fake_llm(answer) as llm:
        for name, value in {
            "SPOTIFY_AGENT_DATA_DIR": str(tmp_path / "data"),
            "SPOTIFY_AGENT_ROSTER": str(write_roster(tmp_path / "artists.yaml", world)),
            "CONTENT_LLM_BASE_URL": llm.base_url,
            "CONTENT_LLM_MODEL": "tiny-chat",
            "CONTENT_LLM_API_KEY": API_KEY,
        }.items():
            monkeypatch.setenv(name, value)
        settings = load_settings()
        specs, _ = _world(world, settings, tmp_path)
        instance = dg.DagsterInstance.ephemeral()
        result = _materialize(settings, specs, instance)
    rows = ParquetLake(settings.lake_root).read("activation", "generated_content").to_pylist()
    texts = {r["subject_id"]: r for r in rows if r["text"] is not None}
    assert texts[wrong]["generator"] == "local"
    assert texts[wrong]["fallback_reason"] == (
        "numbers_match_facts: number(s) not among the facts: 99,999"
    )
    others = [r for s, r in texts.items() if s != wrong]
    assert len(others) == 4 and all(r["generator"] == "llm:tiny-chat" for r in others)
    assert all(r["fallback_reason"] is None for r in others)
    assert len(llm.requests) == 5
    listener_key = re.compile(r"[0-9a-f]{64}")
    assert not any(listener_key.search(r["raw"].decode()) for r in llm.requests)
    assert all(API_KEY.encode() not in r["raw"] for r in llm.requests)
    (materialization,) = result.asset_materializations_for_node("generated_content")
    assert materialization.metadata["fallbacks"].value == 1
    records = [serialize_value(run) for run in instance.get_runs()]
    for run in instance.get_runs():
        records.extend(serialize_value(e) for e in instance.all_logs(run.run_id))
    assert API_KEY not in "\n".join(records)
    assert API_KEY not in "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert API_KEY not in str(rows)


def test_a_partial_endpoint_configuration_fails_naming_the_variable(
    settings: AgentSettings, world: SampleWorld, tmp_path: Path
) -> None:
    from spotify_agent_assets.defs.activation.content_resources import ContentGeneratorResource

    specs, _ = _world(world, settings, tmp_path)
    resources = build_resources(settings) | {
        "playlist_specs": PlaylistSpecsResource(path=str(specs)),
        "content_generator": ContentGeneratorResource(llm_base_url="http://127.0.0.1:9/v1"),
    }
    result = dg.materialize(
        [*playlists.ASSETS, *content.ASSETS],
        selection=dg.AssetSelection.assets(*SELECTION),
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    failures = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert len(failures) == 1
    message = failures[0].step_failure_data.error.to_string()
    assert "CONTENT_LLM_MODEL, CONTENT_LLM_API_KEY is not set" in message
