# Start, wait for and stop the prebuilt worker (build/) in local workerd with `wrangler dev`.
# Sourced from the repository root by scripts/run-tests.sh (the API tests, fuzzing and browser
# tests all talk to the one worker it starts) and scripts/bench.sh:
#   worker_prepare DIR            DIR (emptied first) gets copies of build/, public/, migrations/,
#                                 .dev.vars and a wrangler.toml without [build]; exports a wrangler
#                                 dev registry of its own, DIR/registry
#   worker_migrate CONFIG STATE   fresh local D1/KV state in STATE with the D1 migrations applied
#   worker_start CONFIG PORT STATE LOG [wrangler dev args...]
#                                 `wrangler dev` in the background (sets WORKER_PID, WORKER_LOG),
#                                 with links in mails pointing at it (SITE_URL) and the tests'
#                                 `X-Test-Place` header on (TEST_PLACES; never in production), and
#                                 a local Pwned Passwords range server (PWNED_RANGE_URL; its
#                                 requests logged to PWNED_REQUESTS_LOG)
#   worker_wait PORT [STATUS] [SECONDS]
#                                 until GET /api/me answers STATUS (default 401; `any`: any
#                                 answer), at most SECONDS (default 120); sets WORKER_STARTUP_MS
#                                 (launch to answer); prints the log and fails if it does not
#   worker_stop                   ends the worker, if one runs (`trap worker_stop EXIT`)
# WORKER_POLL_SECONDS (default 0.1) is how often worker_wait asks.

WORKER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export PATH="$WORKER_ROOT/node_modules/.bin:$PATH" WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
WORKER_PID=""
RANGE_PID=""

# The worker runs a copy of build/ and a config without [build]: edits to the sources or a rebuild
# while it runs can neither restart nor change it (wrangler dev watches both).
worker_prepare() {
  local dir=$1
  [ -f "$WORKER_ROOT/build/index_bg.wasm" ] || { echo "build/ missing: run make build" >&2; return 1; }
  [ -f "$WORKER_ROOT/.dev.vars" ] || "$WORKER_ROOT/scripts/setup.sh"
  rm -rf "$dir"
  mkdir -p "$dir"
  (cd "$WORKER_ROOT" && cp -r build public migrations .dev.vars "$dir/")
  sed '/^\[build\]/,/^$/d' "$WORKER_ROOT/wrangler.toml" >"$dir/wrangler.toml"
  # Other `wrangler dev` instances on this machine (make dev, tests, a bench) register in the
  # default registry, and their starts and stops made this worker restart mid-request.
  export WRANGLER_REGISTRY_PATH="$dir/registry"
}

worker_migrate() {
  local config=$1 state=$2
  rm -rf "$state"
  mkdir -p "$state"
  wrangler d1 migrations apply DB --local --persist-to "$state" -c "$config" >/dev/null
}

# Not to be called in a $(...) subshell: WORKER_PID must reach worker_stop.
worker_start() {
  local config=$1 port=$2 state=$3
  WORKER_LOG=$4
  shift 4
  # Pwned Passwords' range API, served locally (scripts/pwned-range-server.mjs): this machine
  # reaches no outside service, and the tests need known ranges, a slow one and a down one.
  local range_port=$((port + 1000))
  PWNED_REQUESTS_LOG="${WORKER_LOG%.log}-pwned.log"
  rm -f "$PWNED_REQUESTS_LOG"
  node "$WORKER_ROOT/scripts/pwned-range-server.mjs" "$range_port" "$PWNED_REQUESTS_LOG" >/dev/null 2>&1 &
  RANGE_PID=$!
  export PWNED_REQUESTS_LOG
  WORKER_STARTED_NS=$(date +%s%N)
  # The devtools inspector on a port of its own (default 9229): two workers at once (a test
  # run and a bench, or a restart before the last one let go) would clash there and exit.
  (cd "$(dirname "$config")" && exec wrangler dev -c "$(basename "$config")" --ip 127.0.0.1 --port "$port" \
    --inspector-port "$((port + 20000))" --persist-to "$state" --show-interactive-dev-session=false \
    --log-level log --var "SITE_URL:http://127.0.0.1:$port" --var "TEST_PLACES:1" \
    --var "PWNED_RANGE_URL:http://127.0.0.1:$range_port/range/" "$@") >"$WORKER_LOG" 2>&1 &
  WORKER_PID=$!
}

worker_wait() {
  local port=$1 want=${2:-401} limit=${3:-120} code deadline
  deadline=$(($(date +%s) + limit))
  while :; do
    code=$(curl -s -o /dev/null --max-time 10 -w '%{http_code}' "http://127.0.0.1:$port/api/me" || true)
    if [ "$code" = "$want" ] || { [ "$want" = any ] && [ "$code" != 000 ]; }; then
      WORKER_STARTUP_MS=$((($(date +%s%N) - WORKER_STARTED_NS) / 1000000))
      return 0
    fi
    if ! kill -0 "$WORKER_PID" 2>/dev/null; then
      cat "$WORKER_LOG" >&2
      echo "worker exited before answering on port $port (log: $WORKER_LOG)" >&2
      return 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      cat "$WORKER_LOG" >&2
      echo "worker did not answer GET /api/me with $want on port $port within $limit s (last: $code; log: $WORKER_LOG)" >&2
      return 1
    fi
    sleep "${WORKER_POLL_SECONDS:-0.1}"
  done
}

worker_stop() {
  if [ -n "$WORKER_PID" ]; then
    kill "$WORKER_PID" 2>/dev/null || true
    wait "$WORKER_PID" 2>/dev/null || true
  fi
  WORKER_PID=""
  if [ -n "$RANGE_PID" ]; then
    kill "$RANGE_PID" 2>/dev/null || true
    wait "$RANGE_PID" 2>/dev/null || true
  fi
  RANGE_PID=""
}
