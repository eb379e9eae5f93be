# The two commands: `make run` (set up and start everything) and `make test` (set up and test).
# Everything else here is what those two need, plus a few conveniences.

PYTHON ?= $(shell scripts/find-python)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint mutation dial bench bench-ussd bench-routing bench-agencies bench-delivery bench-campaign bench-studio bench-desk bench-oversight redis-server chromium clean help

help:
	@echo "make run    set up (virtualenv, requirements, Redis, database) and start web, worker, simulator"
	@echo "make test   set up the same and run the whole test suite (PostgreSQL too if TEST_DATABASE_URL is set)"
	@echo "make dial   play a phone against the running service (flask ussd dial)"
	@echo "make bench  run the benchmarks in bench/"
	@echo "make lint   ruff and the import contracts (lint-imports; contracts in pyproject.toml)"
	@echo "make mutation  mutation-test the guard modules (slow: not part of make test)"

$(STAMP): requirements.txt requirements-dev.txt
	@scripts/ensure-python "$(PYTHON)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

redis-server:
	@scripts/ensure-redis

# Debian's chromium, which the console's browser tests drive through Playwright.
chromium:
	@scripts/ensure-chromium

run: $(STAMP) redis-server
	scripts/run-dev

# With TEST_DATABASE_URL the SQLite and PostgreSQL runs go side by side (each session has its own Redis,
# ports and database; much of a run waits on servers and the browser, so two share two cores well),
# the SQLite run's output shown when both are done.
test: $(STAMP) redis-server chromium lint
	@if [ -z "$$TEST_DATABASE_URL" ]; then \
		echo "--- tests against SQLite"; \
		$(BIN)/pytest -q; \
	else \
		echo "--- tests against SQLite and PostgreSQL ($$TEST_DATABASE_URL), side by side"; \
		log=$$(mktemp); \
		(TEST_DATABASE_URL= $(BIN)/pytest -q -p no:cacheprovider > $$log 2>&1; echo $$? >> $$log.rc) & \
		$(BIN)/pytest -q; pg=$$?; wait; \
		echo "--- the SQLite run"; cat $$log; sqlite=$$(cat $$log.rc); rm -f $$log $$log.rc; \
		echo "--- SQLite exit $$sqlite, PostgreSQL exit $$pg"; \
		[ "$$sqlite" = 0 ] && [ "$$pg" = 0 ]; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

# Mutation testing of the guard modules listed in pyproject.toml's [tool.mutmut] (SQLite, four at a time:
# the tests mostly wait on servers and workers, so four keep two cores busy),
# then per-module scores against the 85% target. Not in `make test`: the first run takes about an hour
# on two cores. Later runs keep the verdicts of unchanged functions and try every survivor again;
# `make mutation MUTATION_FRESH=1` starts from scratch; `make mutation ONLY='hotline.tips.routing.*'` tries
# one module's mutants (mutmut's names: module path with dots, then the function).
mutation: $(STAMP) redis-server chromium
	@if [ -n "$(MUTATION_FRESH)" ]; then rm -rf mutants; fi
	@if [ -d mutants ]; then $(BIN)/python scripts/mutation-report --reset-survivors; fi
	TEST_DATABASE_URL= $(BIN)/mutmut run --max-children 4 $(ONLY)
	$(BIN)/python scripts/mutation-report --survivors

dial: $(STAMP)
	HOTLINE_ENV=$${HOTLINE_ENV:-development} $(BIN)/flask ussd dial

bench: bench-ussd bench-routing bench-agencies bench-delivery bench-campaign bench-studio bench-desk bench-oversight

bench-ussd: $(STAMP) redis-server
	@command -v wrk >/dev/null || { echo "bench-ussd needs wrk (Debian/Ubuntu: sudo apt-get install wrk)"; exit 1; }
	$(BIN)/python bench/ussd/run.py $(BENCH_ARGS)

bench-routing: $(STAMP) redis-server
	$(BIN)/python bench/routing/run.py

bench-agencies: $(STAMP) redis-server
	$(BIN)/python bench/agencies/run.py

bench-delivery: $(STAMP) redis-server
	$(BIN)/python bench/delivery/run.py

bench-campaign: $(STAMP) redis-server
	$(BIN)/python bench/campaign/run.py --best-case

# The campaign studio's console pages at 1,000,000 contacts: the live estimate and the report page.
bench-studio: $(STAMP) redis-server
	$(BIN)/python bench/campaign/console.py $(BENCH_ARGS)

bench-desk: $(STAMP) redis-server
	$(BIN)/python bench/desk/run.py $(BENCH_ARGS)

# The oversight dashboard, the full de-identified export and a year's purge at 1,000,000 tips (PostgreSQL:
# the data is loaded once into the database bench_oversight and kept for the next run).
bench-oversight: $(STAMP) redis-server
	$(BIN)/python bench/oversight/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
