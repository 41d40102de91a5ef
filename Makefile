# Two commands on a fresh machine: `make demo` and `make test`. Both run `make setup`
# first, which is a no-op when the virtualenv and the Delta jars are already in place.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SETUP_STAMP := $(VENV)/.setup-stamp
JARS_STAMP := .cache/jars/.fetched
DATA_ROOT ?= ./data
DEMO_EVENTS ?= 200000
PORT ?= 8001

.PHONY: setup demo test test-reliability lint format serve notebook bench screenshots clean

setup: $(SETUP_STAMP) $(JARS_STAMP)

$(SETUP_STAMP): setup.py pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@command -v java >/dev/null || { echo "error: Java 17 (a JDK or JRE on PATH) is required by Spark"; exit 1; }
	@echo "setting up $(VENV) (quiet; the full log is printed only if it fails) ..."
	@log=$$(mktemp); \
	{ test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); } >"$$log" 2>&1 \
	&& $(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel >>"$$log" 2>&1 \
	&& $(BIN)/python -m pip install --quiet -e '.[test,dev,bench]' >>"$$log" 2>&1 \
	|| { cat "$$log"; rm -f "$$log"; echo "error: make setup failed (log above)"; exit 1; }; \
	rm -f "$$log"
	@touch $@

$(JARS_STAMP): $(SETUP_STAMP) jobs/delta_jars.py
	@$(BIN)/python -m jobs.delta_jars fetch >/dev/null
	@touch $@

demo: setup
	DATA_ROOT=$(DATA_ROOT) $(BIN)/python -m jobs.demo --events $(DEMO_EVENTS)

test: setup
	@if [ -x scripts/ensure_browser.sh ]; then scripts/ensure_browser.sh; fi
	@if [ -x scripts/ensure_redis.sh ]; then scripts/ensure_redis.sh; fi
	$(BIN)/python -m pytest

test-reliability: setup
	$(BIN)/python -m pytest tests/reliability

# Loopback only by default (BIND=0.0.0.0:8001 to change it; put a reverse proxy in front).
serve: setup
	DATA_ROOT=$(DATA_ROOT) PORT=$(PORT) $(BIN)/gunicorn -c serving/gunicorn_conf.py \
		'serving.app:create_app()'

notebook: setup
	$(BIN)/python -m pip install --quiet -e '.[notebook]'
	DATA_ROOT=$(abspath $(DATA_ROOT)) $(BIN)/jupyter lab --notebook-dir notebooks

screenshots: setup
	UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/pages -q

bench: setup
	@echo "Benchmarks are long-running scripts; see docs/BENCHMARKS.md for each command."
	@ls bench/*.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy jobs privacy_udfs serving conf

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .cache build *.egg-info .pytest_cache .mypy_cache .ruff_cache
