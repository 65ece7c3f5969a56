#!/usr/bin/env bash
# Compares build options for argon2id in wasm (V8 in Node) against native; prints one line each,
# for the argon2 crate (what the worker runs) and for argon2id.rs (the simd128 experiment), after
# check.sh has held argon2id.rs to RFC 9106 and to the crate inside V8.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$HOME/.cargo/bin:$PATH"
WASM_OPT="${WASM_OPT_BIN:-../../node_modules/.bin/wasm-opt}"
out=../../target/argon2-wasm
mkdir -p "$out"
build() { # build NAME RUSTFLAGS [opt-level]
  local name=$1 flags=$2 level=${3:-3}
  RUSTFLAGS="$flags" CARGO_PROFILE_RELEASE_OPT_LEVEL="$level" CARGO_TARGET_DIR="$out/$name" \
    cargo build -q --release --target wasm32-unknown-unknown
  cp "$out/$name/wasm32-unknown-unknown/release/argon2_wasm_bench.wasm" "$out/$name.wasm"
}
build base ""
build simd128 "-C target-feature=+simd128"
build opt-s "" s
"$WASM_OPT" -O4 --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
  "$out/base.wasm" -o "$out/base-wasm-opt-O4.wasm"
"$WASM_OPT" -O4 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
  "$out/simd128.wasm" -o "$out/simd128-wasm-opt-O4.wasm"
./check.sh
printf '%-22s %s\n' "native (argon2 crate)" "$(cd ../.. && cargo run -q --release --example argon2_native | sed 's/.*median/median/')"
for v in base simd128 opt-s base-wasm-opt-O4 simd128-wasm-opt-O4; do
  printf '%-22s crate: %s | argon2id.rs: %s\n' "$v" "$(node time.mjs "$out/$v.wasm" hash_crate)" \
    "$(node time.mjs "$out/$v.wasm" hash_ours)"
done
