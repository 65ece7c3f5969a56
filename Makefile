# The two commands of the README: `make dev` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
.DEFAULT_GOAL := dev

export PATH := $(HOME)/.cargo/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export WASM_BINDGEN_BIN ?= $(HOME)/.cargo/bin/wasm-bindgen
export WASM_OPT_BIN ?= $(CURDIR)/node_modules/.bin/wasm-opt
export ESBUILD_BIN ?= $(CURDIR)/node_modules/.bin/esbuild
export WRANGLER_SEND_METRICS := false
export CLOUDFLARE_CF_FETCH_ENABLED := false

SOURCES := $(shell find src -name '*.rs') Cargo.toml Cargo.lock
WORKER := build/index.js

.DELETE_ON_ERROR:

.PHONY: dev test setup setup-test build migrate lint unit-test api-test bench deploy-check clean

## make dev: install what is missing, build, migrate local D1, check that .dev.vars' SECRET_KEY
## fits the local data, serve on http://127.0.0.1:8787
dev: setup build migrate
	node scripts/check-secret-key.mjs
	wrangler dev --ip 127.0.0.1 --port 8787

## make test: lint, host unit tests, then API and browser tests against one local worker
test: setup-test build lint unit-test
	scripts/run-tests.sh
	scripts/deploy-check.sh

setup:
	@scripts/setup.sh

setup-test:
	@scripts/setup.sh test

# WEMASY_PREBUILT=1 makes the [build] step of wrangler.toml a no-op (deploy-check, bench run the
# worker that was built once at their start).
ifdef WEMASY_PREBUILT
build: ;
else
build: $(WORKER)
endif

# wasm-opt as worker-build would run it (same feature set, so nothing newer than workerd reads is
# emitted), but without --debuginfo: names are dropped to keep the gzip'd bundle under 512 KiB.
WASM_FEATURES := mutable-globals sign-ext nontrapping-float-to-int bulk-memory multivalue \
	reference-types exception-handling
$(WORKER): $(SOURCES)
	worker-build --release
	$(WASM_OPT_BIN) -O --strip-debug --strip-producers $(addprefix --enable-,$(WASM_FEATURES)) \
		build/index_bg.wasm -o build/index_bg.wasm
	@touch $(WORKER)

migrate:
	wrangler d1 migrations apply DB --local

lint:
	cargo fmt --check
	cargo clippy --target wasm32-unknown-unknown --lib -- -D warnings
	cargo clippy --all-targets -- -D warnings

unit-test:
	cargo test --lib --test properties --test user_agents

bench: setup-test build
	scripts/bench.sh

## make deploy-check: `wrangler deploy --dry-run` (default + production), bundle size, migrations
deploy-check: setup-test build
	scripts/deploy-check.sh

clean:
	rm -rf build target/test-state-* target/test-run-* target/test-worker-*.log
