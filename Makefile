# Guichet build, run and test plumbing (GNU make). `make help` lists the targets.
# The two everyday commands: `make run` (demo server) and `make test` (what CI runs).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
# Extra pytest arguments, e.g. `make test-sqlite PYTEST_ARGS='-k login -x'`.
PYTEST_ARGS ?=
# pytest-xdist workers per engine (0: one process). Most of a test's time is spent waiting on
# the servers it starts (Guichet, Chromium, PostgreSQL, slapd...), so two workers on two cores
# halve the wall time. Whole files go to one worker: their module fixtures start once. The
# slowest tests are listed at the end, to keep the suite's time (under 30 min) in view.
PYTEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=20
# Wall-clock start of this make invocation, for the timing line of `make test`.
START := $(shell date +%s)

.PHONY: help venv install install-dev run system-deps lint compose-check test test-sqlite \
	test-pg messages clean

help: ## Show this help
	@grep -E '^[a-zA-Z_ -]+:.*## ' $(MAKEFILE_LIST) | \
		awk -F ":.*## " '{printf "  %-14s %s\n", $$1, $$2}'

# Stamp files make re-runs instant; they are redone whenever pyproject.toml changes.
$(VENV)/.stamp-runtime: pyproject.toml
	@if [ ! -x $(BIN)/python ]; then \
		py=$$(command -v python3.11 || true); \
		if [ -z "$$py" ] && python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; \
		then py=python3; fi; \
		[ -n "$$py" ] || { echo "Python 3.11 is required (python3.11 or python3)" >&2; exit 1; }; \
		echo "Creating $(VENV) with $$py"; \
		"$$py" -m venv $(VENV); \
	fi
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	@touch $@

$(VENV)/.stamp-dev: $(VENV)/.stamp-runtime
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

venv install: $(VENV)/.stamp-runtime ## Create .venv and install Guichet (runtime only)

install-dev: $(VENV)/.stamp-dev ## Install Guichet plus test and lint tools

run: install ## Migrate, load demo data and serve on GUICHET_HOST:GUICHET_PORT (127.0.0.1:8000)
	$(BIN)/guichet migrate
	$(BIN)/guichet demo
	@# exec: Ctrl-C goes straight to the server, which shuts down cleanly.
	exec $(BIN)/guichet serve

system-deps: ## Install (as root) or list the Debian packages the tests need
	@missing=""; \
	command -v chromium >/dev/null || [ -x /usr/bin/chromium ] || missing="$$missing chromium fonts-liberation"; \
	[ -x "$$(pg_config --bindir 2>/dev/null)/initdb" ] || missing="$$missing postgresql"; \
	command -v slapd >/dev/null || [ -x /usr/sbin/slapd ] || missing="$$missing slapd"; \
	command -v ldapmodify >/dev/null || missing="$$missing ldap-utils"; \
	[ -x /usr/sbin/dovecot ] || missing="$$missing dovecot-imapd"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	[ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then \
		echo "Missing Debian packages; please run:" >&2; \
		echo "  sudo apt-get install --no-install-recommends$$missing" >&2; \
		exit 1; \
	fi; \
	apt-get update; \
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends$$missing

lint: install-dev ## Run ruff
	$(BIN)/ruff check .

# compose-check: the file requires GUICHET_SECRET_KEY (`:?`), so give it a dummy one.
compose-check: install-dev ## Validate docker-compose.yml
	GUICHET_SECRET_KEY=compose-check $(BIN)/docker-compose config -q

test: install-dev system-deps ## Lint, check compose, run the tests on SQLite then PostgreSQL
	@trap 'rc=$$?; echo "make test: exit $$rc, wall time $$(( $$(date +%s) - $(START) ))s"' EXIT; \
	for step in lint compose-check test-sqlite test-pg; do \
		$(MAKE) --no-print-directory $$step; \
	done

# Tests make their own temporary SQLite database when GUICHET_DATABASE_URL is unset.
test-sqlite: install-dev ## Run the tests on SQLite
	env -u GUICHET_DATABASE_URL $(PYTEST) $(PYTEST_ARGS)

test-pg: install-dev system-deps ## Run the tests on a throwaway PostgreSQL cluster
	scripts/with-postgres.sh $(PYTEST) $(PYTEST_ARGS)

messages: install ## Extract translatable strings and update the .po catalogs
	mkdir -p server/locale
	$(BIN)/pybabel extract -F babel.cfg -o server/locale/guichet.pot --no-location -w 100 \
		-k N_ -k _ -k gettext -k ngettext:1,2 .
	$(BIN)/pybabel update -i server/locale/guichet.pot -d server/locale -D guichet \
		--no-fuzzy-matching -w 100

clean: ## Delete var/ (local database, secret key, mails) and test caches; keeps .venv
	rm -rf var test-results .pytest_cache .ruff_cache build dist
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
