# readerstudy — every target creates or reuses .venv (installed once per change of pyproject.toml
# or constraints.txt, the versions CI passed with).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PIP_EXTRAS ?= dev,ai

.PHONY: demo test bench lint serve worker clean

$(STAMP): pyproject.toml constraints.txt
	@echo "[make] installing into $(VENV) (the first time: about 2 minutes on the shared 2-core machine)…"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[$(PIP_EXTRAS)]'
	@touch $(STAMP)

demo: $(STAMP)
	@echo "[make] $(VENV) is ready; building the demo study…"
	$(PY) -u manage.py demo --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	@set -e; for script in tests/benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script; done

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports
	$(PY) manage.py makemigrations --check --dry-run

serve: $(STAMP)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(VENV)/bin/gunicorn readerstudy.wsgi --bind $(HOST):$(PORT) --workers 2 --access-logfile -

worker: $(STAMP)
	$(VENV)/bin/celery -A readerstudy worker -B -Q $(or $(QUEUES),default,gpu) --loglevel INFO

clean:
	rm -rf $(VENV) var/static var/broker
