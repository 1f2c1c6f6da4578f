"""Dagster wiring of observability: sensors that export traces, audit records and failure alerts."""
