# sizes: the worker's wasm as it ships (the snapshot of build/ in target/bench/build), raw and
# gzip -9, as the facts wasm_raw and wasm_gz (bytes) of target/bench/facts.txt.

sizes() {
  fact wasm_raw "$(stat -c %s "$OUT/build/index_bg.wasm")"
  fact wasm_gz "$(gzip -9 -c "$OUT/build/index_bg.wasm" | wc -c)"
}
