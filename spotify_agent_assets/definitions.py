"""The code location: every domain under ``defs/``, with resources for the current environment.

``dagster asset materialize -m spotify_agent_assets.definitions --select ...`` and
``dagster dev`` (workspace.yaml) both load ``defs`` from here. Domains are listed explicitly
rather than discovered with ``load_from_defs_folder``: that also imports every installed
component plugin (dbt, AWS, ...), which more than doubled the code location's import time.
"""

import dagster as dg

from spotify_agent_assets.defs.activation import (
    ACTIVATION_ASSETS,
    ACTIVATION_CHECKS,
    ACTIVATION_JOBS,
    ACTIVATION_SCHEDULES,
    ACTIVATION_SENSORS,
)
from spotify_agent_assets.defs.analytics.dbt_assets import DBT_ASSETS
from spotify_agent_assets.defs.analytics.python_assets import (
    ANALYTICS_ASSETS,
    ANALYTICS_TABLE_CHECKS,
)
from spotify_agent_assets.defs.audio.assets import AUDIO_ASSETS, audio_table_checks
from spotify_agent_assets.defs.audio.automation import audio_analysis, audio_landing_sensor
from spotify_agent_assets.defs.celery_queues import with_celery_queues
from spotify_agent_assets.defs.executor import step_executor
from spotify_agent_assets.defs.maintenance import (
    MAINTENANCE_JOBS,
    MAINTENANCE_SCHEDULES,
    MAINTENANCE_SENSORS,
)
from spotify_agent_assets.defs.ml.assets import ML_ASSETS, ML_TABLE_CHECKS
from spotify_agent_assets.defs.ml.schedules import ML_JOBS, ML_SCHEDULES
from spotify_agent_assets.defs.ml.serving import SERVING_ASSETS, SERVING_TABLE_CHECKS
from spotify_agent_assets.defs.observability.export_sensor import observability_export_sensor
from spotify_agent_assets.defs.observability.run_failure_sensor import RUN_FAILURE_SENSORS
from spotify_agent_assets.defs.operator_policy import apply_operator_policy
from spotify_agent_assets.defs.resources import build_resources
from spotify_agent_assets.defs.spotify import assets as spotify_assets
from spotify_agent_assets.defs.spotify.checks import spotify_table_checks
from spotify_agent_assets.defs.spotify.schedules import (
    spotify_daily_sync,
    spotify_daily_sync_schedule,
)
from spotify_agent_assets.defs.streams.assets import STREAM_ASSETS
from spotify_agent_assets.defs.streams.automation import (
    hourly_stream_ingestion,
    stream_ingestion,
    stream_landing_sensor,
)
from spotify_agent_assets.defs.streams.checks import STREAM_TABLE_CHECKS
from spotify_agent_assets.environment import load_settings
from spotify_agent_assets.observability.sentry_setup import init_sentry

# Declarative automation (analytics following their inputs) runs only while a sensor evaluates
# it; this one is on by default so a fresh deployment keeps the analytics current.
automation_sensor = dg.AutomationConditionSensorDefinition(
    "automation_condition_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
)

settings = load_settings()
# Every process that loads the code location (code server, run worker, step subprocesses)
# reports to Sentry when SENTRY_DSN is set, every payload scrubbed: observability/sentry_setup.py.
init_sentry(environment=settings.env.value)
# Each step's Celery queue (dagster-celery/queue) from its asset group: defs/celery_queues.py.
assets, asset_checks = with_celery_queues(
    # Owners by group and links to the source, filled in once for every asset.
    apply_operator_policy(
        [
            *dg.load_assets_from_modules([spotify_assets]),
            *STREAM_ASSETS,
            *DBT_ASSETS,
            *ANALYTICS_ASSETS,
            *AUDIO_ASSETS,
            *ML_ASSETS,
            *SERVING_ASSETS,
            *ACTIVATION_ASSETS,
        ],
        source_url=settings.source_url,
        source_branch=settings.source_branch,
    ),
    [
        *spotify_table_checks,
        *STREAM_TABLE_CHECKS,
        *ANALYTICS_TABLE_CHECKS,
        *audio_table_checks,
        *ML_TABLE_CHECKS,
        *SERVING_TABLE_CHECKS,
        *ACTIVATION_CHECKS,
    ],
)
defs = dg.Definitions(
    assets=assets,
    asset_checks=asset_checks,
    jobs=[
        spotify_daily_sync,
        stream_ingestion,
        audio_analysis,
        *ML_JOBS,
        *MAINTENANCE_JOBS,
        *ACTIVATION_JOBS,
    ],
    schedules=[
        spotify_daily_sync_schedule,
        hourly_stream_ingestion,
        *ML_SCHEDULES,
        *MAINTENANCE_SCHEDULES,
        *ACTIVATION_SCHEDULES,
    ],
    sensors=[
        stream_landing_sensor,
        audio_landing_sensor,
        automation_sensor,
        *MAINTENANCE_SENSORS,
        *ACTIVATION_SENSORS,
        observability_export_sensor,
        *RUN_FAILURE_SENSORS,
    ],
    resources=build_resources(settings),
    executor=step_executor(settings),
)
