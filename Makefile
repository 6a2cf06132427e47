# Förderdesk: `make run` sets everything up and serves the demo; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1:8000
# The second test pass runs on PostgreSQL; pytest-django creates test_<name> itself (and drops it at the end).
# The name carries a hash of this folder: two checkouts on one machine never share a test database.
CHECKOUT_ID := $(shell printf '%s' "$(CURDIR)" | md5sum | cut -c1-8)
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/foerderdesk_$(CHECKOUT_ID)
# Both passes run on every core (pytest-xdist: an in-memory SQLite database, or test_<name>_gw<n> on PostgreSQL,
# per process), except the tests marked postgres (locking, concurrency, real Celery workers): they run last, in
# one process, so that they race only against themselves. TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= auto
# Debian packages: WeasyPrint's Pango and HarfBuzz, pdftotext for reading letters back, fonts.
DEBIAN_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils fonts-dejavu-core
# For the browser tests only: Debian's Chromium, driven by Playwright (its own browser download does not work here).
TEST_DEBIAN_PACKAGES := chromium libatomic1

.DEFAULT_GOAL := help
.PHONY: help run test bench services system-packages install install-test install-bench lint worker beat clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

run: install ## install, migrate, load the demo data and serve on http://127.0.0.1:8000
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo_data
	$(PY) manage.py runserver $(HOST)

test: install-test install-bench services ## checks (lint, layers, types), then the whole suite on SQLite and again on PostgreSQL (see TEST_WORKERS)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest -n $(TEST_WORKERS)
	DATABASE_URL=$(TEST_DATABASE_URL) FOERDERDESK_REQUIRE_POSTGRES=1 $(PY) -m pytest -n $(TEST_WORKERS) -m "not postgres"
	DATABASE_URL=$(TEST_DATABASE_URL) FOERDERDESK_REQUIRE_POSTGRES=1 $(PY) -m pytest -p no:xdist -m postgres

bench: install-bench ## benchmark at scale (issue 8) on SQLite, or on PostgreSQL with DATABASE_URL=postgres://…; table and bench-results.json
	$(PY) manage.py bench $(BENCH_ARGS)

worker: install ## a Celery worker; needs CELERY_BROKER_URL, e.g. redis://127.0.0.1:6379/0
	$(VENV)/bin/celery -A config worker --loglevel=INFO

beat: install ## the Celery schedule (daily digest 7:00, reminders 6:30); needs CELERY_BROKER_URL
	$(VENV)/bin/celery -A config beat --loglevel=INFO --schedule=$(VENV)/celerybeat-schedule

lint: install-test ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

services: ## PostgreSQL and Redis for make test: started when down (installed when missing, as root)
	@TEST_DATABASE_URL='$(TEST_DATABASE_URL)' bash scripts/services

system-packages: ## the Debian packages WeasyPrint needs (installed when run as root)
	@bash scripts/apt-install $(DEBIAN_PACKAGES) \
	  $$($(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || echo python3-venv) || true

# The service's packages only; the tests' and the benchmark's extras each in a stamp of their own.
$(VENV)/.installed: pyproject.toml
	@$(MAKE) --no-print-directory system-packages
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install --quiet ".[test]"
	touch $@

$(VENV)/.installed-bench: $(VENV)/.installed
	$(PY) -m pip install --quiet ".[bench]"
	touch $@

# KERN UX (served as static files) and axe-core (browser tests) from npm, exactly as package-lock.json says.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || [ "$$(id -u)" != 0 ] || bash scripts/apt-install nodejs npm
	@command -v npm >/dev/null || { echo "Please install Node.js and npm: apt-get install nodejs npm"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed ## the virtual environment with the service's Python packages, and the npm packages

install-test: install $(VENV)/.installed-test ## what make test needs beyond that: test packages, Chromium
	@bash scripts/apt-install $(TEST_DEBIAN_PACKAGES) || true

install-bench: install $(VENV)/.installed-bench ## the benchmark's load generator and profiler (make bench; its smoke run is a test)

clean: ## remove the virtual environment, node_modules, the SQLite database, uploaded files and the demo's e-mails
	rm -rf $(VENV) node_modules db.sqlite3 media staticfiles sent-emails
