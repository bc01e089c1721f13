# Two commands set everything up on a fresh machine (Python 3.11, make and the package registries):
#   make demo   install, build the default synthetic borough, link its records and build its features
#   make test   install and run the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv

# All state (boroughs, MLflow, the application database, secrets) lives under UPSTREAM_HOME.
export UPSTREAM_HOME ?= $(CURDIR)/.upstream
export UV_PYTHON_DOWNLOADS := never
export BENTOML_DO_NOT_TRACK := true
export MLFLOW_DISABLE_TELEMETRY := true
BOROUGH ?= $(UPSTREAM_HOME)/borough
LINKS ?= $(UPSTREAM_HOME)/links.parquet
MATRIX ?= $(UPSTREAM_HOME)/features.parquet

.PHONY: install demo test bench docs clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

install: $(UV)
	$(UV) sync --frozen

demo: install
	$(VENV)/bin/upstream synth --out $(BOROUGH) --report
	$(VENV)/bin/upstream validate --data $(BOROUGH)
	$(VENV)/bin/upstream link --data $(BOROUGH) --out $(LINKS)
	$(VENV)/bin/upstream features --data $(BOROUGH) --links $(LINKS) --out $(MATRIX)

test: install
	$(VENV)/bin/pytest

bench: install
	$(VENV)/bin/python -m bench.synth
	test -f $(LINKS) || $(MAKE) demo
	$(VENV)/bin/python -m bench.features --data $(BOROUGH) --links $(LINKS)

docs: install
	$(VENV)/bin/upstream docs

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache
