# Two commands on a fresh machine: `make run` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TSDB := ../shared/tools/timescaledb-local
STATE ?= $(CURDIR)/.state

.PHONY: install run test ui bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

## run: set up, materialize the whole asset graph on the bundled real data, print a summary
run: install
	$(BIN)/football-pipeline run

## test: set up (TimescaleDB too, where the local tool exists) and run every test
test: install
	@url="$${TIMESCALEDB_URL:-}"; \
	if [ -z "$$url" ] && [ -x "$(TSDB)" ]; then url="$$($(TSDB) start | tail -n 1)"; fi; \
	TIMESCALEDB_URL="$$url" $(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

## ui: the Dagster UI on the local instance that `make run` wrote to
ui: install
	DAGSTER_HOME=$(STATE)/dagster_home $(BIN)/dagster dev -w workspace.yaml

## bench: load throughput per backend (figures for the README)
bench: install
	@url="$${TIMESCALEDB_URL:-}"; \
	if [ -z "$$url" ] && [ -x "$(TSDB)" ]; then url="$$($(TSDB) start | tail -n 1)"; fi; \
	TIMESCALEDB_URL="$$url" $(BIN)/python bench/bench_load.py

## bench-serving: the next-matchday query, 1M predictions on PostgreSQL (POSTGRES_TEST_URL), 16 clients
.PHONY: bench-serving
bench-serving: install
	$(BIN)/python bench/bench_predictions_query.py

clean:
	rm -rf $(STATE) .pytest_cache
