"""Observability: the audit log, traces, metrics and failure alerts (plain modules, no Dagster)."""
