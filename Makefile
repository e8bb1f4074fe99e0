# The two commands: `make demo` and `make test`. Everything they need is installed from here.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# openapi-python-client (tests/integration/test_openapi_client.py generates a client with it) pins
# typer<0.28, which our own typer pin excludes: it gets a virtualenv of its own.
OPENAPI_CLIENT_VERSION := 0.29.1
OPENAPI_CLIENT_VENV ?= .venv-openapi-client
OPENAPI_CLIENT_STAMP := $(OPENAPI_CLIENT_VENV)/.installed-$(OPENAPI_CLIENT_VERSION)

.PHONY: install demo test lint unit integration format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("customshop needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(OPENAPI_CLIENT_STAMP):
	$(PYTHON) -m venv $(OPENAPI_CLIENT_VENV)
	$(OPENAPI_CLIENT_VENV)/bin/python -m pip install --quiet 'openapi-python-client==$(OPENAPI_CLIENT_VERSION)'
	touch $(OPENAPI_CLIENT_STAMP)

install: $(STAMP) $(OPENAPI_CLIENT_STAMP)

demo: $(STAMP)
	$(BIN)/customshop demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy --strict src
	$(BIN)/lint-imports

# Tests run in two processes (pytest-xdist), each with its own databases and Redis db numbers.
unit: $(STAMP)
	$(BIN)/pytest -q -n 2 tests/unit

integration: $(STAMP) $(OPENAPI_CLIENT_STAMP)
	$(BIN)/pytest -q -n 2 tests/integration

test: lint unit integration

# HTTP benchmark against PostgreSQL + Redis with wrk (installed from Debian when missing); figures
# go to stdout and bench/results/latest.json (see docs/performance.md).
bench: $(STAMP)
	command -v wrk >/dev/null || apt-get install -y wrk
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/run.py

format: $(STAMP)
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

clean:
	rm -rf $(VENV) $(OPENAPI_CLIENT_VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis .import_linter_cache
