"""Running steps beyond one machine: Celery queues per workload and the broker settings.

Plain logic without Dagster; ``defs/celery_*.py`` wires it into the code location.
"""
