# One command each on a fresh machine: the venv is created and filled on demand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)  ## install, then print today's digest from the bundled snapshot (offline)
	$(BIN)/papersbot demo

run: $(STAMP)  ## start every configured adapter (console when no platform token is set)
	$(BIN)/papersbot run

lint: $(STAMP)
	$(BIN)/ruff format --check bot adapters tests bench
	$(BIN)/ruff check bot adapters tests bench
	$(BIN)/mypy

test: lint  ## format check, lint, types, then every test
	$(BIN)/pytest

bench: $(STAMP)  ## measure ingest, search latency, memory and ranking quality (with bm25s beside)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/search.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache *.egg-info
