# The two commands of the README: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
export AUDITOR_INSTANCE_PATH ?= $(CURDIR)/instance

.PHONY: install run test test-postgres lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## run: install, create dev secrets, migrate the SQLite database, load the demo MSP, serve on :5000
# (AUDITOR_SCHEDULER=embedded: the job scheduler runs inside this one process; README "Scheduler")
run: install
	$(BIN)/auditor instance init
	$(BIN)/auditor db upgrade
	$(BIN)/auditor demo load
	@echo "retention: what falls due (the embedded scheduler's purge runs at start, then daily):"
	$(BIN)/auditor retention plan
	@echo "serving on http://$(HOST):$(PORT)/  (sign in as a demo user above; API: /api/v1, /about/api)"
	AUDITOR_LOG_JSON=false AUDITOR_SCHEDULER=embedded $(BIN)/auditor run --host $(HOST) --port $(PORT)

## test: the whole suite on SQLite (set AUDITOR_TEST_DATABASE_URL for PostgreSQL)
test: install
	$(BIN)/pytest

test-postgres: install
	AUDITOR_TEST_DATABASE_URL=$${AUDITOR_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} $(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/vault.py
	$(BIN)/python bench/purge.py
	$(BIN)/python bench/report.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache
