"""Resources for the environment :mod:`spotify_agent_assets.environment` decides on.

Secrets are bound as ``dg.EnvVar`` so Dagster resolves them at run time and never stores their
values in run config, metadata or the UI. Optional variables are bound only when set, so a local
run without them falls back to the defaults instead of failing on a missing variable.
"""

from __future__ import annotations

import os
from typing import Any

import dagster as dg

from spotify_agent_assets.defs.activation.alert_resources import AlertChannelsResource
from spotify_agent_assets.defs.activation.content_resources import ContentGeneratorResource
from spotify_agent_assets.defs.activation.playlist_resources import (
    PlaylistSpecsResource,
    SpotifyUserResource,
)
from spotify_agent_assets.defs.activation.social_resources import SocialMediaResource
from spotify_agent_assets.defs.analytics.dbt_resource import build_dbt_resource
from spotify_agent_assets.defs.audio.resources import AudioLandingResource
from spotify_agent_assets.defs.backup_resource import BackupKeyResource
from spotify_agent_assets.defs.lake.io_manager import LakeIOManager
from spotify_agent_assets.defs.lake.resources import LakeResource
from spotify_agent_assets.defs.ml.resources import MlflowTrackingResource
from spotify_agent_assets.defs.observability.resources import ObservabilityResource, install
from spotify_agent_assets.defs.spotify.resources import RosterResource, SpotifyResource
from spotify_agent_assets.defs.streams.resources import StreamLandingResource
from spotify_agent_assets.environment import AgentSettings


def _env_if_set(name: str) -> dg.EnvVar | None:
    return dg.EnvVar(name) if os.environ.get(name) else None


def _optional(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def build_resources(settings: AgentSettings) -> dict[str, Any]:
    lake = LakeResource(
        lake_root=settings.lake_root,
        warehouse_path=str(settings.warehouse_path),
        **_optional(
            s3_endpoint_url=_env_if_set("AWS_ENDPOINT_URL_S3") or _env_if_set("AWS_ENDPOINT_URL"),
            s3_region=_env_if_set("AWS_REGION"),
            s3_access_key_id=_env_if_set("AWS_ACCESS_KEY_ID"),
            s3_secret_access_key=_env_if_set("AWS_SECRET_ACCESS_KEY"),
        ),
    )
    spotify = SpotifyResource(
        use_sample_world=settings.use_sample_world,
        **_optional(
            client_id=_env_if_set("SPOTIFY_CLIENT_ID"),
            client_secret=_env_if_set("SPOTIFY_CLIENT_SECRET"),
            api_base_url=_env_if_set("SPOTIFY_API_BASE_URL"),
            accounts_url=_env_if_set("SPOTIFY_ACCOUNTS_URL"),
        ),
    )
    # Audit records of actions go to this environment's folder, stamped with the running step.
    install(str(settings.audit_log_dir), settings.audit_log_sink)
    return {
        "io_manager": LakeIOManager(storage=lake),
        "observability": ObservabilityResource(
            audit_dir=str(settings.audit_log_dir),
            audit_sink=settings.audit_log_sink,
            environment=settings.env.value,
            **_optional(
                otlp_traces_endpoint=_env_if_set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
                otlp_endpoint=_env_if_set("OTEL_EXPORTER_OTLP_ENDPOINT"),
            ),
        ),
        "lake": lake,
        "spotify": spotify,
        "roster": RosterResource(path=str(settings.roster_path)),
        "dbt": build_dbt_resource(settings),
        "stream_landing": StreamLandingResource(
            landing_root=f"{settings.landing_dir}/streams",
            storage=lake,
            state_dir=str(settings.data_dir / "state"),
            data_dir=str(settings.data_dir),
            # The name is spelled out here; environment.py keeps the key's rules.
            **_optional(pseudonym_key=_env_if_set("SPOTIFY_AGENT_PSEUDONYM_KEY")),
        ),
        "backup_key": BackupKeyResource(**_optional(key=_env_if_set("SPOTIFY_AGENT_BACKUP_KEY"))),
        "audio_landing": AudioLandingResource(zone_root=settings.audio_landing_dir, storage=lake),
        "mlflow": MlflowTrackingResource(
            # An EnvVar when set: a server URI may carry credentials (https://user:token@...).
            tracking_uri=_env_if_set("MLFLOW_TRACKING_URI") or settings.mlflow_tracking_uri,
            **_optional(artifact_root=settings.mlflow_artifact_root),
        ),
        "playlist_specs": PlaylistSpecsResource(path=str(settings.playlists_path)),
        "spotify_user": SpotifyUserResource(
            use_sample_world=settings.use_sample_world,
            **_optional(
                client_id=_env_if_set("SPOTIFY_CLIENT_ID"),
                client_secret=_env_if_set("SPOTIFY_CLIENT_SECRET"),
                refresh_token=_env_if_set("SPOTIFY_REFRESH_TOKEN"),
                api_base_url=_env_if_set("SPOTIFY_API_BASE_URL"),
                accounts_url=_env_if_set("SPOTIFY_ACCOUNTS_URL"),
            ),
        ),
        "alert_channels": AlertChannelsResource(
            rules_path=str(settings.alert_rules_path),
            environment=settings.env.value,
            **_optional(
                sentry_dsn=_env_if_set("SENTRY_DSN"),
                pagerduty_routing_key=_env_if_set("PAGERDUTY_ROUTING_KEY"),
                pagerduty_events_url=_env_if_set("PAGERDUTY_EVENTS_URL"),
                slack_webhook_url=_env_if_set("SLACK_WEBHOOK_URL"),
            ),
        ),
        "content_generator": ContentGeneratorResource(
            **_optional(
                llm_base_url=_env_if_set("CONTENT_LLM_BASE_URL"),
                llm_model=_env_if_set("CONTENT_LLM_MODEL"),
                llm_api_key=_env_if_set("CONTENT_LLM_API_KEY"),
            )
        ),
        "social_media": SocialMediaResource(
            accounts_path=str(settings.social_accounts_path),
            import_dir=f"{settings.landing_dir}/social",
            **_optional(
                youtube_api_key=_env_if_set("YOUTUBE_API_KEY"),
                lastfm_api_key=_env_if_set("LASTFM_API_KEY"),
                youtube_api_url=_env_if_set("YOUTUBE_API_URL"),
                lastfm_api_url=_env_if_set("LASTFM_API_URL"),
            ),
        ),
    }
