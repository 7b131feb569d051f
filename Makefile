# One entry point for people and CI. Everything runs inside .venv, created
# from nothing on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CORES ?= 2
STAMP := $(VENV)/.installed

.PHONY: setup test run report bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,workflow]'
	touch $(STAMP)

setup: $(STAMP)

## test: set up and run the whole test suite (unit, statistical, workflow)
test: $(STAMP)
	$(BIN)/python -m pytest -q

## run: set up and run the default sweep to the figures and the report
run: $(STAMP)
	$(BIN)/python -m snakemake --cores $(CORES)
	$(BIN)/python -m snakemake --cores $(CORES) --report results/report.html

## report: the Snakemake report of a finished run
report: $(STAMP)
	$(BIN)/python -m snakemake --report results/report.html

## lint: Snakemake's linter and snakefmt
lint: $(STAMP)
	$(BIN)/python -m snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules

clean:
	rm -rf $(VENV) .snakemake .numba_cache

## bench: install the benchmark extra (torch==2.13.0) if missing, run the full
## benchmark (about 5 minutes), print the table, write benchmarks/results.csv
bench: $(STAMP)
	$(BIN)/python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null \
		|| $(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/run_benchmarks.py --out benchmarks/results.csv
