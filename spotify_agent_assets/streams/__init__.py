"""Pure ingestion logic for the listening-events landing zone (no Dagster imports).

``readers`` turns landing files (stream event v1 as JSON Lines, CSV or Parquet, and Spotify's
extended streaming history export) into raw Arrow batches; ``validation`` checks them against
stream event v1 in vectorised SQL; ``pseudonymize`` replaces listener ids with keyed HMACs; and
``ingest`` ties them together into daily ``streams.stream_events`` partitions plus a quarantine
table. ``event_schema`` holds the column contracts all of them share.
"""
