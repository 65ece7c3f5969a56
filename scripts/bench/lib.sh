# Shared by the jobs of `make bench` (sourced by scripts/bench.sh after scripts/lib/worker.sh, from
# the repository root): where things go, the run's accounts, facts, starting the worker under test,
# requests through the API and the wrk rows. Writes target/bench/facts.txt (fact), rows.tsv (row),
# worker-N.log (one per start_worker) and wrk.out (the last row's wrk output).

PORT=8795
BASE="http://127.0.0.1:$PORT"
SECONDS_PER_ROW="${BENCH_SECONDS:-5}"
STATE="$PWD/target/bench-state"
OUT="$PWD/target/bench"
CONFIG="$OUT/wrangler.toml" # the snapshot's config (worker_prepare "$OUT")
FACTS="$OUT/facts.txt"      # what the report needs besides the rows: KEY=value lines
ROWS="$OUT/rows.tsv"        # name, c, p50 ms, p99 ms, req/s, bad, workerd CPU ms
RUN=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n') # in every e-mail address this run seeds
PASSWORD="Quiet-Lantern-42-a-$RUN!"

step() { printf '==> %s\n' "$*" >&2; }
fact() { printf '%s=%s\n' "$1" "$2" >>"$FACTS"; }

# --- the worker under test -------------------------------------------------------------------------
WORKER_POLL_SECONDS=0.02 # launch → first answer is a measured figure (cold start)
WORKER_RUNS=0
# start_worker [CONFIG]: wrangler dev on $PORT until it answers anything; sets STARTUP_MS (launch to
# first answer) and FIRST_MS (that first request's time in wrangler's log). Stop: worker_stop.
start_worker() {
  WORKER_RUNS=$((WORKER_RUNS + 1))
  LOG="$OUT/worker-$WORKER_RUNS.log" # one log per start, kept for reading afterwards
  worker_start "${1:-$CONFIG}" "$PORT" "$STATE" "$LOG"
  worker_wait "$PORT" any 120
  STARTUP_MS=$WORKER_STARTUP_MS
  sleep 0.3
  FIRST_MS=$(grep -m1 -o 'GET /api/me [0-9]* [A-Za-z ]*([0-9]*ms)' "$LOG" | sed 's/.*(\([0-9]*\)ms)/\1/')
}
# start_entry MODULE NAME: the same snapshot behind a bench-only entry module (bench/MODULE.mjs).
start_entry() {
  cp "bench/$1.mjs" "$OUT/build/$1.mjs"
  sed "s|^main = .*|main = \"build/$1.mjs\"|" "$CONFIG" >"$OUT/wrangler-$2.toml"
  start_worker "$OUT/wrangler-$2.toml"
}

# --- requests through the API ----------------------------------------------------------------------
session_of() { tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: __Host-session=\([^;]*\);.*/\1/p' | tail -1; }
# Each seeding request comes from a client address of its own (CF-Connecting-IP), as the many
# clients of a real site reach the worker through Cloudflare's edge: the worker limits sign-ups
# per address (10 a minute, wrangler.toml), and the bench seeds hundreds.
client_address() { printf '10.%d.%d.%d' $((RANDOM % 256)) $((RANDOM % 256)) $((RANDOM % 254 + 1)); }
post() { # post PATH JSON [TOKEN] -> response headers on stdout
  local cookie=()
  [ -n "${3:-}" ] && cookie=(-H "Cookie: __Host-session=$3")
  curl -s -D - -o /dev/null -X POST -H 'Content-Type: application/json' -H "Origin: $BASE" \
    -H "CF-Connecting-IP: $(client_address)" "${cookie[@]}" -d "$2" "$BASE$1"
}
signup() { # signup EMAIL PASSWORD -> token
  post /api/auth/signup "{\"email\":\"$1\",\"password\":\"$2\",\"name\":\"Bench Person\"}" | session_of
}
login() { post /api/auth/login "{\"email\":\"$1\",\"password\":\"$2\"}" | session_of; }
has_route() { [ "$(curl -s -o /dev/null -w '%{http_code}' -X "$1" -H "Origin: $BASE" "$BASE$2")" != 404 ]; }

# --- wrk rows ----------------------------------------------------------------------------------
# CPU time (clock ticks) of the workerd process that runs the worker's code: the workerd
# descendants of the running `wrangler dev`, less wrangler's own proxy (the one on $PORT).
descendants() {
  local child
  for child in $(pgrep -P "$1"); do
    echo "$child"
    descendants "$child"
  done
}
worker_ticks() {
  local total=0 pid
  for pid in $(descendants "$WORKER_PID"); do
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = workerd ] || continue
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "entry=127.0.0.1:$PORT" && continue
    total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
CLK_TCK=$(getconf CLK_TCK)
# row NAME C [env assignments for bench/wrk/bench.lua...]: one line of rows.tsv. The path comes from
# BENCH_PATH_OF_ROW, the time from ROW_SECONDS (default BENCH_SECONDS).
row() {
  local name=$1 c=$2 before after
  shift 2
  before=$(worker_ticks)
  env "$@" BENCH_ORIGIN="$BASE" wrk -t "$c" -c "$c" -d "${ROW_SECONDS:-$SECONDS_PER_ROW}s" --timeout 10s \
    -s bench/wrk/bench.lua "$BASE${BENCH_PATH_OF_ROW}" >"$OUT/wrk.out"
  after=$(worker_ticks)
  BENCH_CPU_MS=$(((after - before) * 1000 / CLK_TCK)) node bench/report.mjs wrk-row "$name" "$c" <"$OUT/wrk.out" |
    tee -a "$ROWS" >&2
}
measure() { # measure NAME [env...]: both concurrencies
  local name=$1
  shift
  for c in 1 16; do row "$name" "$c" "$@"; done
}
not_yet() { for c in 1 16; do printf '%s\t%d\tnot yet\t\t\t\n' "$1" "$c" >>"$ROWS"; done; }
