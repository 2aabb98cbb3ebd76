# Linli front door: make run | test | lint | proto | bench | lock
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
UV_VERSION := 0.13.9
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
API_OUT := libs/linli-api/src
PROTOS := $(shell find proto -name '*.proto')
STAMP := $(VENV)/.installed
THIRD_PARTY := $(VENV)/.third-party

.PHONY: help install proto run token test test-unit fuzz lint bench lock clean

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

run: $(STAMP) ## Start every service locally on SQLite + embedded Redis, with a demo community
	$(PY) -m linli_kit.localstack

PHONE ?= 13800000002
token: $(STAMP) ## Print a demo user's access token (PHONE=13800000001 for the social worker)
	@$(PY) -m linli_kit.localstack token $(PHONE)

test: $(STAMP) ## Unit and integration tests against PostgreSQL and Redis
	$(PY) -m pytest

test-unit: $(STAMP) ## Unit tests only (no servers needed)
	$(PY) -m pytest -m "not integration"

fuzz: $(STAMP) ## Every RPC fuzzed long: 1,000 examples per RPC and pass (LINLI_FUZZ_EXAMPLES; make test: 25)
	LINLI_FUZZ_EXAMPLES=$${LINLI_FUZZ_EXAMPLES:-1000} $(PY) -m pytest tests/fuzz -o timeout=1800

lint: $(STAMP) node_modules/.bin/buf ## ruff, mypy, import contracts, buf lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy libs/linli-kit/src services/*/src
	$(VENV)/bin/lint-imports --no-cache
	node_modules/.bin/buf lint

node_modules/.bin/buf: package.json package-lock.json
	npm ci --silent

bench: $(STAMP) ## Benchmarks (ratios against a baseline in the same run)
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lock: $(UV) ## Re-resolve dependencies and export requirements.lock
	$(UV) lock --python $(PYTHON)
	$(UV) export --no-hashes --no-header --no-annotate --all-groups --format requirements-txt > requirements.lock

clean: ## Remove the virtualenv, generated code and local run data
	rm -rf $(VENV) $(API_OUT) .run node_modules
