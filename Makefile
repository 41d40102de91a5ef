# Two commands on a fresh machine: `make demo` and `make test`. Both run `make setup`
# first, which is a no-op when the virtualenv and the Delta jars are already in place.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SETUP_STAMP := $(VENV)/.setup-stamp
SETUP_EXTRAS := jobs,api,test,dev,bench
JARS_STAMP := .cache/jars/.fetched
DATA_ROOT ?= ./data
DEMO_EVENTS ?= 200000
PORT ?= 8001
# pytest-xdist workers of `make test` (each with its own local[2] Spark; 0: one process).
# On two cores TEST_WORKERS=2 is barely faster than one process (22 min 10 s against
# 22 min 52 s on a fresh clone) and one of two such runs failed its last test
# (docs/BENCHMARKS.md, "test suite"), so the default, and CI, is one process.
# tests/conftest.py schedules whole modules (the shared pipeline's as one unit) per worker.
TEST_WORKERS ?= 0
# The Delta jars of this checkout; jobs started by make (and spark-submit.sh) use them.
export DELTA_JARS_DIR ?= $(CURDIR)/.cache/jars
# Images: podman or buildah, a base image made from Debian packages (no registry here).
IMAGE_TOOL ?= $(shell command -v podman >/dev/null 2>&1 && echo podman || echo buildah)
BASE_IMAGE ?= localhost/analytics-base:bookworm
# The package version (pyproject.toml, the one definition) tags the images.
IMAGE_TAG ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)

# Runs a command silently; shows its output only if it fails (make setup stays quiet).
quietly = log=$$(mktemp); if $(1) >"$$log" 2>&1; then rm -f "$$log"; else cat "$$log"; rm -f "$$log"; exit 1; fi

.PHONY: setup demo test test-fast test-reliability test-images lint format serve worker notebook bench \
	screenshots lock image base-image clean

setup: $(SETUP_STAMP) $(JARS_STAMP)

$(SETUP_STAMP): setup.py pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@command -v java >/dev/null || { echo "error: Java 17 (a JDK or JRE on PATH) is required by Spark"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(call quietly,$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel)
	@$(call quietly,$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[$(SETUP_EXTRAS)]')
	@touch $@

$(JARS_STAMP): $(SETUP_STAMP) jobs/delta_jars.py
	@$(call quietly,$(BIN)/python -m jobs.delta_jars fetch)
	@touch $@

demo: setup
	DATA_ROOT=$(DATA_ROOT) $(BIN)/python -m jobs.demo --events $(DEMO_EVENTS)

test: setup
	@if [ -x scripts/ensure_browser.sh ]; then scripts/ensure_browser.sh; fi
	@if [ -x scripts/ensure_redis.sh ]; then scripts/ensure_redis.sh; fi
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

# The JVM-free tier (under 3 minutes, no Java started): `unit` is applied automatically to
# every test that neither uses the `spark` fixture nor is marked slow.
test-fast: setup
	$(BIN)/python -m pytest -m unit -q

test-reliability: setup
	$(BIN)/python -m pytest tests/reliability

# Loopback only by default (BIND=0.0.0.0:8001 to change it; put a reverse proxy in front).
serve: setup
	DATA_ROOT=$(DATA_ROOT) PORT=$(PORT) $(BIN)/gunicorn -c serving/gunicorn_conf.py \
		'serving.app:create_app()'

worker: setup
	DATA_ROOT=$(DATA_ROOT) $(BIN)/python -m jobs.worker

notebook: setup
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[notebook]'
	DATA_ROOT=$(abspath $(DATA_ROOT)) $(BIN)/jupyter lab --notebook-dir notebooks

screenshots: setup
	UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/pages -q

bench: setup
	@echo "Benchmarks are long-running scripts; see docs/BENCHMARKS.md for each command."
	@ls bench/*.py

# Slow (minutes): builds both images and runs them (or their file systems under chroot).
test-images: setup image
	ANALYTICS_IMAGE_TESTS=1 IMAGE_TOOL=$(IMAGE_TOOL) BASE_IMAGE=$(BASE_IMAGE) IMAGE_TAG=$(IMAGE_TAG) \
		$(BIN)/python -m pytest -m image tests/deploy -q

# Re-resolve requirements.lock after changing the ranges in pyproject.toml.
lock: setup
	$(BIN)/python scripts/lock.py

base-image:
	deploy/images/build-base.sh $(BASE_IMAGE)

image: base-image
	deploy/images/build.sh $(IMAGE_TOOL) $(BASE_IMAGE) $(IMAGE_TAG)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy contracts jobs privacy_udfs serving conf
	$(BIN)/lint-imports --no-cache

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .cache build *.egg-info .pytest_cache .mypy_cache .ruff_cache
