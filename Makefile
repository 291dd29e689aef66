# Countersign: `make run` to try it, `make test` to prove it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# The TypeScript client's node dependencies, from its lockfile (the frameworks its adapters are tested with).
TS_CLIENT := hitl-client-ts
NODE_INSTALLED := $(TS_CLIENT)/node_modules/.installed
# Embedded PostgreSQL and Redis under .run/ unless DATABASE_URL / REDIS_URL point elsewhere.
WITH_SERVICES := $(BIN)/python -m hitl_site.embedded run --

.PHONY: install run test lint stop clean bench

# setuptools prints a boxed "Editable installation" notice for each editable package: advice for
# its users, not a failure, yet on a first `make run` it read like one (#32). Silenced here only.
$(INSTALLED): pyproject.toml hitl_client/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/pip install --quiet -e ./hitl_client -e ".[dev]"
	touch $(INSTALLED)

# Without npm, the TypeScript client's tests skip (saying so); .ci/run installs node and npm.
$(NODE_INSTALLED): $(TS_CLIENT)/package-lock.json
	@if command -v npm >/dev/null; then \
		cd $(TS_CLIENT) && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	else echo "npm not found: the TypeScript client ($(TS_CLIENT)/) is not installed, and its tests will skip"; fi

install: $(INSTALLED) $(NODE_INSTALLED)

run: $(INSTALLED)
	$(WITH_SERVICES) $(BIN)/python -m hitl_site.devserver

test: $(INSTALLED) $(NODE_INSTALLED)
	$(WITH_SERVICES) $(BIN)/pytest $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .

stop:
	$(BIN)/python -m hitl_site.embedded down

clean: stop
	rm -rf .run

# `make bench` (SCALE=small for a quick run, < 2 minutes): the figures of docs/performance.md,
# on PostgreSQL and Redis of its own under .run/bench/, never the demo's data.
SCALE ?= full
bench: $(INSTALLED)
	$(BIN)/python -m bench --scale $(SCALE) $(BENCH_ARGS)
