# cold_start: launch of `wrangler dev` to first answer, and that first request's time in wrangler's
# log (workerd loads the worker on it), 3 runs each on fresh state: the worker, then the static-only
# worker (bench/static-worker/, over the same snapshot of public/). Writes the facts cold_worker,
# first_worker, cold_static, first_static (medians, ms) and worker-N.log of each start.

cold_start() {
  step "cold start: launch of wrangler dev to first answer, 3 runs each"
  cold
  fact cold_worker "$COLD_MS"
  fact first_worker "$FIRST_MEDIAN"
  mkdir -p "$OUT/static-worker"
  cp bench/static-worker/index.js "$OUT/static-worker/"
  sed 's|^directory = .*|directory = "../public"|' bench/static-worker/wrangler.toml >"$OUT/static-worker/wrangler.toml"
  cold "$OUT/static-worker/wrangler.toml"
  fact cold_static "$COLD_MS"
  fact first_static "$FIRST_MEDIAN"
}

cold() { # cold [CONFIG]: median launch-to-first-answer ms (COLD_MS) and first request ms (FIRST_MEDIAN)
  local runs=() firsts=()
  for _ in 1 2 3; do
    rm -rf "$STATE"
    mkdir -p "$STATE"
    start_worker "$@"
    runs+=("$STARTUP_MS")
    firsts+=("${FIRST_MS:-0}")
    worker_stop
  done
  COLD_MS=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p)
  FIRST_MEDIAN=$(printf '%s\n' "${firsts[@]}" | sort -n | sed -n 2p)
}
