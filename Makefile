# Airlock: `make up` starts everything, `make test` runs every check.
# Both bootstrap a fresh machine: a Python 3.12+ venv, the project, and the
# pinned OPA (built with `go install` into .bin/ when `opa` is not on PATH).

SHELL := /bin/bash
OPA_VERSION := v1.22.3
VENV := .venv
PY := $(VENV)/bin/python
OPA := $(shell command -v opa 2>/dev/null || echo $(CURDIR)/.bin/opa)
export PATH := $(CURDIR)/.bin:$(PATH)

.PHONY: up test bootstrap venv opa lint rego pytest bench clean

up: bootstrap
	$(VENV)/bin/airlock up

test: bootstrap lint rego pytest

bootstrap: venv opa

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@set -e; PYBIN=$$(deploy/find-python.sh); \
	  echo "using $$PYBIN ($$($$PYBIN --version))"; \
	  [ -x $(PY) ] || $$PYBIN -m venv $(VENV); \
	  $(PY) -m pip install --quiet --upgrade pip; \
	  $(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

opa: $(OPA)

$(CURDIR)/.bin/opa:
	@command -v go >/dev/null || { echo "error: OPA $(OPA_VERSION) is needed: install Go or put opa on PATH" >&2; exit 1; }
	GOBIN=$(CURDIR)/.bin go install github.com/open-policy-agent/opa@$(OPA_VERSION)

lint: venv
	$(VENV)/bin/ruff check gateway addons tests
	$(VENV)/bin/ruff format --check gateway addons tests
	$(VENV)/bin/mypy gateway addons

rego: opa
	$(OPA) fmt --list --fail policies
	$(OPA) check --strict policies
	$(OPA) test policies

pytest: bootstrap
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: bootstrap
	$(PY) tests/perf/bench_proxy.py
	$(PY) tests/perf/bench_audit.py
	$(PY) tests/perf/bench_opa_client.py
	$(PY) tests/perf/bench_redaction.py
	$(PY) tests/perf/bench_body.py
	$(PY) tests/perf/bench_hooks.py
	$(PY) tests/perf/bench_reconstruction.py

clean:
	rm -rf $(VENV) .bin .airlock
