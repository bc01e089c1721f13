# Two commands set everything up on a fresh machine (Python 3.11, make and the package registries):
#   make demo   install, build the default synthetic borough, link its records, build its features and
#               train, validate and register both models in MLflow, report on their fairness and
#               approve them as a demo (marked so; a real ethics board reads the report first), write
#               the latest month's risk lists and serve them (API and dashboard) on 127.0.0.1:3000
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
SERVE_HOST ?= 127.0.0.1
SERVE_PORT ?= 3000
# `make demo DEMO_SERVE=no` stops before serving (what `make bench` needs)
DEMO_SERVE ?= yes
# The feature build's latest month, and its highest-risk household (for the demo's sample request)
LATEST_MONTH = $(VENV)/bin/python -c "import pyarrow.parquet as pq, pyarrow.compute as pc; \
  print(pc.max(pq.read_table('$(MATRIX)', columns=['as_of']).column(0)).as_py().date())"
SAMPLE_UPRN = $(VENV)/bin/python -c "from serving import risk_lists; print(risk_lists.read('$$($(LATEST_MONTH))', 'homelessness')['uprn'].iat[0])"
# The dashboard's GOV.UK and MOJ Frontend (and axe-core for its tests), from npm; reinstalled when the lock changes.
DASHBOARD_ASSETS := serving/dashboard/node_modules/.package-lock.json

.PHONY: install demo test bench docs mlflow-ui clean bento

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(DASHBOARD_ASSETS): serving/dashboard/package-lock.json
	npm ci --prefix serving/dashboard --no-audit --no-fund

install: $(UV) $(DASHBOARD_ASSETS)
	@# Bytecode compiled once here (13 s): where Python may not write it (PYTHONDONTWRITEBYTECODE, as in CI), every
	@# process compiled its imports again: `upstream --help` took 1.6 s, not 0.6
	$(UV) sync --frozen --compile-bytecode
	@# Debian's Chromium for the dashboard's browser tests (never `playwright install`: it downloads)
	command -v chromium >/dev/null || apt-get install -y chromium || (apt-get update && apt-get install -y chromium)

demo: install
	$(VENV)/bin/upstream synth --out $(BOROUGH) --report
	$(VENV)/bin/upstream validate --data $(BOROUGH)
	$(VENV)/bin/upstream link --data $(BOROUGH) --out $(LINKS)
	$(VENV)/bin/upstream features --data $(BOROUGH) --links $(LINKS) --out $(MATRIX)
	$(VENV)/bin/upstream train --data $(BOROUGH) --features $(MATRIX) --target homelessness
	$(VENV)/bin/upstream train --data $(BOROUGH) --features $(MATRIX) --target fuel_poverty
	for target in homelessness fuel_poverty; do \
	  $(VENV)/bin/upstream report --data $(BOROUGH) --features $(MATRIX) --target $$target \
	    --out $(UPSTREAM_HOME)/reports/$$target && \
	  $(VENV)/bin/upstream approve --model $$target --version latest --decision approve --demo \
	    --by "Demo ethics board" --note "DEMO ONLY: approved by make demo on synthetic data, unread" || exit 1; \
	done
	@echo "Runs and registered models: make mlflow-ui, then open http://127.0.0.1:5000"
	$(VENV)/bin/upstream score --data $(BOROUGH) --features $(MATRIX) --as-of $$($(LATEST_MONTH))
	$(VENV)/bin/python -m serving.dashboard.demo --data $(BOROUGH) --features $(MATRIX) --url http://$(SERVE_HOST):$(SERVE_PORT)/ui/
	@# Last: the service, in the foreground (Ctrl-C stops it), with a token made for the demo only
	@token=$$($(VENV)/bin/upstream tokens create --name "DEMO ONLY: make demo" --role service | tail -1) && \
	  month=$$($(LATEST_MONTH)) && uprn=$$($(SAMPLE_UPRN)) && \
	  echo "" && echo "DEMO ONLY service token (made by make demo; create real ones with upstream tokens create):" && \
	  echo "  $$token" && echo "The service: http://$(SERVE_HOST):$(SERVE_PORT)  (API document: /docs.json)" && \
	  echo "Try: curl -s -H 'Authorization: Bearer $$token' -H 'Content-Type: application/json' \\" && \
	  echo "  -d '{\"target\": \"homelessness\", \"households\": [{\"uprn\": \"$$uprn\", \"as_of\": \"$$month\"}]}' \\" && \
	  echo "  http://$(SERVE_HOST):$(SERVE_PORT)/score"
	test "$(DEMO_SERVE)" = no || $(VENV)/bin/upstream serve --host $(SERVE_HOST) --port $(SERVE_PORT) --features $(MATRIX)

# MLflow's own UI over the project's store, $MLFLOW_TRACKING_URI or SQLite under UPSTREAM_HOME, as every command
# resolves it (artifacts are found through each experiment's fixed location).
mlflow-ui: install
	$(VENV)/bin/mlflow ui --host 127.0.0.1 --port 5000 --backend-store-uri \
	  "$$($(VENV)/bin/python -c 'from upstream.config import tracking_uri; print(tracking_uri())')"

test: install
	$(VENV)/bin/pytest

bench: install
	$(VENV)/bin/python -m bench.synth
	test -f $(LINKS) || $(MAKE) demo DEMO_SERVE=no
	$(VENV)/bin/python -m bench.features --data $(BOROUGH) --links $(LINKS)
	$(VENV)/bin/python -m bench.models
	$(VENV)/bin/python -m bench.serving --features $(MATRIX)

docs: install
	$(VENV)/bin/upstream docs

# A Bento of the service (bentofile.yaml), its requirements exported from uv.lock
bento: install
	$(UV) export --frozen --no-dev --no-hashes --no-emit-project -q -o bento-requirements.txt
	PATH=$(CURDIR)/$(TOOLS)/bin:$$PATH $(VENV)/bin/bentoml build; status=$$?; rm -f bento-requirements.txt; exit $$status

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache
