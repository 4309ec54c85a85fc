# Ringdesk: `make serve` and `make test` are the whole quick start.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
JS_TOOLS := tools/js
JS_STAMP := $(JS_TOOLS)/node_modules/.installed

.PHONY: serve test lint typecheck layers js vendor-jssip unit e2e bench deps clean screenshots

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

# The server alone: `make serve` installs the package without the test tools (pytest,
# Playwright, ...); `make test` and the other targets install `.[test]` on top of it.
SERVE_STAMP := $(VENV)/.installed-serve

$(SERVE_STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	@touch $(SERVE_STAMP)

# Prints the demo logins, then (once started) the URL to open and the SIP registrar address.
serve: $(SERVE_STAMP)
	@bash scripts/install-serve-deps.sh
	$(VENV)/bin/ringdesk migrate
	$(VENV)/bin/ringdesk demo
	$(VENV)/bin/ringdesk check
	$(VENV)/bin/ringdesk serve

deps:
	bash scripts/install-test-deps.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# The import layering of docs/architecture.md, checked (contracts in pyproject.toml).
layers: $(STAMP)
	$(VENV)/bin/lint-imports

# The browser app's JS: tsc checks its JSDoc types (checkJs, strict), ESLint the rest.
# node_modules comes from the committed lockfile, again whenever package.json or the lock changes.
$(JS_STAMP): $(JS_TOOLS)/package.json $(JS_TOOLS)/package-lock.json
	cd $(JS_TOOLS) && npm ci
	@touch $(JS_STAMP)

js: $(JS_STAMP)
	$(JS_TOOLS)/node_modules/.bin/tsc -p $(JS_TOOLS)
	$(JS_TOOLS)/node_modules/.bin/eslint --config $(JS_TOOLS)/eslint.config.js --max-warnings 0 src/ringdesk/web/static/js

# The browser phone's JsSIP (pinned in tools/js/package.json), bundled once into
# src/ringdesk/web/static/vendor/ with its licence; committed, nothing is built at run time.
vendor-jssip: $(JS_STAMP)
	$(JS_TOOLS)/vendor-jssip.sh

# Three workers, each taking whole test files (module fixtures such as a shared server stay in
# one process): most of a test's time is spent waiting on servers, peers and audio, not on the
# 2 cores, so three keep them busy (one at a time, a quarter of the tests took 16 minutes).
TEST_WORKERS ?= 3

test: $(STAMP) deps lint typecheck layers js
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --durations=40

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

screenshots: $(STAMP) deps
	RINGDESK_SCREENSHOTS=1 $(PY) -m pytest -q -p no:cacheprovider tests/ui

# The benchmarks add matplotlib (bench/growth.py's plot); each installs its peers when missing.
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[test,bench]'
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP) deps
	$(PY) -m bench

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
