# Every target creates the virtualenv first, so each works on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
EMULATOR_PORT ?= 8000
EMULATOR_ARGS ?=
export PYTHONPATH := $(CURDIR)

.PHONY: venv test lint emulator clean

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt include/airflow-provider-jdcloud/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

venv: $(VENV)/.installed

test: venv
	$(PY) -m pytest

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

emulator: venv
	$(PY) -m include.jdcloud_emulator --port $(EMULATOR_PORT) $(EMULATOR_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache reports
