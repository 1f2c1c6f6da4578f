"""The analytics group's Python assets and their table checks, one list each.

``artist_trends`` and ``streaming_anomalies`` are defined in ``assets``, ``weekly_artist_report``
in ``weekly_report``; they are collected here, for ``definitions`` and the tests, because
``weekly_report`` builds on ``assets`` and so cannot be imported by it.
"""

import dagster as dg

from spotify_agent_assets.analytics.tables import (
    ANALYTICS_GROUP,
    ARTIST_TRENDS,
    STREAMING_ANOMALIES,
    WEEKLY_ARTIST_REPORT,
)
from spotify_agent_assets.defs.analytics.assets import artist_trends, streaming_anomalies
from spotify_agent_assets.defs.analytics.weekly_report import weekly_artist_report
from spotify_agent_assets.defs.table_checks import build_table_checks

ANALYTICS_ASSETS: list[dg.AssetsDefinition] = [
    artist_trends,
    streaming_anomalies,
    weekly_artist_report,
]
ANALYTICS_TABLE_CHECKS = [
    build_table_checks(ANALYTICS_GROUP, contract)
    for contract in (ARTIST_TRENDS, STREAMING_ANOMALIES, WEEKLY_ARTIST_REPORT)
]
