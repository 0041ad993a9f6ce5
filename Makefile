# The two commands a new user runs are `make demo` and `make test`; the rest are their parts.
# CI (.ci/run) calls `make test` and nothing else.

SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DURATION ?= 0
PYTEST_ARGS ?=
# tests write to their own Redis database so a later `make demo` shows only its own alerts
WARNING_REDIS_PORT ?= 6379
TEST_REDIS_URL ?= redis://127.0.0.1:$(WARNING_REDIS_PORT)/15

.PHONY: help install demo test lint format unit integration stack-up stack-down stack-status browser prometheus promtool clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)  ## create .venv and install the pinned dependencies (once; again when pyproject changes)

stack-up: install  ## start local Kafka (KRaft, Maven Central jars) and redis-server, then create topics
	$(BIN)/warning stack up
	$(BIN)/warning topics create

stack-down:  ## stop the local services this project started
	@if [ -x $(BIN)/warning ]; then $(BIN)/warning stack down; fi

stack-status: install  ## show the local services
	$(BIN)/warning stack status

browser:  ## install Debian's chromium for the console's browser test (once)
	bash deploy/local/install-browser.sh

prometheus:  ## install Debian's prometheus + promtool for the rule tests and the Prometheus test (once)
	@bash deploy/local/install-prometheus.sh

promtool: prometheus  ## check the Prometheus alert rules and run their unit tests (deploy/prometheus)
	promtool check rules deploy/prometheus/rules.yml
	promtool test rules deploy/prometheus/rules_test.yml

demo: install  ## run the engine on a simulated district and show live alerts (DURATION=seconds, 0 = until Ctrl-C); starts and stops the local stack
	$(BIN)/warning demo --duration $(DURATION)

lint: install  ## ruff, ruff format --check, mypy --strict, promtool (rules + rule tests)
	$(BIN)/ruff check warning tests bench
	$(BIN)/ruff format --check warning tests bench
	$(BIN)/mypy
	@$(MAKE) --no-print-directory promtool

format: install  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix warning tests bench
	$(BIN)/ruff format warning tests bench

unit: install  ## unit and contract tests only (no servers)
	$(BIN)/pytest tests/unit tests/contract -q $(PYTEST_ARGS)

test: install browser  ## lint, start the services, run every test, stop the services
	$(MAKE) lint
	$(MAKE) stack-up
	set -o pipefail; status=0; \
	  WARNING_REQUIRE_STACK=1 WARNING_REDIS_URL=$(TEST_REDIS_URL) $(BIN)/pytest tests -q -p no:cacheprovider $(PYTEST_ARGS) || status=$$?; \
	  $(MAKE) stack-down; \
	  if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; fi; \
	  exit $$status

clean: stack-down  ## remove the venv, local service data and caches (keeps nothing)
	rm -rf $(VENV) .stack .state .mypy_cache .ruff_cache .pytest_cache .hypothesis
