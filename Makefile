# spanflow developer commands. Every target sets up what it needs.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,collector,postgres]"
	touch $(STAMP)

## demo: the example agent against the bundled fake LLM server, then the runs it produced
demo: $(STAMP)
	$(PY) examples/demo.py

## test: lint, type-check and the whole test suite (starts a local PostgreSQL for the store tests)
test: $(STAMP) lint typecheck
	. scripts/postgres-env.sh && $(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

## unit: the test suite alone, without PostgreSQL set-up, lint or types
unit: $(STAMP)
	$(PY) -m pytest

clean:
	rm -rf $(VENV) .spanflow .pytest_cache .mypy_cache .ruff_cache
