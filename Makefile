# The two commands a newcomer needs are `make demo` and `make test`; the rest are for developers.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install test lint unit eval clean-db

$(STAMP): pyproject.toml constraints.txt scripts/install_system_packages.sh
	bash scripts/install_system_packages.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24"
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make test: the whole suite (what CI runs): lint, types, then pytest on real PostgreSQL
test: install
	$(PY) scripts/ensure_postgres.py >/dev/null
	$(MAKE) --no-print-directory lint
	$(VENV)/bin/pytest -n 2 --dist loadfile

lint: install
	$(VENV)/bin/ruff check plugins dags tests scripts
	$(VENV)/bin/ruff format --check plugins dags tests scripts
	$(VENV)/bin/mypy

## make unit: tests that need no database or servers
unit: install
	$(VENV)/bin/pytest -m "not integration and not airflow"

## make eval: the detector's precision and recall on the labelled dev corpus
eval: install
	$(VENV)/bin/sinorus eval ../shared/eval/dev.jsonl

## make bench: pipeline benchmarks on a loopback replay (SIZE=tiny|small|medium|large; default medium)
SIZE ?= medium
.PHONY: bench
bench: install
	$(PY) scripts/ensure_postgres.py >/dev/null
	$(PY) -m benchmarks.run --size $(SIZE)

.PHONY: demo airflow

## make demo: ingest + alerts DAGs through Airflow on the offline sample (loopback only), printed
demo: install
	$(PY) scripts/demo.py

## make airflow: Airflow standalone with these DAGs on http://127.0.0.1:8080 (Ctrl-C stops it)
airflow: install
	scripts/airflow_standalone.sh

## make fuzz: fuzz the feed-to-article path for FUZZ_SECONDS (default 600); CI runs a small budget
FUZZ_SECONDS ?= 600
.PHONY: fuzz
fuzz: install
	$(PY) scripts/fuzz.py --seconds $(FUZZ_SECONDS)
