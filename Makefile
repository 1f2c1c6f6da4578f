# Two commands on a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# Re-install only when the pinned set or the package metadata changes.
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha1sum | cut -c1-12)

export SPOTIFY_AGENT_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(SPOTIFY_AGENT_DATA_DIR)/dagster_home
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
# "true", not 1: MLflow reads only that spelling; nothing here may phone home.
export DO_NOT_TRACK := true
export MLFLOW_DISABLE_TELEMETRY := true

# The sample world's 30-day window that `make run` backfills (the world's "today" is its last day).
SAMPLE_FIRST_DAY := 2026-10-02
SAMPLE_LAST_DAY := 2026-10-31
# In-process execution: most of these materializations are one step, and the code location's
# forkserver executor would import the code location once more per call (a whole `make run`:
# 181 s in process, 195 s forked on 2 cores; docs/BENCHMARKS.md, "Per-step overhead").
DAGSTER := $(BIN)/dagster asset materialize -m spotify_agent_assets.definitions \
	--config-json '{"execution": {"config": {"in_process": {}}}}'

# The maintenance op jobs, from the CLI as an operator runs them. Locally, without
# SPOTIFY_AGENT_BACKUP_KEY, the backup jobs use a key created once in data/backup.key.
MAINTENANCE_JOB := SPOTIFY_AGENT_BACKUP_KEY="$${SPOTIFY_AGENT_BACKUP_KEY:-$$($(BIN)/python -m spotify_agent_assets.maintenance.local_backup_key)}" \
	$(BIN)/dagster job execute -m spotify_agent_assets.definitions \
	-c config/run_in_process.yaml -j

.PHONY: setup run test ui lint lock bench bench-streams bench-audio bench-history bench-hourly bench-recommend clean

# `source .venv/bin/activate` then points dagster at the local instance unless DAGSTER_HOME is
# already set: without DAGSTER_HOME, dagster run from the repo root would read the production
# dagster.yaml there (Postgres) and fail on its unset DAGSTER_PG_* variables.
ACTIVATE_MARK := spotify_agent_assets: local Dagster instance

setup: $(STAMP)
	@$(BIN)/python -m spotify_agent_assets.analytics_dbt prepare
	@grep -q '$(ACTIVATE_MARK)' $(BIN)/activate || \
	  echo 'export DAGSTER_HOME="$${DAGSTER_HOME:-$${SPOTIFY_AGENT_DATA_DIR:-$(CURDIR)/data}/dagster_home}"; mkdir -p "$$DAGSTER_HOME"  # $(ACTIVATE_MARK)' >> $(BIN)/activate

$(STAMP):
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required (set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-*
	touch $@

# Streams before the catalogue: spotify_tracks also looks up the tracks listeners played that
# no album listing shows (taken down), so its first sync must see the ingested plays.
run: setup
	$(BIN)/python -m spotify_agent_assets.local_instance
	$(BIN)/python -m spotify_agent_assets.sample_world.write_landing_zone
	$(DAGSTER) --select 'group:streams' --partition-range $(SAMPLE_FIRST_DAY)...$(SAMPLE_LAST_DAY)
	$(DAGSTER) --select 'group:spotify'
	$(DAGSTER) --select 'group:spotify_history' --partition-range $(SAMPLE_FIRST_DAY)...$(SAMPLE_LAST_DAY)
	$(DAGSTER) --select 'kind:dbt and not tag:daily'
	$(DAGSTER) --select 'tag:daily' --partition-range $(SAMPLE_FIRST_DAY)...$(SAMPLE_LAST_DAY)
	$(DAGSTER) --select 'group:analytics and not kind:dbt'
	$(BIN)/python -m spotify_agent_assets.sample_world.write_audio_zone
	$(DAGSTER) --select 'group:audio'
	$(DAGSTER) --select 'group:ml'
	$(BIN)/python -m spotify_agent_assets.sample_world.write_social_zone
	$(DAGSTER) --select 'key:social_media_metrics' --partition-range $(SAMPLE_FIRST_DAY)...$(SAMPLE_LAST_DAY)
	$(DAGSTER) --select 'group:activation and not key:social_media_metrics'
	$(MAINTENANCE_JOB) backup_job
	$(MAINTENANCE_JOB) restore_check_job
	$(MAINTENANCE_JOB) retention_job
	$(MAINTENANCE_JOB) log_and_run_rotation_job
	$(MAINTENANCE_JOB) health_check_job
	@$(BIN)/python -m spotify_agent_assets.summary

test: setup
	$(BIN)/python -m pytest

ui: setup
	$(BIN)/python -m spotify_agent_assets.local_instance
	SPOTIFY_AGENT_BACKUP_KEY="$${SPOTIFY_AGENT_BACKUP_KEY:-$$($(BIN)/python -m spotify_agent_assets.maintenance.local_backup_key)}" \
	  $(BIN)/dagster dev -w workspace.yaml

# Prometheus metrics per asset from the local instance on http://127.0.0.1:$(METRICS_PORT)/metrics.
METRICS_PORT ?= 9464
.PHONY: metrics
metrics: setup
	$(BIN)/python -m spotify_agent_assets.local_instance
	$(BIN)/python -m spotify_agent_assets.observability.metrics_server --port $(METRICS_PORT)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Known vulnerabilities in the pinned set, from the vulnerability service pip-audit queries.
# --strict fails when any pin could not be looked up, so an unreachable database never passes
# as a clean audit (docs/SECURITY.md, "Static checks and the dependency audit").
.PHONY: audit
audit: setup
	$(BIN)/pip-audit -r requirements.lock --no-deps --strict --progress-spinner off

# Regenerate the pinned set from requirements.in in a scratch environment.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet -r requirements.in
	.venv-lock/bin/python -m pip freeze --exclude-editable | sed 's/+cpu$$//' > requirements.lock
	rm -rf .venv-lock

bench: setup
	$(BIN)/python bench/spotify_sync_calls.py
	$(BIN)/python bench/import_time.py
	$(BIN)/python bench/step_overhead.py

# Ten years of 1,000 listeners' history exports through one ingestion run and one run of the
# daily models (about 25 minutes, 14 GiB of exports under /tmp/history-bench), then the UI's
# partition views over it.
bench-history: setup
	$(BIN)/python bench/history_import.py --data /tmp/history-bench
	$(BIN)/python bench/ui_partitions.py /tmp/history-bench

# One hourly update (a landing file, ingestion of the newest day, the daily and unpartitioned dbt
# models, the Python analytics) on 30 and on 365 days of sample history, three times each
# (about 15 minutes and 1 GiB under /tmp/hourly-bench); docs/BENCHMARKS.md, "Hourly update".
bench-hourly: setup
	$(BIN)/python bench/hourly_update.py --root /tmp/hourly-bench

# 10M events through ingestion and fct_streams_daily against pandas (a few minutes, ~6 GB for pandas).
bench-streams: setup
	taskset -c 0,1 $(BIN)/python bench/ingest_throughput.py 10000000 --pandas

# Audio features per wall second, cold and warm, 1 and 2 workers, against a naive librosa loop.
bench-audio: setup
	taskset -c 0,1 $(BIN)/python bench/audio_throughput.py 120

# Our recommender against popularity and implicit's ALS and BPR on the sample world's last week and
# on 100,000 synthetic listeners (about 10 minutes on 2 cores); docs/BENCHMARKS.md, "Recommender".
bench-recommend: setup
	$(BIN)/python bench/recommend_compare.py

# Ten daily partitions of stream ingestion on a Celery worker with 1 and 2 slots, against the local
# forkserver executor (local PostgreSQL and Redis; a few minutes); docs/BENCHMARKS.md, "Partitions
# on Celery workers".
.PHONY: bench-celery
bench-celery: setup
	taskset -c 0,1 $(BIN)/python bench/celery_partitions.py

# Restore a backup over the data folder (SPOTIFY_AGENT_BACKUP_KEY set; no BACKUP lists them). It is
# proved in a scratch folder first; the replaced data is kept under data/replaced/.
.PHONY: restore
restore: setup
	SPOTIFY_AGENT_BACKUP_KEY="$${SPOTIFY_AGENT_BACKUP_KEY:-$$($(BIN)/python -m spotify_agent_assets.maintenance.local_backup_key)}" \
	  $(BIN)/python -m spotify_agent_assets.maintenance.restore $(if $(BACKUP),$(BACKUP),--list)

clean:
	rm -rf $(SPOTIFY_AGENT_DATA_DIR)
