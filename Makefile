# Tollgate: `make run` serves the three APIs on the embedded database; `make test` passes every test.
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8080
WORKERS ?= 1

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP) ## Create .venv and install Tollgate with its development tools

generated/openmeter/openapi.json: | $(STAMP)
	$(BIN)/tollgate generate

generate: $(STAMP) ## Regenerate generated/ from spec/ (models, served specs, operation tables, clients)
	$(BIN)/tollgate generate

check: $(STAMP) ## Specs valid, generated/ in sync, handlers match operationIds, migrations match tables
	$(BIN)/tollgate check

migrate: $(STAMP) ## Bring the database (TOLLGATE_DATABASE_URL, default var/tollgate.db) to the newest schema
	$(BIN)/tollgate migrate

run: $(STAMP) generated/openmeter/openapi.json ## Set up, migrate and serve on http://127.0.0.1:8080 (SQLite under var/)
	$(BIN)/tollgate serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

# The official JavaScript SDKs the tests drive (pinned by their lockfiles); skipped without npm.
FLOWGLAD_SDK := tests/handlers/flowglad/sdk
$(FLOWGLAD_SDK)/node_modules/.package-lock.json: $(FLOWGLAD_SDK)/package-lock.json
	@if command -v npm >/dev/null; then npm ci --silent --no-audit --no-fund --prefix $(FLOWGLAD_SDK); else echo "npm not found: the @flowglad/node test will be skipped"; fi

sdks: $(FLOWGLAD_SDK)/node_modules/.package-lock.json ## Install the JavaScript SDKs the tests drive (npm)

test: check sdks ## Set up and run every test (SQLite; PostgreSQL too when TOLLGATE_TEST_POSTGRES_URL is set)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP) ## The tests without Schemathesis and other slow ones
	$(BIN)/python -m pytest -m 'not slow' $(PYTEST_ARGS)

bench: $(STAMP) ## Run the benchmarks under bench/ and print their figures
	$(BIN)/python bench/run.py

ops: $(STAMP) ## Operations per API and tag: total, implemented, missing
	$(BIN)/tollgate ops

clean: ## Remove the virtualenv and local state (var/)
	rm -rf $(VENV) var

.PHONY: help venv generate check migrate run test test-fast bench ops clean sdks
