"""Python analytics over the dbt models: pure functions, no Dagster, heavy imports inside.

- ``trends``: growth, momentum, follower growth and breakout detection per artist and day;
- ``anomalies``: negative-binomial, FDR-controlled incidents (spikes, drops, level shifts) per
  artist and per track;
- ``report``: the weekly artist report (Markdown, self-contained HTML, PNG charts);
- ``baseline``, ``series``, ``charts``: the shared machinery under them;
- ``scoring_window``: which days a run computes and reads (closed days, bounded work).

The Dagster assets that run them live in ``spotify_agent_assets.defs.analytics.assets`` and
(the weekly report) ``spotify_agent_assets.defs.analytics.weekly_report``.
"""
