# svna: each target sets up what it needs on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PREFECT_HOME := $(CURDIR)/.prefect
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export GX_ANALYTICS_ENABLED := false

.PHONY: demo test test-unit test-integration bench lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip uv
	$(BIN)/uv pip install -q --python $(BIN)/python -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)  ## generate the synthetic borough (if absent) and run the annual assessment on it
	$(BIN)/svna demo

test: $(STAMP)  ## the whole test suite (unit + integration)
	$(BIN)/python -m pytest -q

test-unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

test-integration: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration

bench: $(STAMP)  ## benchmarks (not timed tests): demo and annual flow; 5M points located vs geopandas.sjoin
	$(BIN)/python benchmarks/bench_annual.py
	$(BIN)/python benchmarks/bench_spatial.py

lint: $(STAMP)
	$(BIN)/ruff check pipeline flows tests

clean:
	rm -rf data/processed/demo data/processed/demo.* .prefect .pytest_cache
