"""Python analytics over the dbt models: pure functions, no Dagster, heavy imports inside.

- ``trends``: growth, momentum, follower growth and breakout detection per artist and day;
- ``anomalies``: weekday-adjusted robust z-score spikes and drops per artist and per track;
- ``report``: the weekly artist report (Markdown, self-contained HTML, PNG charts);
- ``baseline``, ``series``, ``charts``: the shared machinery under them.

The Dagster assets that run them live in ``spotify_agent_assets.defs.analytics.assets``.
"""
