# One command each on a fresh machine: the venv is created and filled on demand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# One venv, two stamps: `demo` and `run` install only the runtime dependencies; `lint`,
# `test` and `bench` add the dev extra (pytest, mypy, ruff, ...) on top. Either order works.
RUNTIME := $(VENV)/.runtime
DEV := $(VENV)/.dev

.PHONY: demo run test lint bench screenshot clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME)

$(DEV): $(RUNTIME)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV)

demo: $(RUNTIME)  ## install, then print today's digest from the bundled snapshot (offline)
	$(BIN)/papersbot demo

run: $(RUNTIME)  ## start every configured adapter (console when no platform token is set)
	$(BIN)/papersbot run

lint: $(DEV)
	$(BIN)/ruff format --check bot adapters tests bench docs
	$(BIN)/ruff check bot adapters tests bench docs
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

test: lint  ## format check, lint, types, then every test
	$(BIN)/pytest

bench: $(DEV)  ## measure ingest, search latency, memory and ranking quality (with bm25s beside)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/search.py

screenshot: $(RUNTIME)  ## record the demo's digest as docs/demo.svg (shown in the README)
	$(BIN)/python docs/screenshot.py docs/demo.svg

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache *.egg-info
