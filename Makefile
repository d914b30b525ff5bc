# The README's whole set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STORE  ?= var/store

.PHONY: run test build lint sysdeps-test clean

## run: install, build the embedded store from data/, then serve it at http://127.0.0.1:5000
run: $(VENV)/.installed-run
	$(BIN)/clusterpolisee build --store $(STORE)
	$(BIN)/clusterpolisee graphs --store $(STORE)
	$(BIN)/clusterpolisee serve --store $(STORE) --host 127.0.0.1 --port 5000

## test: install with test extras and system packages, lint, run the whole suite
test: $(VENV)/.installed-test sysdeps-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

build: $(VENV)/.installed-run
	$(BIN)/clusterpolisee build --store $(STORE)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

sysdeps-test:
	scripts/install-system-deps.sh test

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
