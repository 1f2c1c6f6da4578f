"""The sample world's month of listening, aggregated once per session like the dbt models would.

Thirty days of events are about 1.3M plays and a few seconds to generate and aggregate, so the
tables, and the analytics computed from them, are session fixtures shared by every test here.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest

from spotify_agent_assets.analytics.anomalies import streaming_anomalies
from spotify_agent_assets.analytics.report import WeeklyReport, weekly_artist_report
from spotify_agent_assets.analytics.trends import artist_trends
from spotify_agent_assets.sample_world.listening import ListeningWorld
from spotify_agent_assets.sample_world.world import GroundTruthEvent, SampleWorld
from spotify_agent_assets_tests.analytics.sample_tables import SampleTables, build_sample_tables


@pytest.fixture(scope="session")
def listening(world: SampleWorld) -> ListeningWorld:
    return ListeningWorld(world)


@pytest.fixture(scope="session")
def sample_tables(world: SampleWorld, listening: ListeningWorld) -> SampleTables:
    return build_sample_tables(world, listening)


@pytest.fixture(scope="session")
def planted(world: SampleWorld, listening: ListeningWorld) -> dict[str, GroundTruthEvent]:
    """The world's planted events by kind: breakout, streaming_spike, follower_drop."""
    events = {event.kind: event for event in (*world.ground_truth, *listening.ground_truth)}
    assert set(events) == {"breakout", "streaming_spike", "follower_drop"}
    return events


@pytest.fixture(scope="session")
def take_downs(world: SampleWorld) -> dict[str, date]:
    """Tracks taken down by the catalogue, with their day."""
    return {t.id: t.removed_on for t in world.tracks() if t.removed_on is not None}


@pytest.fixture(scope="session")
def trends(sample_tables: SampleTables) -> pa.Table:
    return artist_trends(sample_tables.artist_daily_metrics)


@pytest.fixture(scope="session")
def anomalies(sample_tables: SampleTables) -> pa.Table:
    return streaming_anomalies(
        sample_tables.artist_daily_metrics,
        sample_tables.fct_streams_daily,
        sample_tables.dim_track,
    )


@pytest.fixture(scope="session")
def weekly_report(
    sample_tables: SampleTables, trends: pa.Table, anomalies: pa.Table
) -> WeeklyReport:
    return weekly_artist_report(
        sample_tables.artist_daily_metrics,
        trends,
        anomalies,
        sample_tables.fct_streams_daily,
        sample_tables.dim_track,
    )
