"""Pure ingestion logic for the listening-events landing zone (no Dagster imports).

Reading and checking: ``readers`` turns landing files (stream event v1 as JSON Lines, CSV or
Parquet, and Spotify's extended streaming history export) into raw Arrow batches
(``raw_batch``), one reader per kind (``text_readers``, ``parquet_reader``,
``extended_history_reader``); ``validation`` checks them against stream event v1, typed
batches value by value (``value_screen``), the rest in vectorised SQL (``validation_query``,
``validation_sql``), both handing back a ``validation_result``; ``pseudonymize`` replaces
listener ids with keyed HMACs; ``event_ids`` derives ids for exports that carry none.

Assembling: ``event_batches`` holds validated events compactly, ``dedupe`` keeps one event per
``event_id``, ``day_partitions`` builds sorted daily partitions and ``quarantine`` the refused
records; ``ingest`` ties them together. ``event_schema`` holds the shared column contracts.

Which files, which days: ``event_days`` reads the days a file's events fall on,
``landing_index`` caches that per file version, ``landing_cursor`` is the sensor's memory, and
``rebuild`` recomputes whole partitions from every file that touches them.
"""
