# Linli front door: make run | test | lint | proto | bench | lock
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
NODE := node_modules/.bin/buf
UV_VERSION := 0.13.9
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
API_OUT := libs/linli-api/src
PROTOS := $(shell find proto -name '*.proto')
STAMP := $(VENV)/.installed
THIRD_PARTY := $(VENV)/.third-party
GATEWAY := services/gateway/src/linli_gateway
GATEWAY_LOCALES := zh_CN en
GATEWAY_MO := $(foreach l,$(GATEWAY_LOCALES),$(GATEWAY)/locale/$(l)/LC_MESSAGES/messages.mo)
CHROMIUM ?= /usr/bin/chromium

.PHONY: help install proto run token test test-unit fuzz chaos lint bench lock clean \
	gateway-vendor gateway-messages gateway-mo

include deploy/images.mk

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet uv==$(UV_VERSION)

# Third-party packages first (grpcio-tools generates the code), then the generated code, then
# the workspace members; each step has its own stamp so that every target works from nothing.
$(THIRD_PARTY): requirements.lock $(UV)
	grep -v '^-e ' requirements.lock > $(VENV)/third-party.txt
	$(UV) pip install --python $(PY) --quiet -r $(VENV)/third-party.txt
	touch $@

$(STAMP): $(THIRD_PARTY) $(API_OUT)/.stamp $(wildcard libs/*/pyproject.toml services/*/pyproject.toml)
	$(UV) pip install --python $(PY) --quiet --no-deps $$(grep '^-e ' requirements.lock | tr '\n' ' ')
	touch $(STAMP)

install: $(STAMP) ## Install everything into .venv from requirements.lock

$(API_OUT)/.stamp: $(PROTOS) $(THIRD_PARTY)
	rm -rf $(API_OUT) && mkdir -p $(API_OUT)
	$(PY) -m grpc_tools.protoc -I proto --python_out=$(API_OUT) --grpc_python_out=$(API_OUT) \
		--plugin=protoc-gen-mypy=$(VENV)/bin/protoc-gen-mypy --mypy_out=quiet:$(API_OUT) \
		--plugin=protoc-gen-mypy_grpc=$(VENV)/bin/protoc-gen-mypy_grpc --mypy_grpc_out=quiet:$(API_OUT) \
		$(PROTOS)
	touch $@

proto: $(API_OUT)/.stamp ## Generate libs/linli-api from proto/

run: $(STAMP) $(GATEWAY_MO) ## Start every service locally on SQLite + embedded Redis, with a demo community
	$(PY) -m linli_kit.localstack

PHONE ?= 13800000002
token: $(STAMP) ## Print a demo user's access token (PHONE=13800000001 for the social worker)
	@$(PY) -m linli_kit.localstack token $(PHONE)

test: $(STAMP) $(NODE) $(GATEWAY_MO) ## Unit and integration tests against PostgreSQL and Redis
	@command -v $(CHROMIUM) >/dev/null || { echo "make test needs Debian's chromium at $(CHROMIUM) for the gateway's browser tests: apt-get install chromium" >&2; exit 1; }
	$(PY) -m pytest

test-unit: $(STAMP) ## Unit tests only (no servers needed)
	$(PY) -m pytest -m "not integration"

fuzz: $(STAMP) ## Every RPC fuzzed long: 1,000 examples per RPC and pass (LINLI_FUZZ_EXAMPLES; make test: 25)
	LINLI_FUZZ_EXAMPLES=$${LINLI_FUZZ_EXAMPLES:-1000} $(PY) -m pytest tests/fuzz -o timeout=1800

chaos: $(STAMP) ## The time bank: 200 transfers among 3 communities, faults at every step (LINLI_TIMEBANK_SEED replays)
	LINLI_TIMEBANK_CHAOS=1 $(PY) -m pytest tests/integration/test_timebank.py -k chaos -s -o timeout=1800

lint: $(STAMP) $(NODE) ## ruff, mypy, import contracts, buf lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy libs/linli-kit/src services/*/src
	$(VENV)/bin/lint-imports --no-cache
	node_modules/.bin/buf lint

$(NODE): package.json package-lock.json
	npm ci --silent
	touch $@

# The gateway's vendored htmx 2, its SSE extension and jsQR (committed: the image is built without
# npm) and its gettext catalogues (.po edited by people, .mo compiled by Babel, committed for
# the same reason; a unit test fails when they differ from the .po).
gateway-vendor: $(NODE) ## Copy htmx 2, htmx-ext-sse 2 and jsQR from node_modules into the gateway's static/
	cp node_modules/htmx.org/dist/htmx.min.js $(GATEWAY)/static/vendor/htmx.min.js
	cp node_modules/htmx-ext-sse/dist/sse.min.js $(GATEWAY)/static/vendor/htmx-ext-sse.js
	cp node_modules/jsqr/dist/jsQR.js $(GATEWAY)/static/vendor/jsqr.js

gateway-messages: $(STAMP) ## Extract the gateway's messages and merge them into its .po catalogues
	$(VENV)/bin/pybabel -q extract -F services/gateway/babel.cfg -k N_ --no-location --sort-output \
		--omit-header -o services/gateway/messages.pot services/gateway
	$(VENV)/bin/pybabel -q update -i services/gateway/messages.pot -d $(GATEWAY)/locale \
		--no-fuzzy-matching --ignore-obsolete --no-wrap

$(GATEWAY)/locale/%/LC_MESSAGES/messages.mo: $(GATEWAY)/locale/%/LC_MESSAGES/messages.po | $(THIRD_PARTY)
	$(VENV)/bin/pybabel -q compile -d $(GATEWAY)/locale -l $*

gateway-mo: $(GATEWAY_MO) ## Compile the gateway's catalogues

bench: $(STAMP) ## Benchmarks (ratios against a baseline in the same run)
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lock: $(UV) ## Re-resolve dependencies and export requirements.lock
	$(UV) lock --python $(PYTHON)
	$(UV) export --no-hashes --no-header --no-annotate --all-groups --format requirements-txt > requirements.lock

clean: ## Remove the virtualenv, generated code and local run data
	rm -rf $(VENV) $(API_OUT) .run node_modules
