# Developer and CI entry points. `make` alone lists the targets.
# CI runs .ci/run, which installs the OS packages and starts Docker, then `make test`.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_LAB ?= python-engineering
PYTEST_ARGS ?=
BENCHMARKS := $(sort $(wildcard benchmarks/*.py))

.DEFAULT_GOAL := help
.PHONY: help venv test lint fmt demo bench clean

help: ## List the targets
	@grep -E '^[a-z]+:.*## ' $(firstword $(MAKEFILE_LIST)) \
		| awk -F ':.*## ' '{ printf "  %-7s %s\n", $$1, $$2 }'

venv: $(STAMP) ## Create .venv and install labrun with its test extras

# Reinstall only when pyproject.toml changes (the install is editable: sources need none).
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

test: venv ## Run the tests (pass options with PYTEST_ARGS='-k docker -x')
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv ## ruff check, ruff format --check, mypy
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy src testing

fmt: venv ## Format the code and apply safe ruff fixes
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

demo: venv ## Start a bundled lab (DEMO_LAB=python-engineering; no Docker, no network)
	$(VENV)/bin/labrun start $(DEMO_LAB)

bench: venv ## Run every benchmarks/*.py
	@$(if $(BENCHMARKS),,echo "no benchmarks/*.py to run")
	@set -e; for script in $(BENCHMARKS); do echo "==> $$script"; $(PY) $$script; done

clean: ## Remove .venv and caches (never LABRUN_HOME)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist src/*.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
