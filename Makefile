# The two commands of the Quick start (`make run`, `make test`) and a few helpers.
# Everything installs into .venv; nothing outside the project is touched.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT

# Without a .env the quick start runs in development mode on the embedded defaults.
ifeq ($(wildcard .env),)
export DEBUG ?= 1
endif

.PHONY: run test lint format bench

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py ensure_admin
	@echo "jappanel: open http://127.0.0.1:$(PORT)/ (Ctrl-C stops web, workers and scheduler)"
	exec $(VENV)/bin/honcho --procfile Procfile --app-root . start --port $(PORT)

test: $(VENV)/.installed
	$(PY) -m pytest -n $${PYTEST_WORKERS:-2} $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(VENV)/.installed
	$(PY) bench/run.py $(BENCH)
