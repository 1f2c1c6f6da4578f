"""Partitions of the Spotify domain."""

import dagster as dg

# The sample world's history starts here; real deployments simply have no data before it.
# end_offset=0: the newest partition is yesterday, a day that is complete.
SNAPSHOT_DAYS = dg.DailyPartitionsDefinition(start_date="2026-09-01", end_offset=0)
