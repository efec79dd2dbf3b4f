# svna: each target sets up what it needs on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PREFECT_HOME := $(CURDIR)/.prefect
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export GX_ANALYTICS_ENABLED := false

.PHONY: demo test test-unit test-integration check-install bench lint clean screenshots

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip uv
	$(BIN)/uv pip install -q --python $(BIN)/python -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)  ## generate the synthetic borough (if absent) and run the annual assessment on it
	$(BIN)/svna demo

test: $(STAMP)  ## the whole test suite: integration files one to a process, unit files six, two processes at a time (tests/run_isolated.py)
	$(BIN)/python tests/run_isolated.py

test-unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

test-integration: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration

check-install: $(STAMP)  ## build the wheel, install it (not editable) in a fresh venv, run the demo from it
	rm -rf .build-check && mkdir -p .build-check
	$(BIN)/uv build -q --wheel -o .build-check/dist .
	$(BIN)/uv venv -q --python $(BIN)/python .build-check/venv
	$(BIN)/uv pip install -q --python .build-check/venv/bin/python .build-check/dist/*.whl
	cd .build-check && SVNA_DEMO_HOME=$(CURDIR)/.build-check/home PREFECT_HOME=$(CURDIR)/.build-check/prefect \
		venv/bin/svna demo --output $(CURDIR)/.build-check/out
	test -s .build-check/out/tables/theme_summary.csv && test -s .build-check/out/svna_data_pack.xlsx
	@echo "check-install: the wheel installs and runs the demo"

bench: $(STAMP)  ## benchmarks (not timed tests): demo and annual flow; ingest vs bare read_csv; 5M points located vs geopandas.sjoin; national data.police.uk year vs pandas; fan-out over forces on Dask vs one process, all-London
	$(BIN)/python benchmarks/bench_annual.py
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_spatial.py
	$(BIN)/python benchmarks/bench_national.py
	$(BIN)/python benchmarks/bench_multi_area.py

screenshots: $(STAMP)  ## run the demo, then rewrite docs/report_*.png from its report.html in chromium (committed files)
	$(BIN)/svna demo
	$(BIN)/python tests/report_screenshots.py data/processed/demo/report.html

lint: $(STAMP)
	$(BIN)/ruff check pipeline flows tests

clean:
	rm -rf data/processed/demo data/processed/demo.* .prefect .pytest_cache .build-check
