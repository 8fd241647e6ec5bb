# cohortkit — the two commands a newcomer needs are `make report` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
EXTRAS ?= dev
comma  := ,
STAMP  := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))
DATA   ?=

.PHONY: help install test report lab bench shop workshop clean

help:
	@echo "make report   execute every notebook on bundled data and render HTML into reports/"
	@echo "make test     run the test suite"
	@echo "make lab      open JupyterLab on notebooks/"
	@echo "make bench    run the benchmarks and write benchmarks/RESULTS.md"
	@echo "make shop     regenerate the bundled simulated shop data from its seed"
	@echo "make workshop build attendee and instructor notebooks into workshop/"

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[$(EXTRAS)]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (cohortkit)"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

report: $(STAMP)
	$(BIN)/python -m cohortkit._report --notebooks notebooks --out reports $(if $(DATA),--data "$(DATA)",)

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

shop: $(STAMP)
	$(BIN)/python -m cohortkit.simulate --write data/shop

workshop: $(STAMP)
	$(BIN)/python -m cohortkit.workshop --notebooks notebooks --out workshop

clean:
	rm -rf reports build workshop .pytest_cache
