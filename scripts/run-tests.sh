#!/usr/bin/env bash
# Starts the prebuilt worker once, in real workerd with fresh local D1 and KV, and runs the API
# tests, the API fuzzing and then the browser tests against it over HTTP. The worker's log is
# checked for panics. First, the bench report's unit test (no worker). Env: TEST_PORT (default
# 8790), API_TEST_THREADS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/worker.sh

PORT="${TEST_PORT:-8790}"
STATE="$PWD/target/test-state-$PORT"
LOG="$PWD/target/test-worker-$PORT.log"
RUN_DIR="$PWD/target/test-run-$PORT"
BASE_URL="http://127.0.0.1:$PORT"

# Every suite runs even if an earlier one failed; the script fails if any did.
failed=()
node --test bench/report.test.mjs || failed+=("bench report unit test")

worker_prepare "$RUN_DIR"
worker_migrate "$RUN_DIR/wrangler.toml" "$STATE"
trap worker_stop EXIT
worker_start "$RUN_DIR/wrangler.toml" "$PORT" "$STATE" "$LOG" --test-scheduled
worker_wait "$PORT" 401 120
echo "==> worker up on $BASE_URL"

export WEMASY_BASE_URL="$BASE_URL" WEMASY_STATE_DIR="$STATE" WEMASY_WORKER_LOG="$LOG"
cargo test --test api -- --test-threads "${API_TEST_THREADS:-2}" || failed+=("API tests")
scripts/fuzz.sh "$BASE_URL" || failed+=("API fuzzing")
if ls tests/e2e/*.test.mjs >/dev/null 2>&1; then
  node --test --test-concurrency=1 tests/e2e/ || failed+=("browser tests")
fi

if grep -nE "panicked|RuntimeError|Uncaught" "$LOG"; then
  failed+=("worker log (panic or uncaught error)")
else
  echo "==> worker log clean"
fi
if [ ${#failed[@]} -gt 0 ]; then
  printf '==> FAILED: %s\n' "${failed[@]}"
  exit 1
fi
