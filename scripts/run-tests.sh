#!/usr/bin/env bash
# Starts the prebuilt worker once, in real workerd with fresh local D1 and KV, and runs the API
# tests and then the browser tests against it over HTTP. The worker's log is checked for panics.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${TEST_PORT:-8790}"
STATE="$PWD/target/test-state-$PORT"
LOG="$PWD/target/test-worker-$PORT.log"
BASE_URL="http://127.0.0.1:$PORT"

# The worker under test is a copy of this build, with a config without [build]: edits to the
# sources or a rebuild while the tests run cannot restart or change it.
RUN_DIR="$PWD/target/test-run-$PORT"
rm -rf "$STATE" "$RUN_DIR"
mkdir -p "$STATE" "$RUN_DIR"
# A dev registry of its own: other `wrangler dev` instances on this machine (make dev, a bench)
# register there by default, and their starts and stops made this worker restart mid-request.
export WRANGLER_REGISTRY_PATH="$RUN_DIR/registry"
cp -r build public migrations .dev.vars "$RUN_DIR/"
sed '/^\[build\]/,/^$/d' wrangler.toml >"$RUN_DIR/wrangler.toml"
wrangler d1 migrations apply DB --local --persist-to "$STATE" >/dev/null

(cd "$RUN_DIR" && exec wrangler dev --ip 127.0.0.1 --port "$PORT" --persist-to "$STATE" \
  --show-interactive-dev-session=false --log-level log --test-scheduled) >"$LOG" 2>&1 &
WORKER_PID=$!
cleanup() { kill "$WORKER_PID" 2>/dev/null || true; wait "$WORKER_PID" 2>/dev/null || true; }
trap cleanup EXIT

answers() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE_URL/api/me")" = 401 ]; }
for _ in $(seq 1 240); do
  answers && break
  kill -0 "$WORKER_PID" 2>/dev/null || { cat "$LOG"; echo "worker exited before answering"; exit 1; }
  sleep 0.5
done
answers || { cat "$LOG"; echo "worker did not answer on $BASE_URL"; exit 1; }
echo "==> worker up on $BASE_URL"

export WEMASY_BASE_URL="$BASE_URL" WEMASY_STATE_DIR="$STATE" WEMASY_WORKER_LOG="$LOG"
# Every suite runs even if an earlier one failed; the script fails if any did.
failed=()
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
