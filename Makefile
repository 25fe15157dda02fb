# dashapp: `make run` starts the app on the demo data, `make test` runs every check.
# Both create .venv and install what they need on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch first, pinned: that takes the CPU wheel where the machine keeps one, and the
# project install below then finds the pin satisfied instead of pulling a CUDA build.
TORCH ?= torch==2.13.0

.PHONY: run dev demo-db test lint format screenshots bench clean install install-dev system-packages

run: install
	$(BIN)/dashapp run

dev: install
	$(BIN)/dashapp dev

demo-db: install
	$(BIN)/dashapp demo-db

test: install-dev system-packages lint
	$(BIN)/pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

screenshots: install-dev system-packages
	DASHAPP_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/browser/test_smoke.py tests/browser/test_compositor.py tests/browser/test_home.py tests/browser/test_training.py -k 'bs001 or bc001 or bh002 or bt001' -q

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

system-packages:
	bash .ci/install-system-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
