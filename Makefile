# The two commands of the README: `make run` (the whole platform, offline) and `make test`.
# Each sets up what it needs first: a virtualenv in .venv with the project installed, with the
# extras the platform and the tests need (the gateway alone needs none of them: setup.cfg).

PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
LOWEST := .venv-lowest
HIGHEST := .venv-highest
EXTRAS := test,services,yahoo,tracing
# The versions test-lowest and test-highest print, of what they install.
SHOWN := (aiohttp|aiohttp-cors|aiohttp-remotes|aiohttp-sse|aioresponses-ng|pydantic|reactivex|structlog|rich|orjson|redis|gunicorn|starlette|uvicorn|exchange-calendars|yfinance|opentelemetry-sdk|opentelemetry-exporter-otlp-proto-http|pytest|pytest-aiohttp)

.PHONY: run test test-lowest test-highest lint typecheck bench clean

run: $(STAMP)
	$(VENV)/bin/orchestrator dev

test: $(STAMP)
	$(VENV)/bin/pytest

# The floors of setup.cfg, tested: every direct dependency at the lowest version it allows.
test-lowest: $(STAMP)
	$(VENV)/bin/pip install --quiet "uv>=0.5"
	$(VENV)/bin/uv venv --quiet --allow-existing --python $(VENV)/bin/python $(LOWEST)
	$(VENV)/bin/uv pip install --quiet --python $(LOWEST)/bin/python --resolution lowest-direct -e ".[$(EXTRAS)]"
	$(VENV)/bin/uv pip list --python $(LOWEST)/bin/python | grep -iE "^$(SHOWN)[- ]"
	$(LOWEST)/bin/pytest

# The other end: a new virtualenv with every dependency at the newest version setup.cfg allows, as a
# fresh install today resolves them, so that a new release that breaks something is seen at once.
test-highest: $(STAMP)
	$(VENV)/bin/pip install --quiet "uv>=0.5"
	rm -rf $(HIGHEST)
	$(VENV)/bin/uv venv --quiet --python $(VENV)/bin/python $(HIGHEST)
	$(VENV)/bin/uv pip install --quiet --python $(HIGHEST)/bin/python --resolution highest -e ".[$(EXTRAS)]"
	$(VENV)/bin/uv pip list --python $(HIGHEST)/bin/python | grep -iE "^$(SHOWN)[- ]"
	$(HIGHEST)/bin/pytest

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
	rm -rf $(VENV) $(LOWEST) $(HIGHEST) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
