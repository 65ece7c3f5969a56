// Times one argon2id hash (m=19456 KiB, t=2, p=1, as the worker) of a wasm file from
// bench/argon2-wasm in V8: node time.mjs file.wasm [export]; export is hash_crate (the argon2
// crate) or hash_ours (the worker's domain::argon2id). Median and minimum of 11, ms.
import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), {});
const hash = instance.exports[process.argv[3] ?? "hash_crate"];
const times = [];
hash(19456, 2, 1);
for (let i = 0; i < 11; i++) {
  const t0 = performance.now();
  if (hash(19456, 2, 1) !== 0) throw new Error("hash failed");
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
console.log(`median_ms=${times[5].toFixed(1)} min_ms=${times[0].toFixed(1)}`);
