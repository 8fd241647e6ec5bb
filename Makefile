# cohortkit — the two commands a newcomer needs are `make report` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
EXTRAS ?= dev
comma  := ,
STAMP  := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))
# make report: your data instead of the bundled shop, passed to every notebook that has the matching
# papermill parameter (data_path, customer_col, date_col, amount_col, campaign_col, customers_path,
# campaigns_path, lang). LANG is taken only from the command line (the shell's LANG is a locale).
DATA         ?=
CUSTOMER_COL ?=
DATE_COL     ?=
AMOUNT_COL   ?=
CAMPAIGN_COL ?=
CUSTOMERS    ?=
CAMPAIGNS    ?=
JOBS         ?= 2
# the edition: English by default, LANG=ja on the command line for Japanese (into reports/ja, workshop/ja)
EDITION      := $(if $(filter command line,$(origin LANG)),$(LANG),en)
EDITION_DIR  := $(if $(filter-out en,$(EDITION)),/$(EDITION))
# The lock: the exact version of every dependency (runtime and all extras, every Python >= 3.11 and
# platform), which `make install` installs with `pip install -c`. `make lock` remakes it with the uv
# pinned in requirements/tools.txt. LOCK_DATE is uv's --exclude-newer cut-off (releases uploaded after
# it are ignored), so the same command gives the same lock on any day. 2026-11-22 is the day the bundled
# data/shop was generated (commit 74bf52f): under this lock `make shop` reproduces it byte for byte.
# Moving LOCK_DATE later (`make lock LOCK_DATE=2027-01-31T00:00:00Z`) may change the last digit of
# floats in data/shop: run `make test`, and `make shop` if the byte comparison there says so.
LOCK      := requirements/constraints.txt
TOOLS     := requirements/tools.txt
LOCK_DATE ?= 2026-11-22T00:00:00Z
LOCK_ARGS := --all-extras --universal --python-version 3.11 --exclude-newer $(LOCK_DATE)
LATEST    ?= .venv-latest

.PHONY: help install test test-latest lock report lab bench shop workshop clean

help:
	@echo "make report   execute every notebook on bundled data and render HTML into reports/"
	@echo "              (LANG=ja: the Japanese edition into reports/ja/)"
	@echo "make test     run the test suite"
	@echo "make lab      open JupyterLab on notebooks/"
	@echo "make bench    run the benchmarks and write benchmarks/RESULTS.md"
	@echo "make shop     regenerate the bundled simulated shop data from its seed"
	@echo "make workshop build attendee and instructor notebooks into workshop/"
	@echo "make lock     remake $(LOCK) (exact versions that make install uses) with uv"
	@echo "make test-latest  run the tests in $(LATEST) on the newest releases, without the lock"

$(STAMP): pyproject.toml $(LOCK) $(TOOLS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -c $(TOOLS) pip
	$(BIN)/python -m pip install -c $(LOCK) -e ".[$(EXTRAS)]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (cohortkit)"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

# Drift check: the newest releases, no lock, in a venv of its own (the kernel is registered inside it).
test-latest:
	test -x $(LATEST)/bin/python || $(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --upgrade pip
	$(LATEST)/bin/python -m pip install --upgrade --upgrade-strategy eager -e ".[$(EXTRAS)]"
	$(LATEST)/bin/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (cohortkit)"
	$(LATEST)/bin/python -m pip list
	$(LATEST)/bin/python -m pytest

lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -c $(TOOLS) pip uv
	{ echo "# The lock: exact versions of cohortkit's dependencies, runtime and every extra (notebooks, test,"; \
	  echo "# dev, spark), for Python >= 3.11 on every platform (markers pick the line that applies)."; \
	  echo "# make install runs pip install -c $(LOCK). Made by make lock (uv from $(TOOLS));"; \
	  echo "# --exclude-newer (LOCK_DATE in the Makefile) ignores later releases, so it can be remade identically."; \
	  echo "# Do not edit by hand: change pyproject.toml or LOCK_DATE and run make lock."; \
	  $(BIN)/uv pip compile pyproject.toml $(LOCK_ARGS) --quiet; } > $(LOCK).tmp
	cmp -s $(LOCK).tmp $(LOCK) && rm $(LOCK).tmp || mv $(LOCK).tmp $(LOCK)

report: $(STAMP)
	$(BIN)/python -m cohortkit._report --notebooks notebooks --out reports$(EDITION_DIR) --jobs $(JOBS) \
	    $(if $(DATA),--data "$(DATA)") $(if $(CUSTOMER_COL),--customer-col "$(CUSTOMER_COL)") \
	    $(if $(DATE_COL),--date-col "$(DATE_COL)") $(if $(AMOUNT_COL),--amount-col "$(AMOUNT_COL)") \
	    $(if $(CAMPAIGN_COL),--campaign-col "$(CAMPAIGN_COL)") $(if $(CUSTOMERS),--customers "$(CUSTOMERS)") \
	    $(if $(CAMPAIGNS),--campaigns "$(CAMPAIGNS)") \
	    $(if $(filter-out en,$(EDITION)),--lang "$(EDITION)")

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $$(test "$$(id -u)" -eq 0 && echo --allow-root)

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

shop: $(STAMP)
	$(BIN)/python -m cohortkit.simulate --write data/shop

workshop: $(STAMP)
	$(BIN)/python -m cohortkit.workshop --notebooks notebooks --out workshop$(EDITION_DIR) --lang "$(EDITION)"

clean:
	rm -rf reports build workshop .pytest_cache
