# Production image of the code location (SPOTIFY_AGENT_ENV=prod).
# It serves the definitions over gRPC to a Dagster webserver/daemon that share the Postgres
# instance configured in dagster.yaml. Checked statically by spotify_agent_assets_tests/test_dockerfile.py.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    MLFLOW_DISABLE_TELEMETRY=true \
    DAGSTER_HOME=/opt/dagster/home \
    SPOTIFY_AGENT_ENV=prod \
    SPOTIFY_AGENT_DATA_DIR=/opt/dagster/data

# A directory of CPU-only torch wheels can be supplied at build time (torch==2.13.0 from the
# default index pulls the CUDA stack, gigabytes the workers never use).
ARG TORCH_FIND_LINKS=""

WORKDIR /opt/dagster/app

RUN groupadd --system dagster && useradd --system --gid dagster --home /opt/dagster dagster

COPY requirements.lock ./
RUN pip install ${TORCH_FIND_LINKS:+--find-links "$TORCH_FIND_LINKS"} -r requirements.lock

COPY pyproject.toml README.md workspace.yaml ./
COPY spotify_agent_assets ./spotify_agent_assets
COPY dbt_project ./dbt_project
COPY config ./config
RUN pip install --no-deps . \
    && python -m spotify_agent_assets.analytics_dbt prepare \
    && mkdir -p "$DAGSTER_HOME" "$SPOTIFY_AGENT_DATA_DIR" \
    && chown -R dagster:dagster /opt/dagster

COPY dagster.yaml ${DAGSTER_HOME}/dagster.yaml

USER dagster
EXPOSE 4000

CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "spotify_agent_assets.definitions"]
