# The two commands of the README: `make report` and `make test`. Each sets itself up from nothing
# but Python 3.11+ (a virtual environment in .venv, the project installed into it, the Jupyter
# kernel registered inside it).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STORE  ?= data/warehouse.duckdb
SYNTH  ?= data/synthetic

.PHONY: report test lint format setup setup-test bench clean

report: $(VENV)/.installed
	$(BIN)/kpi report --data $(SYNTH) --store $(STORE)

test: $(VENV)/.installed-test
	$(BIN)/ruff check kpi tests benchmarks
	$(BIN)/ruff format --check kpi tests benchmarks
	$(BIN)/python -m pytest

setup: $(VENV)/.installed
setup-test: $(VENV)/.installed-test

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (csc-kpi-workbook)" > /dev/null
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

lint: $(VENV)/.installed-test
	$(BIN)/ruff check kpi tests benchmarks

format: $(VENV)/.installed-test
	$(BIN)/ruff format kpi tests benchmarks
	$(BIN)/ruff check --fix kpi tests benchmarks

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench_synth_load.py
	$(BIN)/python benchmarks/bench_engine.py

clean:
	rm -rf $(VENV) $(SYNTH) $(STORE) data/*-rejects-*.csv
