# Billow — the two commands: `make run` (app on the embedded store) and `make test` (everything).
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-$(shell cat requirements-dev.lock pyproject.toml | cksum | cut -d' ' -f1)
HOST    ?= 127.0.0.1
PORT    ?= 8000
DATA    ?= .billow

.PHONY: run install test test-fast lint format bench lock deploy test-deps clean

$(STAMP): requirements-dev.lock pyproject.toml
	@$(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Billow needs Python 3.11+")'
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

## Start the whole app locally on the embedded store (SQLite + blob folder in $(DATA)).
run: install
	$(BIN)/billow serve --host $(HOST) --port $(PORT) --data-dir $(DATA)

## Run the entire test suite (installs Chromium, poppler-utils and the AWS CLI when missing and
## possible). PYTEST_ARGS adds pytest options (.ci/run passes --junitxml to catch skips).
test: install test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml
	PATH="$$PATH:$(abspath $(VENV))/awscli/bin" $(BIN)/pytest -n 2 --dist loadgroup -q $(PYTEST_ARGS)

## Chromium, poppler-utils and the AWS CLI (see infra/test-deps.sh).
test-deps: install
	@VENV=$(VENV) bash infra/test-deps.sh

test-fast: install
	$(BIN)/pytest -n 2 -q -m "not slow and not browser"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Every benchmark in tests/bench, one table.
bench: install
	$(BIN)/python -m tests.bench $(if $(SCALE),--scale $(filter-out 1,$(SCALE)))

## Re-pin the lock files after changing pyproject.toml.
lock:
	$(BIN)/python -m pip install -q uv
	$(BIN)/uv pip compile pyproject.toml -o requirements.lock --python-version 3.11 -q
	$(BIN)/uv pip compile pyproject.toml --extra dev -o requirements-dev.lock --python-version 3.11 -q

## Build and deploy to AWS with SAM (see README "Deploy to AWS").
deploy: install
	bash infra/deploy.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
