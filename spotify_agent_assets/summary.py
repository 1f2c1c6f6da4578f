"""Print where `make run` left its outputs and how to look at them."""

from __future__ import annotations

import os

from spotify_agent_assets.environment import load_settings


def main() -> None:
    import duckdb

    from spotify_agent_assets.lake.warehouse import quote_identifier

    settings = load_settings()
    print("\nspotify_agent_assets: materialized on the", settings.env.value, "environment")
    print(f"  lake (Parquet):      {settings.lake_root}")
    print(f"  warehouse (DuckDB):  {settings.warehouse_path}")
    print(f"  Dagster instance:    {os.environ.get('DAGSTER_HOME') or settings.dagster_home}")
    print(f"  MLflow store:        {settings.mlflow_tracking_uri}")
    print(f"  backups:             {settings.backup_destination} (make restore lists them)")
    if settings.warehouse_path.exists():
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            # Lake tables are views; dbt models are tables in the same file.
            views = con.execute(
                "select schema_name, view_name from duckdb_views() where not internal "
                "union all select schema_name, table_name from duckdb_tables() where not internal "
                "order by 1, 2"
            ).fetchall()
            if views:
                print("  tables:")
            for schema, view in views:
                # Identifiers come from the catalogue itself, quoted (a name may hold a quote).
                relation = f"{quote_identifier(schema)}.{quote_identifier(view)}"
                (count,) = con.execute(f"select count(*) from {relation}").fetchone()  # noqa: S608 -- quoted identifiers
                print(f"    {schema + '.' + view:<40} {count:>8} rows")
    print(
        '\nQuery:   .venv/bin/duckdb data/warehouse.duckdb "select * from analytics.artist_daily_metrics limit 5"'
    )
    print("UI:      make ui    (then open http://127.0.0.1:3000)")
    print(f"Models:  .venv/bin/mlflow ui --backend-store-uri {settings.mlflow_tracking_uri}")


if __name__ == "__main__":
    main()
