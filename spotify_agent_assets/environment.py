"""The one place that decides which environment the code location runs in.

Everything that differs between a laptop and production (where the lake lives, which Dagster
instance stores runs, whether the bundled sample world may stand in for the Spotify API) is
read here from environment variables, once, and handed to the wiring as plain values. No other
module reads ``SPOTIFY_AGENT_*`` variables.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

ENV_VAR = "SPOTIFY_AGENT_ENV"
DATA_DIR_VAR = "SPOTIFY_AGENT_DATA_DIR"
LAKE_URL_VAR = "SPOTIFY_AGENT_LAKE_URL"
LANDING_URL_VAR = "SPOTIFY_AGENT_LANDING_URL"
ROSTER_VAR = "SPOTIFY_AGENT_ROSTER"
# The curated playlist specs (curated_playlists).
PLAYLISTS_VAR = "SPOTIFY_AGENT_PLAYLISTS"
DEFAULT_PLAYLISTS = PROJECT_ROOT / "config" / "playlists.yaml"
HISTORY_START_VAR = "SPOTIFY_AGENT_HISTORY_START"
# Spotify's public launch: no listening history, artist or export can be older, so every real
# extended streaming history export fits the daily partitions without any configuration. A
# deployment that only ever sees recent data may set a later day to keep the partition views
# short; events before the first day are skipped with a warning.
DEFAULT_HISTORY_START = dt.date(2008, 10, 7)
EVENT_RETENTION_DAYS_VAR = "SPOTIFY_AGENT_EVENT_RETENTION_DAYS"
# Two years of listening events (and their quarantined records) are kept; retention_job deletes
# older days. Long enough for year-over-year analytics, short enough to bound what is held.
DEFAULT_EVENT_RETENTION_DAYS = 730
# MLflow's own variable, so the mlflow CLI and UI find the same store.
MLFLOW_TRACKING_URI_VAR = "MLFLOW_TRACKING_URI"
# Where new experiments keep their artifacts (an s3:// prefix; MLflow's client uploads there,
# endpoint from MLFLOW_S3_ENDPOINT_URL). Unset: the tracking server's own artifact location.
MLFLOW_ARTIFACT_ROOT_VAR = "SPOTIFY_AGENT_MLFLOW_ARTIFACT_ROOT"
SPOTIFY_CREDENTIAL_VARS = ("SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET")
# Where backups go (local folder or s3://; default <data>/backups) and the key that seals them.
BACKUP_URL_VAR = "SPOTIFY_AGENT_BACKUP_URL"
BACKUP_KEY_VAR = "SPOTIFY_AGENT_BACKUP_KEY"
# Thresholds of the artist monitoring rules (artist_alerts).
ALERT_RULES_VAR = "SPOTIFY_AGENT_ALERT_RULES"
DEFAULT_ALERT_RULES = PROJECT_ROOT / "config" / "alerts.yaml"
SOCIAL_ACCOUNTS_VAR = "SPOTIFY_AGENT_SOCIAL_ACCOUNTS"
DEFAULT_SOCIAL_ACCOUNTS = PROJECT_ROOT / "config" / "social_accounts.yaml"
# Where audit records go: day files under <data>/logs (file), standard output (stdout, for
# containers whose log collector ships it) or both.
AUDIT_LOG_VAR = "SPOTIFY_AGENT_AUDIT_LOG"
AUDIT_LOG_SINKS = ("file", "stdout", "both")
# How steps run: ``forkserver`` (one machine, the local default) or ``celery`` (workers behind
# a broker, the prod default; the broker URL is DAGSTER_CELERY_BROKER_URL).
EXECUTOR_VAR = "SPOTIFY_AGENT_EXECUTOR"
# The repository the code is served from (https://github.com/... or a GitLab URL) and its
# branch: set, the UI's code references link there instead of to local files.
SOURCE_URL_VAR = "SPOTIFY_AGENT_SOURCE_URL"
SOURCE_BRANCH_VAR = "SPOTIFY_AGENT_SOURCE_BRANCH"


class AgentEnvironment(StrEnum):
    LOCAL = "local"
    PROD = "prod"


class StepExecutor(StrEnum):
    FORKSERVER = "forkserver"
    CELERY = "celery"


class EnvironmentConfigError(ValueError):
    """An environment variable is missing or holds a value this code location cannot use."""


@dataclass(frozen=True)
class AgentSettings:
    """Where things live and what may stand in for what, for one environment."""

    env: AgentEnvironment
    data_dir: Path
    lake_root: str
    warehouse_path: Path
    dagster_home: Path
    landing_dir: str
    roster_path: Path
    spotify_credentials_set: bool
    mlflow_tracking_uri: str
    mlflow_artifact_root: str | None
    history_start: dt.date = DEFAULT_HISTORY_START
    """First day of the daily partitions (listening events, artist snapshots, daily models)."""
    event_retention_days: int = DEFAULT_EVENT_RETENTION_DAYS
    """Days of listening events and quarantined records kept (retention_job deletes older)."""
    backup_url: str | None = None
    """Where backups go: a local folder or ``s3://bucket/prefix`` (None: ``<data>/backups``)."""
    audit_log_sink: str = "file"
    """Where audit records go: ``file`` (``audit_log_dir``), ``stdout`` or ``both``."""
    alert_rules_path: Path = DEFAULT_ALERT_RULES
    """The artist alert rules' thresholds (YAML)."""
    playlists_path: Path = DEFAULT_PLAYLISTS
    """The curated playlist specs (YAML)."""
    social_accounts_path: Path = DEFAULT_SOCIAL_ACCOUNTS
    """Which YouTube channel and Last.fm artist is each roster artist's (YAML)."""
    executor: StepExecutor = StepExecutor.FORKSERVER
    """Where a run's steps execute: forked processes on this machine, or Celery workers (whose
    broker settings ``defs/celery_executor.py`` checks when the code location loads)."""
    source_url: str | None = None
    """The code's repository on GitHub or GitLab; None: code references are local files."""
    source_branch: str = "main"
    """The branch (or tag) of ``source_url`` the code references link to."""

    @property
    def backup_destination(self) -> str:
        """``backup_url``, or ``<data>/backups`` when none is set."""
        return self.backup_url or str(self.data_dir / "backups")

    @property
    def audit_log_dir(self) -> Path:
        """``<data>/logs``: our audit logs (JSON lines), rotated by log_and_run_rotation_job."""
        return self.data_dir / "logs"

    @property
    def audio_landing_dir(self) -> str:
        """``<landing>/audio``: where audio files are delivered (local folder or s3:// prefix)."""
        return f"{self.landing_dir}/audio"

    @property
    def use_sample_world(self) -> bool:
        """Serve the bundled sample world instead of the Spotify API.

        Only locally and only when no credentials are configured: production must never
        quietly sync invented data.
        """
        return self.env is AgentEnvironment.LOCAL and not self.spotify_credentials_set


def _s3_url_with_bucket(var: str, raw: str) -> str:
    """``raw`` (an ``s3://`` URL read from ``var``) if it names a bucket."""
    if not raw[len("s3://") :].split("/", 1)[0]:
        raise EnvironmentConfigError(
            f"{var}={raw!r} names no bucket; expected s3://bucket[/prefix]"
        )
    return raw


def current_environment(environ: Mapping[str, str] | None = None) -> AgentEnvironment:
    environ = os.environ if environ is None else environ
    raw = environ.get(ENV_VAR, AgentEnvironment.LOCAL.value).strip().lower()
    try:
        return AgentEnvironment(raw)
    except ValueError:
        allowed = ", ".join(e.value for e in AgentEnvironment)
        raise EnvironmentConfigError(
            f"{ENV_VAR}={raw!r} is not a known environment; expected one of: {allowed}"
        ) from None


def history_start(environ: Mapping[str, str] | None = None) -> dt.date:
    """``SPOTIFY_AGENT_HISTORY_START`` as a date (ISO ``YYYY-MM-DD``), default 2008-10-07."""
    environ = os.environ if environ is None else environ
    raw = (environ.get(HISTORY_START_VAR) or "").strip()
    if not raw:
        return DEFAULT_HISTORY_START
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise EnvironmentConfigError(
            f"{HISTORY_START_VAR}={raw!r} is not a date; expected an ISO date such as "
            f"{DEFAULT_HISTORY_START.isoformat()}"
        ) from None
    if len(raw) != len("YYYY-MM-DD"):
        raise EnvironmentConfigError(
            f"{HISTORY_START_VAR}={raw!r} is not a calendar day; expected YYYY-MM-DD"
        )
    today = dt.datetime.now(dt.UTC).date()
    if day > today:
        raise EnvironmentConfigError(
            f"{HISTORY_START_VAR}={raw} is in the future; expected a day on or before {today}"
        )
    return day


def backup_url(environ: Mapping[str, str] | None = None) -> str | None:
    """``SPOTIFY_AGENT_BACKUP_URL``: an ``s3://bucket[/prefix]`` URL or a local folder."""
    environ = os.environ if environ is None else environ
    raw = (environ.get(BACKUP_URL_VAR) or "").strip().rstrip("/")
    if not raw:
        return None
    if raw.startswith("s3://"):
        return _s3_url_with_bucket(BACKUP_URL_VAR, raw)
    if "://" in raw:
        raise EnvironmentConfigError(
            f"{BACKUP_URL_VAR}={raw!r} is not supported; expected a local folder or s3:// URL"
        )
    return str(Path(raw).expanduser().resolve())


def backup_key_text(environ: Mapping[str, str] | None = None) -> str | None:
    """The raw ``SPOTIFY_AGENT_BACKUP_KEY`` (a secret: never log it), or None when unset.

    For command-line tools only; the code location binds the variable as ``dg.EnvVar``.
    """
    environ = os.environ if environ is None else environ
    return (environ.get(BACKUP_KEY_VAR) or "").strip() or None


def audit_log_sink(environ: Mapping[str, str] | None = None) -> str:
    """``SPOTIFY_AGENT_AUDIT_LOG``: ``file`` (default), ``stdout`` or ``both``."""
    environ = os.environ if environ is None else environ
    raw = (environ.get(AUDIT_LOG_VAR) or "file").strip().lower()
    if raw not in AUDIT_LOG_SINKS:
        raise EnvironmentConfigError(
            f"{AUDIT_LOG_VAR}={raw!r} is not a known sink; expected one of: "
            + ", ".join(AUDIT_LOG_SINKS)
        )
    return raw


def mlflow_artifact_root(
    environ: Mapping[str, str], env: AgentEnvironment, tracking_uri: str | None, local: Path
) -> str | None:
    """``SPOTIFY_AGENT_MLFLOW_ARTIFACT_ROOT`` (``s3://bucket/prefix`` or, locally, a folder);
    unset: ``local`` without a tracking URI, else None (the tracking server's own location).

    In prod a database tracking URI (``postgresql://``, ``sqlite://``) has no artifact store of
    its own: without an s3:// root the model files would land in the container's working
    directory and be lost with it.
    """
    raw = (environ.get(MLFLOW_ARTIFACT_ROOT_VAR) or "").strip().rstrip("/")
    if raw.startswith("s3://"):
        return _s3_url_with_bucket(MLFLOW_ARTIFACT_ROOT_VAR, raw)
    if "://" in raw or (raw and env is AgentEnvironment.PROD):
        raise EnvironmentConfigError(
            f"{MLFLOW_ARTIFACT_ROOT_VAR}={raw!r} is not supported; expected an s3:// URL"
            + ("" if env is AgentEnvironment.PROD else " or a local folder")
        )
    if raw:
        return str(Path(raw).expanduser().resolve())
    server = (tracking_uri or "").split("://", 1)[0] in ("http", "https", "databricks")
    if env is AgentEnvironment.PROD and not server:
        raise EnvironmentConfigError(
            f"{MLFLOW_ARTIFACT_ROOT_VAR} must be an s3:// URL in prod when "
            f"{MLFLOW_TRACKING_URI_VAR} is a database, not a tracking server; model files "
            "kept inside the container would be lost with it"
        )
    return None if tracking_uri else str(local)


def event_retention_days(environ: Mapping[str, str] | None = None) -> int:
    """``SPOTIFY_AGENT_EVENT_RETENTION_DAYS`` as a whole number of days >= 1, default 730."""
    environ = os.environ if environ is None else environ
    raw = (environ.get(EVENT_RETENTION_DAYS_VAR) or "").strip()
    if not raw:
        return DEFAULT_EVENT_RETENTION_DAYS
    if not raw.isdigit() or int(raw) < 1:
        raise EnvironmentConfigError(
            f"{EVENT_RETENTION_DAYS_VAR}={raw!r} is not a number of days; expected a whole "
            f"number >= 1 (default {DEFAULT_EVENT_RETENTION_DAYS})"
        )
    return int(raw)


def step_executor(env: AgentEnvironment, environ: Mapping[str, str]) -> StepExecutor:
    """``SPOTIFY_AGENT_EXECUTOR``; by default ``celery`` in prod, ``forkserver`` locally."""
    default = StepExecutor.CELERY if env is AgentEnvironment.PROD else StepExecutor.FORKSERVER
    raw = (environ.get(EXECUTOR_VAR) or "").strip().lower()
    if not raw:
        return default
    try:
        return StepExecutor(raw)
    except ValueError:
        allowed = ", ".join(e.value for e in StepExecutor)
        raise EnvironmentConfigError(
            f"{EXECUTOR_VAR}={raw!r} is not a known executor; expected one of: {allowed}"
        ) from None


def load_settings(environ: Mapping[str, str] | None = None) -> AgentSettings:
    """Read the settings for the current environment from ``environ`` (default: os.environ)."""
    environ = os.environ if environ is None else environ
    env = current_environment(environ)
    data_dir = Path(environ.get(DATA_DIR_VAR) or PROJECT_ROOT / "data").expanduser().resolve()

    lake_root = environ.get(LAKE_URL_VAR) or str(data_dir / "lake")
    if env is AgentEnvironment.PROD and not lake_root.startswith("s3://"):
        raise EnvironmentConfigError(
            f"{LAKE_URL_VAR} must be an s3:// URL in prod (got {lake_root!r}); "
            "the production lake lives in object storage"
        )

    credentials = [bool(environ.get(name)) for name in SPOTIFY_CREDENTIAL_VARS]
    if any(credentials) and not all(credentials):
        missing = [n for n, ok in zip(SPOTIFY_CREDENTIAL_VARS, credentials, strict=True) if not ok]
        raise EnvironmentConfigError(
            f"{', '.join(missing)} is not set; set both SPOTIFY_CLIENT_ID and "
            "SPOTIFY_CLIENT_SECRET, or neither to use the sample world locally"
        )
    if env is AgentEnvironment.PROD and not all(credentials):
        raise EnvironmentConfigError(
            "SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET must be set in prod; "
            "the sample world is only served locally"
        )

    roster = Path(environ.get(ROSTER_VAR) or PROJECT_ROOT / "config" / "artists.yaml")
    tracking_uri = environ.get(MLFLOW_TRACKING_URI_VAR)
    if env is AgentEnvironment.PROD and not tracking_uri:
        raise EnvironmentConfigError(
            f"{MLFLOW_TRACKING_URI_VAR} must be set in prod (the MLflow tracking server); "
            "a model registry inside the container would be lost with it"
        )
    backups = backup_url(environ)
    if env is AgentEnvironment.PROD and not (backups or "").startswith("s3://"):
        raise EnvironmentConfigError(
            f"{BACKUP_URL_VAR} must be an s3:// URL in prod (got {backups!r}); backups kept "
            "inside the container would be lost with it"
        )

    # Locally a SQLite store (the model registry needs a database) with artifacts beside it;
    # a tracking server keeps its own artifact location unless one is set (mlflow_artifact_root).
    local_mlflow = data_dir / "mlflow"
    return AgentSettings(
        env=env,
        data_dir=data_dir,
        lake_root=lake_root,
        warehouse_path=data_dir / "warehouse.duckdb",
        dagster_home=data_dir / "dagster_home",
        landing_dir=(environ.get(LANDING_URL_VAR) or str(data_dir / "landing")).rstrip("/"),
        roster_path=roster.expanduser().resolve(),
        spotify_credentials_set=all(credentials),
        mlflow_tracking_uri=tracking_uri or f"sqlite:///{local_mlflow / 'mlflow.db'}",
        mlflow_artifact_root=mlflow_artifact_root(
            environ, env, tracking_uri, local_mlflow / "artifacts"
        ),
        history_start=history_start(environ),
        audit_log_sink=audit_log_sink(environ),
        event_retention_days=event_retention_days(environ),
        backup_url=backups,
        alert_rules_path=Path(environ.get(ALERT_RULES_VAR) or DEFAULT_ALERT_RULES).resolve(),
        playlists_path=Path(environ.get(PLAYLISTS_VAR) or DEFAULT_PLAYLISTS).expanduser().resolve(),
        social_accounts_path=Path(environ.get(SOCIAL_ACCOUNTS_VAR) or DEFAULT_SOCIAL_ACCOUNTS)
        .expanduser()
        .resolve(),
        executor=step_executor(env, environ),
        source_url=source_url(environ),
        source_branch=environ.get(SOURCE_BRANCH_VAR) or "main",
    )


def source_url(environ: Mapping[str, str]) -> str | None:
    """``SPOTIFY_AGENT_SOURCE_URL``, checked: Dagster links code only to GitHub and GitLab."""
    url = (environ.get(SOURCE_URL_VAR) or "").strip().rstrip("/")
    if not url:
        return None
    if not url.startswith("https://") or not ("github" in url or "gitlab" in url):
        raise EnvironmentConfigError(
            f"{SOURCE_URL_VAR} must be the https:// URL of a GitHub or GitLab repository "
            f"(got {url!r}); leave it unset to link code references to local files"
        )
    return url
