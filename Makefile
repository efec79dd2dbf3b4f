# svna: each target sets up what it needs on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PREFECT_HOME := $(CURDIR)/.prefect
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export GX_ANALYTICS_ENABLED := false

.PHONY: demo test test-guard test-unit test-integration check-install lock-check bench lint clean screenshots

# uv installs every package at the version in uv.lock (CONTRIBUTING.md "A dependency"); this is the
# one package pip installs, at the version the lock holds too (pyproject's dev extra)
UV_VERSION := 0.13.10

$(BIN)/uv:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q uv==$(UV_VERSION)

$(STAMP): pyproject.toml uv.lock | $(BIN)/uv
	$(BIN)/uv sync -q --frozen --extra dev
	@touch $(STAMP)

lock-check: | $(BIN)/uv  ## fail when pyproject.toml and uv.lock disagree (fix: uv lock, commit both)
	$(BIN)/uv lock --check

demo: $(STAMP)  ## generate the synthetic borough (if absent) and run the annual assessment on it
	$(BIN)/svna demo

test: $(STAMP)  ## the whole test suite: integration files one to a process, unit files six, two processes at a time (tests/run_isolated.py)
	$(BIN)/python tests/run_isolated.py

# jemalloc guard pages in DuckDB's allocator: a native read past the end of a heap block is then a SIGSEGV
# every time, not now and then (docs/performance.md, "Native crashes"). DuckDB reads it at import.
GUARD_PAGES := san_guard_small:1,san_guard_large:1

test-guard: $(STAMP)  ## the test suite (or FILES='tests/unit/test_a.py ...') with guard pages; a crash is a failure
	DUCKDB_JE_MALLOC_CONF=$(GUARD_PAGES) $(BIN)/python tests/run_isolated.py $(FILES)

test-unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

test-integration: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration

check-install: $(STAMP)  ## build the wheel, install it (not editable) with uv.lock's versions in a fresh venv, run the demo from it
	rm -rf .build-check && mkdir -p .build-check
	$(BIN)/uv build -q --wheel -o .build-check/dist .
	$(BIN)/uv venv -q --python $(BIN)/python .build-check/venv
	$(BIN)/uv export -q --frozen --no-dev --no-emit-project -o .build-check/requirements.txt
	$(BIN)/uv pip sync -q --python .build-check/venv/bin/python .build-check/requirements.txt
	$(BIN)/uv pip install -q --python .build-check/venv/bin/python --no-deps .build-check/dist/*.whl
	$(BIN)/uv pip check -q --python .build-check/venv/bin/python
	cd .build-check && SVNA_DEMO_HOME=$(CURDIR)/.build-check/home PREFECT_HOME=$(CURDIR)/.build-check/prefect \
		venv/bin/svna demo --output $(CURDIR)/.build-check/out
	test -s .build-check/out/tables/theme_summary.csv && test -s .build-check/out/svna_data_pack.xlsx
	@echo "check-install: the wheel installs and runs the demo"

bench: $(STAMP)  ## benchmarks (not timed tests): demo and annual flow; Merton count-only run vs pandas, demo vs a borough 10x the demo; ingest vs bare read_csv; 5M points located vs geopandas.sjoin; national data.police.uk year (and 36 months) vs pandas and a plain DuckDB script; fan-out over forces on Dask vs one process, all-London and the national 36 months; date parsing, 3 ways; 100 builds (demo + Merton) under guard pages, counting crashes and hangs
	$(BIN)/python benchmarks/bench_annual.py
	$(BIN)/python benchmarks/bench_borough.py
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_spatial.py
	$(BIN)/python benchmarks/bench_national.py
	$(BIN)/python benchmarks/bench_national.py --months 36 --contenders svna,duckdb
	$(BIN)/python benchmarks/bench_multi_area.py
	$(BIN)/python benchmarks/bench_multi_area.py --national-months 36
	$(BIN)/python benchmarks/bench_date_parsing.py
	$(BIN)/python benchmarks/stress_runs.py --runs 100 --guard --report .bench/stress.json

screenshots: $(STAMP)  ## run the demo, then rewrite docs/report_*.png from its report.html in chromium (committed files)
	$(BIN)/svna demo
	$(BIN)/python tests/report_screenshots.py data/processed/demo/report.html

lint: $(STAMP)  ## ruff (rules in pyproject.toml) and sqlfluff (rules in .sqlfluff); not part of `make test`
	$(BIN)/ruff check pipeline flows tests benchmarks
	$(BIN)/sqlfluff lint sql/ --processes 2

clean:
	rm -rf data/processed/demo data/processed/demo.* .prefect .pytest_cache .build-check
