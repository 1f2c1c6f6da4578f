"""The dbt project of the analytics domain, seen from Python: where it lives, its manifest, the
vars a run passes and the warehouse lock a run holds. Plain Python: imports no Dagster."""
