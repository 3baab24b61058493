# Adamas developer commands. `make demo` and `make test` set up everything on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
SOURCES := src tests benchmarks scripts

.PHONY: bench-soak bench-races bench-fuzz
.PHONY: demo test lint bench bench-ingest bench-log bench-http bench-detection bench-simulate install clean \
	bench-trace bench-trace-10m bench-startup bench-sequencer bench-tiles

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

test: lint
	$(BIN)/pytest

bench: bench-ingest bench-log bench-http bench-detection bench-simulate bench-trace bench-startup bench-sequencer \
	bench-tiles

bench-ingest: $(STAMP)
	$(BIN)/python benchmarks/ingest.py

bench-log: $(STAMP)
	$(BIN)/python benchmarks/log.py

bench-http: $(STAMP)
	$(BIN)/python benchmarks/http.py

# Needs `adamas simulate` (branch sim); exits 2 and says so without it.
bench-detection: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python benchmarks/detection.py

# Issue 14 (docs/benchmarks.md, docs/scaling.md). With ADAMAS_BENCH_POSTGRES_URL set (a database the
# benchmark may empty), trace and sequencer also run on PostgreSQL.
BENCH_PG := $(if $(ADAMAS_BENCH_POSTGRES_URL),--db $(ADAMAS_BENCH_POSTGRES_URL))

# Traces at 1M events (built once into .bench/trace-1000000.db and kept: --reuse); on PostgreSQL the
# benchmark database is emptied and rebuilt when it does not hold this workload. bench-trace-10m is the
# long one (a build of hours on 2 cores, then reused), not part of `make bench`.
bench-trace: $(STAMP)
	$(BIN)/python benchmarks/trace.py --reuse --warm --events 1000000 --db 'sqlite:///.bench/trace-{events}.db' \
		$(BENCH_PG)

bench-trace-10m: $(STAMP)
	$(BIN)/python benchmarks/trace.py --reuse --warm --events 10000000 --db 'sqlite:///.bench/trace-{events}.db' \
		$(BENCH_PG)

bench-startup: $(STAMP)
	$(BIN)/python benchmarks/startup.py

bench-sequencer: $(STAMP)
	$(BIN)/python benchmarks/sequencer.py --db sqlite:///.bench/sequencer.db $(BENCH_PG)

# Needs Debian's nginx (apt-get install nginx); exits 2 and says so without it.
bench-tiles: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python benchmarks/tiles.py

bench-simulate: $(STAMP)
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
