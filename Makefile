# The README's whole set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STORE  ?= var/store

.PHONY: run test build lint sysdeps-test sysdeps-run clean soak bench bench-quick

## run: install, build the embedded store from data/, then serve it at http://127.0.0.1:5000
run: $(VENV)/.installed-run sysdeps-run
	$(BIN)/clusterpolisee build --store $(STORE)
	$(BIN)/clusterpolisee graphs --store $(STORE)
	$(BIN)/clusterpolisee serve --store $(STORE) --host 127.0.0.1 --port 5000

## test: install with test extras and system packages, lint, run the whole suite
test: $(VENV)/.installed-test sysdeps-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

## soak: steady mixed load on a real server (SOAK_MINUTES, default 5): no 5xx, memory < +10 %
SOAK_MINUTES ?= 5
soak: $(VENV)/.installed-test
	$(BIN)/python bench/soak.py --minutes $(SOAK_MINUTES) --json test-output/reliability/soak.json

build: $(VENV)/.installed-run sysdeps-run
	$(BIN)/clusterpolisee build --store $(STORE)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## bench: every benchmark at full scale (queries at 1M and 10M, build at 1M and 10M, web;
## Virtuoso, rdflib, pyshacl as peers) into BENCHMARKS.md; about 100 minutes on 2 cores.
## BENCH_ARGS adds options.
BENCH_OUT ?= BENCHMARKS.md
bench: $(VENV)/.installed-test sysdeps-test
	$(BIN)/python bench/run.py --scale full --output $(BENCH_OUT) $(BENCH_ARGS)

## bench-quick: the same chain at a small scale (about 2 minutes), into var/bench-quick.md;
## its web section needs wrk and Virtuoso (the test system packages)
BENCH_QUICK_OUT ?= var/bench-quick.md
bench-quick: $(VENV)/.installed-test sysdeps-test
	mkdir -p $(dir $(BENCH_QUICK_OUT))
	$(BIN)/python bench/run.py --scale quick --output $(BENCH_QUICK_OUT) $(BENCH_ARGS)

sysdeps-test:
	scripts/install-system-deps.sh test

# jemalloc, which the CLI preloads when present (clusterpolisee/allocator.py); optional
sysdeps-run:
	scripts/install-system-deps.sh run

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	touch $@

$(VENV)/.installed-run: $(VENV)/.created pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.created pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache test-output
