#!/usr/bin/env bash
# For development: starts the prebuilt worker (build/) once with fresh local D1 and KV, as
# scripts/run-tests.sh does, and runs only the API tests whose names contain FILTER (all without
# one). `make test` stays the one command that runs everything.
#   scripts/api-tests.sh [FILTER] [more cargo test args...]
# Env: TEST_PORT (default 8791), API_TEST_THREADS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/worker.sh

PORT="${TEST_PORT:-8791}"
STATE="$PWD/target/test-state-$PORT"
LOG="$PWD/target/test-worker-$PORT.log"
RUN_DIR="$PWD/target/test-run-$PORT"

worker_prepare "$RUN_DIR"
worker_migrate "$RUN_DIR/wrangler.toml" "$STATE"
trap worker_stop EXIT
# Short cookies of device-bound sessions last 5 s, as in scripts/run-tests.sh.
worker_start "$RUN_DIR/wrangler.toml" "$PORT" "$STATE" "$LOG" --test-scheduled --var BOUND_COOKIE_SECONDS:5
worker_wait "$PORT" 401 120
echo "==> worker up on http://127.0.0.1:$PORT (log: $LOG)"

export WEMASY_BASE_URL="http://127.0.0.1:$PORT" WEMASY_STATE_DIR="$STATE" WEMASY_WORKER_LOG="$LOG"
cargo test --test api -- --test-threads "${API_TEST_THREADS:-2}" "$@"
