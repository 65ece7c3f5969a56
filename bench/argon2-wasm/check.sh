#!/usr/bin/env bash
# Builds bench/argon2-wasm for wasm32 with simd128 and runs check.mjs: argon2id.rs must agree
# with RFC 9106 and with the argon2 crate inside V8 too (its host tests: `cargo test` here).
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$HOME/.cargo/bin:$PATH"
out=../../target/argon2-wasm
mkdir -p "$out"
RUSTFLAGS="-C target-feature=+simd128" CARGO_TARGET_DIR="$out/simd128" \
  cargo build -q --release --target wasm32-unknown-unknown
node check.mjs "$out/simd128/wasm32-unknown-unknown/release/argon2_wasm_bench.wasm" "${ARGON2_CHECK_CASES:-200}"
