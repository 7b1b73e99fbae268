# spanflow developer commands. Every target sets up what it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: all ui demo test lint typecheck unit bench clean fuzz bench-collector bench-overhead

## all (default): the virtualenv and the web UI's built assets
all: $(STAMP) ui

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,collector,postgres]"
	touch $(STAMP)

# The web UI is built from web/ into the Python package (git-ignored, shipped in the wheel).
UI_INDEX := collector/spanflow_collector/ui/static/index.html
UI_SOURCES := $(wildcard web/src/*.ts web/src/*.css) web/index.html web/favicon.svg web/build.mjs \
	web/package.json web/package-lock.json web/tsconfig.json

## ui: build the web UI (installs Node.js and npm from Debian when missing and run as root)
ui: $(UI_INDEX)

$(UI_INDEX): $(UI_SOURCES)
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	  else echo "make ui: Node.js and npm are needed (apt-get install nodejs npm)" >&2; exit 1; fi; }
	cd web && npm ci --no-audit --no-fund --loglevel=error
	cd web && npm run --silent check && npm run --silent build

## demo: the example agent against the bundled fake LLM server, then the runs it produced
demo: $(STAMP) ui
	$(PY) examples/demo.py

## test: lint, type-check and the whole test suite (starts a local PostgreSQL for the store tests)
test: $(STAMP) ui lint typecheck
	. scripts/postgres-env.sh && $(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

## unit: the test suite alone, without PostgreSQL set-up, lint or types
unit: $(STAMP) ui
	$(PY) -m pytest

## fuzz: the collector's OTLP and query API fuzz tests, longer and randomised (FUZZ_EXAMPLES each)
FUZZ_EXAMPLES ?= 2000
fuzz: $(STAMP)
	. scripts/postgres-env.sh && SPANFLOW_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -p no:cacheprovider \
		--timeout=0 tests/collector/test_fuzz_otlp.py tests/api/test_fuzz_query.py

## bench: every bench, the SDK's beside its peers, then the collector's (timings, never part of
## `make test`; they take tens of minutes)
bench: bench-overhead bench-collector

## bench-collector: ingest beside Phoenix (see bench/README.md for its venv), a large export's
## effect on small ones, queries at 100k and 1M spans, and 3 collector replicas on PostgreSQL
bench-collector: $(STAMP)
	$(PY) bench/bench_ingest.py
	$(PY) bench/bench_fairness.py
	$(PY) bench/bench_query.py
	$(PY) bench/bench_replicas.py

## bench-overhead: per-call CPU, startup, memory and exit of spanflow beside its peers (not a test)
bench-overhead:
	bench/run_overhead.sh $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .spanflow .pytest_cache .mypy_cache .ruff_cache web/node_modules \
		collector/spanflow_collector/ui/static
