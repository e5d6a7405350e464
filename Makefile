# Two commands matter: `make run` (demo) and `make test` (whole suite). See README.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 2>/dev/null || echo python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run test venv lint typecheck clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

# With no DATABASE_URL, settings start the embedded PostgreSQL under var/ (pgserver).
# stitch.remembered keeps the demo's settings in var/settings.env (generated secrets),
# so plain `manage.py` commands work in this checkout afterwards.
run: venv
	DEBUG=$${DEBUG:-true} PORT=$(PORT) $(BIN)/python -m stitch.remembered
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py ensure_database
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --no-input
	DEBUG=$${DEBUG:-true} PORT=$(PORT) $(BIN)/python manage.py demo_setup
	DEBUG=$${DEBUG:-true} PORT=$(PORT) exec $(BIN)/uvicorn stitch.asgi:application --host 127.0.0.1 --port $(PORT) --lifespan on --ws-per-message-deflate false

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	DEBUG=true $(BIN)/mypy .

# services.sh prints the DATABASE_URL/REDIS_URL exports to use (and fails loudly).
test: venv
	@exports="$$(scripts/services.sh)" && eval "$$exports" && \
	  $(MAKE) --no-print-directory lint typecheck && \
	  DEBUG=true $(BIN)/python manage.py ensure_database && \
	  DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run && \
	  scripts/ensure_chromium.sh && \
	  DEBUG=true $(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var/static
