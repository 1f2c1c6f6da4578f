"""Analytics: dbt models on the DuckDB warehouse and Python analytics over them."""
