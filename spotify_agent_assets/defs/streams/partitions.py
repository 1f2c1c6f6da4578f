"""Partitions of listening data, shared by ingestion and the daily analytics models."""

import dagster as dg

from spotify_agent_assets.environment import history_start

# One partition per UTC day of event time, from SPOTIFY_AGENT_HISTORY_START (default: Spotify's
# launch, so a whole imported listening history fits). end_offset=1: today's partition
# exists, so the hourly ingestion can land today's files as they arrive instead of a day later.
STREAM_DAYS = dg.DailyPartitionsDefinition(start_date=history_start().isoformat(), end_offset=1)
