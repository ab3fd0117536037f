# The two commands of the README: `make run` (the whole platform, offline) and `make test`.
# Each sets up what it needs first: a virtualenv in .venv with the project installed, with the
# extras the platform and the tests need (the gateway alone needs none of them: setup.cfg).

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
LOWEST := .venv-lowest
EXTRAS := test,services,yahoo

.PHONY: run test test-lowest lint typecheck bench clean

run: $(STAMP)
	$(VENV)/bin/orchestrator dev

test: $(STAMP)
	$(VENV)/bin/pytest

# The floors of setup.cfg, tested: every direct dependency at the lowest version it allows.
test-lowest: $(STAMP)
	$(VENV)/bin/pip install --quiet "uv>=0.5"
	$(VENV)/bin/uv venv --quiet --allow-existing --python $(VENV)/bin/python $(LOWEST)
	$(VENV)/bin/uv pip install --quiet --python $(LOWEST)/bin/python --resolution lowest-direct -e ".[$(EXTRAS)]"
	$(VENV)/bin/uv pip list --python $(LOWEST)/bin/python | grep -iE "^(aiohttp|pydantic|reactivex|structlog|rich|orjson|redis|starlette|uvicorn|exchange-calendars|yfinance|pytest)[- ]"
	$(LOWEST)/bin/pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

# mypy, strict on orchestrator/ and streams/ (setup.cfg's [mypy] says what and why)
typecheck: $(STAMP)
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(VENV)/bin/python -m benchmarks

# orchestrator/__init__.py holds the version the installed metadata repeats (setup.cfg)
$(STAMP): setup.cfg pyproject.toml orchestrator/__init__.py
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

clean:
	rm -rf $(VENV) $(LOWEST) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
