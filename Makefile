# The two commands: `make dev` runs the whole system locally, `make test` tests everything.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
EMULATOR_STAMP := $(VENV)/.emulator.stamp
SCHEMA_VENV := .venv-schema
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SCHEMA_STAMP := $(SCHEMA_VENV)/.schemathesis.stamp
WEB_STAMP := web/node_modules/.installed.stamp
# `make token USER=admin-1`; the shell's own $USER is not a seeded user.
TOKEN_USER := $(if $(filter command line,$(origin USER)),$(USER),resident-1)

.PHONY: help web web-types chromium dev test token search-rebuild emulator tools lint sam-build fmt clippy unit emulator-check e2e schema schemathesis bench coldstart load chaos

help:
	@echo "make dev                 run the whole system locally (emulator, tables, seed, API and web client on :3000)"
	@echo "make test                every check and test: fmt, clippy, template lint, unit, end-to-end (browser included), schema"
	@echo "make web                 build the web client into web/dist (make dev does)"
	@echo "make web-types           write web/openapi.json again from the API (the client's types come from it)"
	@echo "make schema              schemathesis against GET /openapi.json of a local stack (part of make test)"
	@echo "make token USER=admin-1  print a local bearer token for a seeded user"
	@echo "make search-rebuild ORG=demo  build an org's search index again from the table (of make dev)"
	@echo "make sam-build           build the arm64 Lambda binaries with sam build (cargo-lambda)"
	@echo "make bench               per-route latency and DynamoDB round trips; writes BENCHMARKS.md"
	@echo "make load                concurrent residents and staff for 30 s; checks nothing is lost or duplicated"
	@echo "make chaos               the same load with AWS cut off twice (whole emulator, SQS only)"
	@echo "make coldstart           cold start of every Lambda binary under a local Lambda Runtime API"

dev: emulator web
	cargo run -p infra --bin devstack

token:
	@cargo run -q -p infra --bin devtoken -- $(TOKEN_USER)

search-rebuild:
	@cargo run -q -p infra --bin searchrebuild -- $(or $(ORG),demo)

# The emulator, pinned, in the repository's venv (the stamp re-installs when the pin changes).
emulator: $(EMULATOR_STAMP)
$(EMULATOR_STAMP): infra/requirements-emulator.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r infra/requirements-emulator.txt
	@touch $@

# Schemathesis, pinned with its dependencies, in its own venv (the stamp re-installs when the pin changes).
schemathesis: $(SCHEMA_STAMP)
$(SCHEMA_STAMP): infra/requirements-schemathesis.txt
	@test -x $(SCHEMA_VENV)/bin/python || python3 -m venv $(SCHEMA_VENV)
	$(SCHEMA_VENV)/bin/python -m pip install --disable-pip-version-check -q -r infra/requirements-schemathesis.txt
	@touch $@

tools: emulator
	infra/template-tools.sh install

test: fmt clippy lint unit emulator-check e2e schema

fmt:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

lint: tools
	infra/template-tools.sh lint

unit:
	cargo test --workspace --exclude e2e

# infra/emulator.py answers as plain moto does: the same random calls to both, compared
# (EMULATOR_CHECK_STEPS, default 1500; EMULATOR_CHECK_SEED, default 1, so that CI repeats itself).
emulator-check: emulator
	$(PY) infra/emulator_check.py $(or $(EMULATOR_CHECK_STEPS),1500) $(or $(EMULATOR_CHECK_SEED),1)

e2e: emulator web chromium
	cargo test -p e2e

# Generated requests from openapi.json against a local stack, as a resident and as an admin:
# no 5xx, and every answer documented (status, content type, schema, headers). SCHEMA_MAX_EXAMPLES.
schema: emulator schemathesis
	cargo run -q -p infra --bin schemacheck

sam-build: tools web
	infra/template-tools.sh build

# The web client: its packages (pinned by web/package-lock.json, installed again when it
# changes), its API types generated
# from web/openapi.json, type-checked and built into web/dist (served at / by make dev).
web: $(WEB_STAMP)
	cd web && npm run build
$(WEB_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# web/openapi.json again from the API's handlers (a unit test fails while it is stale).
web-types:
	cargo run -q -p infra --bin openapi > web/openapi.json.new && mv web/openapi.json.new web/openapi.json

# Debian's chromium for the browser test (browsers cannot be downloaded here).
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

# Per-route latency, measured DynamoDB round trips and own overhead; writes BENCHMARKS.md.
bench: emulator
	cargo run --release -p infra --bin bench

# Cold start of every function binary (release, host) under a local Lambda Runtime API
# against the emulator; builds the binaries first. COLDSTART_N starts each (default 20).
coldstart: emulator
	cargo run --release -p infra --bin coldstart

# Concurrent residents and staff for LOAD_SECS (default 30) with LOAD_CONCURRENCY users
# (default 16), then checks that every acknowledged message is stored once, in order, and
# notified once. Exits non-zero on FAIL.
load: emulator
	cargo run -p infra --bin load

# The same load (LOAD_SECS default 40) while the API's way to AWS is cut twice for
# CHAOS_OUTAGE_SECS (default 5): the whole emulator, then SQS only.
chaos: emulator
	cargo run -p infra --bin chaos
