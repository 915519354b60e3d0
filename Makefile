# Developer and CI entry points. `make` alone lists the targets.
# CI runs .ci/run, which installs the OS packages and starts Docker, then `make test`.
# `make demo` installs only what labrun needs to run; `make test` and `make lint` add the
# development and test tools (the `[test]` extra of pyproject.toml).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
DEMO_LAB ?= python-engineering
PYTEST_ARGS ?=
BENCHMARKS := $(sort $(wildcard benchmarks/*.py))
# The installer: uv when it is on PATH; else uv from PyPI, installed into the venv by pip
# (a few seconds); plain pip only if that fails, or with INSTALLER=pip. uv installs
# labrun's dependencies in seconds where pip takes a minute or more.
UV ?= $(shell command -v uv 2>/dev/null)
INSTALLER ?= uv

.DEFAULT_GOAL := help
.PHONY: help install venv test lint fmt demo bench clean

help: ## List the targets
	@grep -E '^[a-z]+:.*## ' $(firstword $(MAKEFILE_LIST)) \
		| awk -F ':.*## ' '{ printf "  %-7s %s\n", $$1, $$2 }'

install: $(RUN_STAMP) ## Create .venv with labrun and what it needs to run (no dev tools)

venv: $(TEST_STAMP) ## Create .venv with labrun and its development and test tools ([test])

# Editable installs: reinstall only when pyproject.toml changes, never for a source edit.
$(RUN_STAMP): pyproject.toml
	@$(call pip_install,.)
	touch $@

$(TEST_STAMP): pyproject.toml
	@$(call pip_install,.[test])
	touch $@ $(RUN_STAMP)

# $(call pip_install,SPEC): `pip install -e SPEC` into .venv, by uv or by pip.
define pip_install
	set -e; \
	uv="$(UV)"; \
	if [ -z "$$uv" ] && [ "$(INSTALLER)" = uv ]; then \
		test -x $(PY) || $(PYTHON) -m venv $(VENV); \
		if $(PY) -m pip install --quiet --disable-pip-version-check uv; then uv=$(VENV)/bin/uv; fi; \
	fi; \
	if [ -n "$$uv" ] && [ "$(INSTALLER)" = uv ]; then \
		test -x $(PY) || "$$uv" venv --quiet --python $(PYTHON) $(VENV); \
		echo "installing -e '$(1)' with uv"; \
		"$$uv" pip install --quiet --python $(PY) -e '$(1)'; \
	else \
		test -x $(PY) || $(PYTHON) -m venv $(VENV); \
		$(PY) -m pip --version >/dev/null 2>&1 || $(PY) -m ensurepip --upgrade >/dev/null; \
		echo "installing -e '$(1)' with pip"; \
		$(PY) -m pip install --quiet --disable-pip-version-check -e '$(1)'; \
	fi
endef

test: venv ## Run the tests (pass options with PYTEST_ARGS='-k docker -x')
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv ## ruff check, ruff format --check, mypy
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy src testing

fmt: venv ## Format the code and apply safe ruff fixes
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

demo: install ## Start a bundled lab (DEMO_LAB=python-engineering; no Docker, no network)
	$(VENV)/bin/labrun start $(DEMO_LAB)

bench: venv ## Run every benchmarks/*.py
	@$(if $(BENCHMARKS),,echo "no benchmarks/*.py to run")
	@set -e; for script in $(BENCHMARKS); do echo "==> $$script"; $(PY) $$script; done

clean: ## Remove .venv and caches (never LABRUN_HOME)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist src/*.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
