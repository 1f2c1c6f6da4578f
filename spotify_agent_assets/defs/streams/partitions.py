"""Partitions of listening data, shared by ingestion and the daily analytics models."""

import dagster as dg

# One partition per UTC day of event time. end_offset=1: today's partition exists, so the
# hourly ingestion can land today's files as they arrive instead of a day later.
STREAM_DAYS = dg.DailyPartitionsDefinition(start_date="2026-09-01", end_offset=1)
