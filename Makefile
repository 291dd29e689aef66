# Countersign: `make run` to try it, `make test` to prove it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
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

install: $(INSTALLED)

run: $(INSTALLED)
	$(WITH_SERVICES) $(BIN)/python -m hitl_site.devserver

test: $(INSTALLED)
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
