# cr-einvoice developer entry points.
#   make demo   - bootstrap .venv and run the end-to-end demo against the local Hacienda simulator
#   make test   - bootstrap .venv, run ruff, mypy --strict and the whole test suite
#   make bench  - run every benchmark in benchmarks/
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SHARED ?= $(abspath ../shared)
# The official schemas and samples live beside the project, never inside it.
export CR_EINVOICE_SHARED ?= $(SHARED)
ifneq ($(wildcard $(SHARED)/hacienda/schemas),)
export CR_EINVOICE_SCHEMAS ?= $(SHARED)/hacienda/schemas
endif
PYTEST_ARGS ?=

.PHONY: venv test lint typecheck unit demo bench clean system-deps

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check cr_einvoice tests examples benchmarks
	$(VENV)/bin/ruff format --check cr_einvoice tests examples benchmarks

typecheck: $(STAMP)
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# Programs the tests drive (the service's console in Debian's headless Chromium, curl as a non-Python client),
# installed with apt-get when missing and running as root (CI: a fresh machine); never a downloaded browser.
SYSTEM_DEPS := /usr/bin/chromium:chromium /usr/bin/chromedriver:chromium-driver /usr/bin/curl:curl
system-deps:
	@missing=""; for pair in $(SYSTEM_DEPS); do test -x "$${pair%%:*}" || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing$$missing (apt-get)"; apt-get update -qq && apt-get install -y -qq$$missing >/dev/null; \
	  else echo "missing:$$missing (install them: apt-get install$$missing)"; exit 1; fi; \
	fi

unit: $(STAMP) system-deps
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: lint typecheck unit

demo: $(STAMP)
	$(PY) -m cr_einvoice.app.demo

bench: $(STAMP)
	@set -e; for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build dist
