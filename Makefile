# Flux developer commands. `make help` lists them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SERVICES := $(PY) -m flux.devservices

.DEFAULT_GOAL := help
.PHONY: help run test test-timescaledb test-citus bench-citus lint format manage shell bench bench-query bench-realtime bench-anomalies bench-anomalies-real bench-scan bench-soak bench-rollups bench-compression bench-storage bench-statsd clean-data

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/bin/activate:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  echo "[flux] python venv module missing; installing python3-venv"; \
	  apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null && $(PYTHON) -m venv $(VENV); }
	@$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.requirements: requirements.txt requirements-local.txt | $(VENV)/bin/activate
	$(PY) -m pip install --quiet -r requirements-local.txt
	@touch $@

$(VENV)/.requirements-dev: requirements.txt requirements-local.txt requirements-dev.txt | $(VENV)/bin/activate
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.requirements

run: $(VENV)/.requirements ## run Flux: web + websockets + worker + beat, with a demo project (Ctrl-C stops)
	$(SERVICES) run

test: $(VENV)/.requirements-dev ## lint, check migrations, run the whole suite, then the storage tests on TimescaleDB and on a three-node Citus cluster (ARGS=... for pytest)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(SERVICES) exec -- sh -c '$(PY) manage.py check --fail-level WARNING && $(PY) manage.py makemigrations --check --dry-run >/dev/null && $(PY) -m pytest $(ARGS)'
	$(MAKE) --no-print-directory test-timescaledb
	$(MAKE) --no-print-directory test-citus

test-timescaledb: $(VENV)/.requirements-dev ## the storage, retention, compression, rollup and query tests on a TimescaleDB built from ../shared/timescaledb
	$(SERVICES) exec -- $(PY) -m flux.devtimescale exec -- $(PY) -m pytest -m storage $(TIMESCALEDB_ARGS)

# The ingestion tests (events, metrics, idempotent ids, limits) also run on the cluster, unmarked so that
# they stay in the main run too.
CITUS_INGEST_TESTS := events/tests/test_ingest_api.py events/tests/test_ingest_typed_path.py metrics/tests/test_ingest_api.py metrics/tests/test_ingest_typed_path.py flux/ingestion/tests/test_idempotency.py flux/ingestion/tests/test_limits.py

test-citus: $(VENV)/.requirements-dev ## the storage, ingest, rollup, query and retention tests on a three-node Citus cluster built from ../shared/citus
	$(SERVICES) exec -- $(PY) -m flux.devcitus exec -- sh -c "$(PY) -m pytest -m 'storage or citus' $(CITUS_ARGS) && $(PY) -m pytest $(CITUS_INGEST_TESTS) $(CITUS_ARGS)"

lint: $(VENV)/.requirements-dev ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.requirements-dev ## apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

manage: $(VENV)/.requirements ## run a manage.py command against the local services: make manage ARGS="createsuperuser"
	$(SERVICES) exec -- $(PY) manage.py $(ARGS)

shell: $(VENV)/.requirements ## Django shell against the local services
	$(SERVICES) exec -- $(PY) manage.py shell

bench: $(VENV)/.requirements-dev ## ingestion benchmark: API (2 workers, 4 clients, batches of 100 and 1,000) vs raw COPY by 4 connections (ARGS=... for bench/ingest.py)
	$(SERVICES) exec -- $(PY) bench/ingest.py $(ARGS)

bench-query: $(VENV)/.requirements-dev ## query benchmark: rollups vs raw scans at 10M rows (ARGS=... for bench/query.py)
	$(SERVICES) exec -- $(PY) bench/query.py $(ARGS)

bench-realtime: $(VENV)/.requirements-dev ## realtime benchmark: ingest -> open dashboards (ARGS=... for bench/realtime.py)
	$(SERVICES) exec -- $(PY) bench/realtime.py $(ARGS)

bench-statsd: $(VENV)/.requirements-dev ## StatsD listener: UDP packets/s received, parsed, stored, dropped (ARGS=... for bench/statsd.py)
	$(SERVICES) exec -- $(PY) bench/statsd.py $(ARGS)

bench-anomalies: $(VENV)/.requirements-dev ## anomaly detection quality on production-shaped series: per kind and shape, NAB-style score vs baselines, cost per row (ARGS=... for bench/anomalies.py)
	$(PY) bench/anomalies.py $(ARGS)

bench-anomalies-real: $(VENV)/.requirements-dev ## anomaly detection on real labelled series (NAB layout in DATA=folder, not shipped: licence) vs a rolling z-score; the dev set unless ARGS="--set held-out"
	$(PY) bench/anomalies_real.py --data $(DATA) $(ARGS)

bench-scan: $(VENV)/.requirements-dev ## anomaly scan throughput on PostgreSQL, 10,000 series (ARGS=... for bench/anomaly_scan.py)
	$(SERVICES) exec -- $(PY) bench/anomaly_scan.py $(ARGS)

bench-soak: $(VENV)/.requirements-dev ## sustained load with web, workers and beat: per minute ingest rate, p99, rollup lag, tasks ran/skipped/expired, RSS (ARGS="--minutes 3" for bench/soak.py)
	$(SERVICES) exec -- $(PY) bench/soak.py $(ARGS)

bench-rollups: $(VENV)/.requirements-dev ## rollup cost: a rebuild's rows/s, and a steady run's time against COPY of the same rows as the hour fills (ARGS=... for bench/rollups.py)
	$(SERVICES) exec -- $(PY) bench/rollups.py $(ARGS)

bench-storage: $(VENV)/.requirements-dev ## bytes per raw event, heap and each index: native partitions, then TimescaleDB with compression (ARGS=... for bench/storage.py)
	$(SERVICES) exec -- $(PY) bench/storage.py $(ARGS)
	$(SERVICES) exec -- $(PY) -m flux.devtimescale exec -- $(PY) bench/storage.py $(ARGS)

bench-citus: $(VENV)/.requirements-dev ## ingest and per-project query speed, one node against a three-node Citus cluster, each relative to raw COPY (ARGS=... for bench/citus.py)
	$(SERVICES) exec -- $(PY) -m flux.devcitus exec -- $(PY) bench/citus.py $(ARGS)

bench-compression: $(VENV)/.requirements-dev ## bytes per event and metric point before/after TimescaleDB compression (ARGS=... for bench/compression.py)
	$(SERVICES) exec -- $(PY) -m flux.devtimescale exec -- $(PY) bench/compression.py $(ARGS)

clean-data: ## delete the embedded PostgreSQL/Redis data in ./var (asks first)
	@read -p "Delete ./var (embedded database and Redis data)? [y/N] " answer && [ "$$answer" = y ] && rm -rf var
