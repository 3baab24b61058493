# Adamas developer commands. `make demo` and `make test` set up everything on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SOURCES := src tests benchmarks scripts

.PHONY: bench-soak bench-races bench-fuzz
.PHONY: demo test lint bench bench-ingest bench-log bench-http bench-detection bench-simulate install clean bench-simulate-large \
	bench-trace bench-trace-10m bench-startup bench-sequencer bench-tiles bench-rebuild bench-audit bench-disk

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/adamas demo --db sqlite:///demo/adamas.db

lint: $(STAMP)
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)
	$(BIN)/mypy --strict src

# The suite runs on every core (pytest-xdist; each worker has its own PostgreSQL database, tests/conftest.py),
# a file's tests on one worker so that module fixtures are built once. TEST_JOBS=0 runs it in this process.
TEST_JOBS ?= auto

test: lint
	$(BIN)/pytest -n $(TEST_JOBS) --dist loadfile

# `make bench`: every benchmark below in turn (each records its figures in .bench/results/), then the table at
# the top of docs/benchmarks.md is rewritten from them (benchmarks/report.py). A failed benchmark does not
# stop the others; the run fails at the end and names it. Set ADAMAS_BENCH_POSTGRES_URL (a database the
# benchmarks may empty) for the PostgreSQL figures.
BENCHES := ingest log http detection simulate trace startup sequencer tiles rebuild audit disk

bench: $(STAMP)
	@failed=; for b in $(BENCHES); do \
	  echo "== make bench-$$b"; start=$$(date +%s); \
	  $(MAKE) --no-print-directory bench-$$b || failed="$$failed bench-$$b"; \
	  echo "== bench-$$b took $$(( $$(date +%s) - start )) s"; \
	done; \
	$(BIN)/python benchmarks/report.py; \
	if [ -n "$$failed" ]; then echo "failed:$$failed"; exit 1; fi

bench-ingest: $(STAMP)
	$(BIN)/python benchmarks/ingest.py $(if $(ADAMAS_BENCH_POSTGRES_URL),--compare-postgres $(ADAMAS_BENCH_POSTGRES_URL))

bench-log: $(STAMP)
	$(BIN)/python benchmarks/log.py

bench-http: $(STAMP)
	$(BIN)/python benchmarks/http.py

bench-detection: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python benchmarks/detection.py

# Issue 14 (docs/benchmarks.md, docs/scaling.md). With ADAMAS_BENCH_POSTGRES_URL set (a database the
# benchmark may empty), trace and sequencer also run on PostgreSQL.
BENCH_PG := $(if $(ADAMAS_BENCH_POSTGRES_URL),--db $(ADAMAS_BENCH_POSTGRES_URL))

# Traces at 1M events (built once into .bench/trace-1000000.db and kept: --reuse); on PostgreSQL the
# benchmark database is emptied and rebuilt when it does not hold this workload. bench-trace-10m is the
# long one (a build of hours on 2 cores, then reused), not part of `make bench`. The other benchmarks empty
# ADAMAS_BENCH_POSTGRES_URL's database; give the traces their own (ADAMAS_BENCH_TRACE_POSTGRES_URL) to keep
# the built ledger between runs.
TRACE_PG := $(if $(ADAMAS_BENCH_TRACE_POSTGRES_URL),--db $(ADAMAS_BENCH_TRACE_POSTGRES_URL),$(BENCH_PG))
bench-trace: $(STAMP)
	$(BIN)/python benchmarks/trace.py --reuse --warm --events 1000000 --db 'sqlite:///.bench/trace-{events}.db' \
		$(TRACE_PG)

bench-trace-10m: $(STAMP)
	$(BIN)/python benchmarks/trace.py --reuse --warm --events 10000000 --db 'sqlite:///.bench/trace-{events}.db' \
		$(TRACE_PG)

bench-rebuild: $(STAMP)
	$(BIN)/python benchmarks/rebuild.py --events 20000 --db sqlite:///.bench/rebuild.db $(BENCH_PG)

bench-audit: $(STAMP)
	$(BIN)/python benchmarks/audit.py --events 30000 --db sqlite:///.bench/audit.db $(BENCH_PG)

bench-disk: $(STAMP)
	$(BIN)/python benchmarks/disk.py --events 100000 --db sqlite:///.bench/disk.db $(BENCH_PG)

bench-startup: $(STAMP)
	$(BIN)/python benchmarks/startup.py

bench-sequencer: $(STAMP)
	$(BIN)/python benchmarks/sequencer.py --db sqlite:///.bench/sequencer.db $(BENCH_PG)

# Needs Debian's nginx (apt-get install nginx); exits 2 and says so without it.
bench-tiles: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python benchmarks/tiles.py

# The demo world only; bench-simulate-large adds a simulated year of about a million events (20+ minutes).
bench-simulate: $(STAMP)
	$(BIN)/python benchmarks/simulate.py --skip-large

bench-simulate-large: $(STAMP)
	$(BIN)/python benchmarks/simulate.py

clean:
	rm -rf $(VENV) demo .pytest_cache .mypy_cache .ruff_cache .hypothesis

# Reliability under fire (issue 15; minutes each, not part of `make bench`): SIGKILL soak, races, fuzzing.
bench-soak: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python benchmarks/soak.py

bench-races: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python benchmarks/races.py

bench-fuzz: $(STAMP)
	$(BIN)/python -m pip install --quiet atheris || true
	$(BIN)/python benchmarks/fuzz.py
