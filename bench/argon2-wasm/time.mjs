// Times `hash` of a wasm file from bench/argon2-wasm in V8: node time.mjs file.wasm
import { readFileSync } from "node:fs";
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), {});
const times = [];
instance.exports.hash(19456, 2, 1);
for (let i = 0; i < 11; i++) {
  const t0 = performance.now();
  if (instance.exports.hash(19456, 2, 1) !== 0) throw new Error("hash failed");
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
console.log(`median_ms=${times[5].toFixed(1)} min_ms=${times[0].toFixed(1)}`);
