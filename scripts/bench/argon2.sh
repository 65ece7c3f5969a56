# argon2id alone, in workerd and native, as facts of target/bench/facts.txt: argon2_workerd_ms (the
# median of 15 requests to a worker that only hashes, bench/argon2-wasm/worker; report.mjs subtracts
# the worker floor) and native_ms (`cargo run --release --example argon2_native`, the same
# `domain::password::hash`). Builds in target/bench/argon2-wasm, runs in target/bench/argon2-worker.

# The argon2 crate as bench/argon2-wasm builds it (opt-level 3, as the worker's argon2), in a worker
# that only hashes: 15 sequential requests after a warm-up.
argon2_in_workerd() {
  step "argon2id alone in workerd (bench/argon2-wasm/worker), 15 requests"
  (cd bench/argon2-wasm && CARGO_TARGET_DIR="$OUT/argon2-wasm" cargo build -q --release --target wasm32-unknown-unknown)
  mkdir -p "$OUT/argon2-worker"
  cp bench/argon2-wasm/worker/index.js bench/argon2-wasm/worker/wrangler.toml "$OUT/argon2-worker/"
  cp "$OUT/argon2-wasm/wasm32-unknown-unknown/release/argon2_wasm_bench.wasm" "$OUT/argon2-worker/argon2.wasm"
  rm -rf "$STATE"
  mkdir -p "$STATE"
  start_worker "$OUT/argon2-worker/wrangler.toml"
  curl -s -o /dev/null "$BASE/" # warm-up: V8 tiers the hash up
  fact argon2_workerd_ms "$(for _ in $(seq 1 15); do curl -s -o /dev/null -w '%{time_total}\n' "$BASE/"; done |
    sort -n | sed -n 8p | awk '{ printf "%.2f", $1 * 1000 }')"
  worker_stop
}

argon2_native() {
  step "native argon2id (cargo run --release --example argon2_native)"
  fact native_ms "$(cargo run -q --release --example argon2_native 2>/dev/null | sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p')"
}
