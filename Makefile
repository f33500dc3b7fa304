# guanxi — the two commands that matter: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
DEMO_ORDERS ?= 20000
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install demo test lint typecheck unit test-postgres browser bench clean

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
	$(BIN)/guanxi quality > /dev/null
	$(BIN)/guanxi serve --host $(HOST) --port $(PORT)

## make test: lint, type-check, the whole suite (SQLite app DB), then the app-DB suites on PostgreSQL
test: install lint typecheck unit test-postgres

lint: install
	$(BIN)/ruff check guanxi tests bench

typecheck: install
	$(BIN)/mypy

unit: install browser
	env -u GUANXI_TEST_POSTGRES $(BIN)/pytest -q

# Runs the app-DB and web suites, and the warehouse tests marked `postgres`, against PostgreSQL
# when GUANXI_TEST_POSTGRES names one.
test-postgres: install
	@if [ -n "$$GUANXI_TEST_POSTGRES" ]; then \
		$(BIN)/pytest -q -m "not browser" tests/appdb tests/web && \
		$(BIN)/pytest -q -m postgres tests/models tests/identity; \
	else echo "GUANXI_TEST_POSTGRES not set: PostgreSQL app-DB variant not run"; fi

# Debian's chromium for the browser tests (installed when missing and we may install packages).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
		else echo "chromium missing and cannot be installed here: browser tests will skip"; fi; }

bench: install
	$(BIN)/python bench/ingest.py --orders $${ORDERS:-1000000}

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
