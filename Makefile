# One command to run the platform locally, one to run the tests. Both set themselves up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)/.dagster_home
export TSPLATFORM_DATA_DIR ?= $(CURDIR)/data

.PHONY: setup browser run run-postgres lint test bench ingest clean-data

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

$(DAGSTER_HOME)/dagster.yaml:
	mkdir -p $(DAGSTER_HOME)
	ln -sf ../dagster.yaml $@

setup: $(BIN)/.installed $(DAGSTER_HOME)/dagster.yaml

## Run the platform locally (embedded SQLite + DuckDB): uploads the sample data, starts the sensor-stream
## generator, Dagster on 127.0.0.1:3000 ($$PORT) and tsplatform serve (API, charts, dashboard) on
## 127.0.0.1:8000 ($$TSPLATFORM_API_PORT). All run under tsplatform.cli.run_local, which stops them
## all on Ctrl-C, SIGINT, SIGTERM or SIGHUP, with or without a terminal.
run: setup
	$(BIN)/tsplatform upload --skip-known data/sample/*.csv
	$(BIN)/tsplatform upload --skip-known --date-format "%m/%d/%Y" \
	    --columns "Order Date=Date,Product ID=product_id,Category=category,Sales=sales" \
	    data/sample/mapped/*.csv
	@ls $(TSPLATFORM_DATA_DIR)/stream/*.jsonl >/dev/null 2>&1 || $(BIN)/tsplatform stream backfill --days 1
	exec $(BIN)/python -m tsplatform.cli.run_local --host 127.0.0.1 --port $${PORT:-3000} --workspace workspace.yaml

## Same, on PostgreSQL (Dagster storage and warehouse) at $$DAGSTER_POSTGRES_HOST (default: the local server).
run-postgres: export DAGSTER_HOME := $(CURDIR)/.dagster_home_postgres
run-postgres: export DAGSTER_POSTGRES_HOST ?= 127.0.0.1
run-postgres: export DAGSTER_POSTGRES_PORT ?= 5432
run-postgres: export DAGSTER_POSTGRES_USER ?= postgres
run-postgres: export DAGSTER_POSTGRES_PASSWORD ?=
run-postgres: export DAGSTER_POSTGRES_DB ?= dagster
run-postgres: export TSPLATFORM_WAREHOUSE_DB ?= tsplatform
run-postgres: export PG_URL = postgresql://$(DAGSTER_POSTGRES_USER)$(if $(DAGSTER_POSTGRES_PASSWORD),:$(DAGSTER_POSTGRES_PASSWORD))@$(DAGSTER_POSTGRES_HOST):$(DAGSTER_POSTGRES_PORT)
run-postgres: export TSPLATFORM_WAREHOUSE_URL ?= $(PG_URL)/$(TSPLATFORM_WAREHOUSE_DB)
run-postgres: setup
	mkdir -p $$DAGSTER_HOME && ln -sf ../deploy/dagster.postgres.yaml $$DAGSTER_HOME/dagster.yaml
	$(BIN)/tsplatform db create $$PG_URL/$$DAGSTER_POSTGRES_DB
	$(BIN)/tsplatform db init
	$(BIN)/tsplatform upload --skip-known data/sample/*.csv
	exec $(BIN)/python -m tsplatform.cli.run_local --no-stream --host 127.0.0.1 --port $${PORT:-3000} --workspace workspace.yaml

## Headless Chromium for the UI check (Debian's package; needs root or a pre-installed chromium).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the browser test..."; \
	    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: chromium is missing; the browser check will be skipped (it fails in CI)"; fi; }

## Lint and types: ruff on every Python file, mypy on tsplatform/ (settings in pyproject.toml).
lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

## Run the whole test suite after the lint (needs PostgreSQL at $$TSPLATFORM_TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres).
test: setup browser lint
	$(BIN)/pytest $(PYTEST_ARGS)

## The benchmark suite: one table of ratios against baselines measured in the same run (BENCH_ARGS=--quick: toy sizes).
bench: setup
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

## Process what is waiting in data/landing now, without the daemon.
ingest: setup
	$(BIN)/tsplatform ingest

## Forget all local data and run history (keeps data/sample).
clean-data:
	rm -rf data/landing data/uploads data/duplicates data/quarantine data/reports data/stream data/warehouse.duckdb* data/.landing.lock
	find $(DAGSTER_HOME) -mindepth 1 ! -name .gitkeep ! -name dagster.yaml -exec rm -rf {} +
