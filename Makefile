# guanxi — the two commands that matter: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# pytest-xdist workers for `make test` (every test uses its own temporary folder, PostgreSQL schema and ports).
TEST_JOBS ?= 2
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
DEMO_ORDERS ?= 20000
ORDERS ?= 1e6
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install demo test lint typecheck unit test-postgres test-spark browser bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

## make demo: install, generate and import the demo data set, run the pipeline, serve the web UI
demo: install
	$(BIN)/guanxi init
	$(BIN)/guanxi demo --orders $(DEMO_ORDERS)
	$(BIN)/guanxi resolve
	$(BIN)/guanxi models run
	$(BIN)/guanxi segments examples --install
	$(BIN)/guanxi segments refresh
	$(BIN)/guanxi journeys install --all
	$(BIN)/guanxi quality > /dev/null
	$(BIN)/guanxi serve --host $(HOST) --port $(PORT)

## make test: lint, type-check, the whole suite (SQLite app DB), then the app-DB suites on PostgreSQL
test: install lint typecheck unit test-postgres

# ruff, then the import layers (pyproject's [tool.importlinter]: no package imports one above it, no cycles).
lint: install
	$(BIN)/ruff check guanxi tests bench
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

unit: install browser
	env -u GUANXI_TEST_POSTGRES $(BIN)/pytest -q -n $(TEST_JOBS) --hypothesis-profile=ci

# Runs the app-DB suites (web, outbox and workers, segment definitions, jobs, the event API), and the warehouse tests
# marked `postgres` (identity, models, the backend suite), against PostgreSQL
# when GUANXI_TEST_POSTGRES names one.
test-postgres: install
	@if [ -n "$$GUANXI_TEST_POSTGRES" ]; then \
		$(BIN)/pytest -q -n $(TEST_JOBS) --hypothesis-profile=ci -m "not browser" tests/appdb tests/web tests/marketing tests/segments \
			tests/jobs/test_schedule.py tests/jobs/test_runner.py tests/events && \
		$(BIN)/pytest -q -n $(TEST_JOBS) --hypothesis-profile=ci -m postgres tests/models tests/identity tests/backends; \
	else echo "GUANXI_TEST_POSTGRES not set: PostgreSQL app-DB variant not run"; fi

# The warehouse tests marked `spark` on a local SparkSession (pyspark from the `spark` extra, Java 17).
# Not part of `make test`: a SparkSession takes a while to start.
test-spark: install
	$(BIN)/python -m pip install -q -e '.[dev,spark]'
	$(BIN)/pytest -q -m spark tests

# Debian's chromium for the browser tests (installed when missing and we may install packages).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
		else echo "chromium missing and cannot be installed here: browser tests will skip"; fi; }

# Benchmark-only packages (the `bench` extra: lifetimes, recordlinkage), installed once per pyproject.
BENCH_STAMP := $(VENV)/.bench-$(shell cksum pyproject.toml | cut -d' ' -f1)
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	rm -f $(VENV)/.bench-*
	touch $(BENCH_STAMP)

## make bench [ORDERS=1e6|1e7|5e7] [ONLY=models,clv]: every benchmark and its baselines at that size,
## one table of ratios, bench/results.json
bench: $(BENCH_STAMP)
	$(BIN)/python bench/run.py --orders $(ORDERS) $(if $(ONLY),--only $(ONLY))

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
