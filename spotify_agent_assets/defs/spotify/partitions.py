"""Partitions of the Spotify domain."""

import dagster as dg

from spotify_agent_assets.environment import history_start

# The same first day as the listening events: the daily models join both, and partitions that
# start on different days would make Dagster's partition mapping between them fail for the
# older days. Against the live API only today and yesterday can be captured (the asset says
# so); the sample world replays its own history. end_offset=0: the newest partition is
# yesterday, a day that is complete.
SNAPSHOT_DAYS = dg.DailyPartitionsDefinition(start_date=history_start().isoformat(), end_offset=0)
