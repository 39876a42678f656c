# The two commands of the README: `make report` and `make test`. Each sets itself up from nothing
# but Python 3.11+ (a virtual environment in .venv, the project installed into it, the Jupyter
# kernel registered inside it).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STORE  ?= data/warehouse.duckdb
SYNTH  ?= data/synthetic

LINT   := kpi tests benchmarks notebooks

.PHONY: report test lab lint format setup setup-test git-filters browser postgres bench clean

# report.html, and report.pdf beside it when a Chromium is found (`make browser` installs Debian's; kpi report says
# when it skipped the PDF for want of one)
report: $(VENV)/.installed git-filters
	$(BIN)/kpi report --data $(SYNTH) --store $(STORE)

# JupyterLab for analysts: the project's kernel, $(STORE) as the notebooks' store, and working copies of
# notebooks/explore in output/explore (git ignores it; copies already there are kept): kpi lab --dry-run shows how.
# JupyterLab's own options in LAB_ARGS (make lab LAB_ARGS="--port 8890 --no-browser").
lab: $(VENV)/.installed git-filters
	$(BIN)/kpi lab --store $(STORE) --dir output/explore$(if $(LAB_ARGS), -- $(LAB_ARGS))

# The suite on as many workers as cores, each test file on one (a notebook's cells run in order in one kernel).
test: $(VENV)/.installed-test git-filters browser postgres
	$(BIN)/ruff check $(LINT)
	$(BIN)/ruff format --check $(LINT)
	$(BIN)/python -m pytest -n auto --dist loadfile

setup: $(VENV)/.installed git-filters
setup-test: $(VENV)/.installed-test git-filters

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

# Outputs of notebooks never reach git: .gitattributes sends every notebook through nbstripout (a project
# dependency) as it is staged, and shows diffs without outputs; this sets that filter up in the clone.
# `required` makes git refuse to stage a notebook when the filter cannot run, rather than stage it whole.
NBSTRIPOUT = '$(abspath $(BIN))/python' -m nbstripout --keep-id
git-filters:
	@if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then \
	  git config filter.nbstripout.clean "$(NBSTRIPOUT)" && \
	  git config filter.nbstripout.smudge cat && \
	  git config filter.nbstripout.required true && \
	  git config diff.ipynb.textconv "$(NBSTRIPOUT) -t"; \
	fi

# The browser tests and the report's PDF (kpi run --pdf) drive Debian's chromium (Playwright's own browser download
# is not used).
browser:
	@command -v chromium > /dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium > /dev/null; }

# The SQL reader's tests start a real PostgreSQL server on loopback (tests/postgres.py): Debian's package.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb > /dev/null 2>&1 || command -v initdb > /dev/null 2>&1 || { \
	  echo "installing Debian's postgresql for the SQL reader's tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql > /dev/null; }

lint: $(VENV)/.installed-test
	$(BIN)/ruff check $(LINT)

format: $(VENV)/.installed-test
	$(BIN)/ruff format $(LINT)
	$(BIN)/ruff check --fix $(LINT)

bench: $(VENV)/.installed-test report
	$(BIN)/python benchmarks/bench_synth_load.py
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_report.py --store $(STORE)

clean:
	rm -rf $(VENV) $(SYNTH) $(STORE) $(STORE).check $(STORE).wal $(STORE).*.tmp data/*-rejects-*.csv
