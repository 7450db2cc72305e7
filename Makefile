# The one entry point for people and CI. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8080

.DEFAULT_GOAL := help
.PHONY: help install run test test-fast lint fmt typecheck fixtures fuzz bench bench-compare wrk-installed lock clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the project with its dev tools

run: $(STAMP) ## serve the default dataset on $(HOST):$(PORT)
	HOST=$(HOST) PORT=$(PORT) $(BIN)/flowdock-mock serve

test: $(STAMP) ## the whole suite: spec, unit, api, contract (Schemathesis), real clients
	$(BIN)/python -m pytest

test-fast: $(STAMP) ## everything except the Schemathesis and real-client runs
	$(BIN)/python -m pytest -m "not contract and not client"

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check mock_server tests fixtures
	$(BIN)/ruff format --check mock_server tests fixtures
	$(BIN)/mypy

fmt: $(STAMP) ## format and autofix
	$(BIN)/ruff format mock_server tests fixtures
	$(BIN)/ruff check --fix mock_server tests fixtures

fixtures: $(STAMP) ## regenerate fixtures/default-world.json from the Faker generator
	$(BIN)/python -m mock_server.world --write fixtures/default-world.json

WRK := $(shell command -v wrk 2>/dev/null)
BENCH_ARGS ?=

wrk-installed:
ifeq ($(WRK),)
	apt-get update && apt-get install -y wrk
endif

bench: $(STAMP) wrk-installed ## load, latency, startup and memory of the server (wrk; table in .bench/latest.md)
	$(BIN)/python bench/bench.py $(BENCH_ARGS)

bench-compare: $(STAMP) wrk-installed ## the same load alternately against Prism 5 (npm, into bench/.prism), with ratios
	$(BIN)/python bench/bench.py --compare $(BENCH_ARGS)

lock: $(STAMP) ## re-pin constraints.txt from the current environment
	{ head -2 constraints.txt; $(BIN)/pip freeze --exclude-editable; } > constraints.tmp && mv constraints.tmp constraints.txt

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis reports
